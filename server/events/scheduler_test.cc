// The periodic job scheduler against a real MariaDB: several replicas run a
// job about once per period in total and never at the same time, a job
// longer than its period keeps its lease, and failing or throwing jobs run
// again next period without stopping the scheduler.
#include "server/events/scheduler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/database.h"
#include "server/storage/migrations.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::events {
namespace {

using ::rapport::testing::IsOkAndHolds;
using ::rapport::testing::TestDatabase;
using ::testing::HasSubstr;

bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Start and end of every run, from any replica.
class RunLog {
 public:
  struct Run {
    absl::Time start;
    absl::Time end;
  };
  void Add(absl::Time start, absl::Time end) {
    absl::MutexLock lock(&mu_);
    runs_.push_back({start, end});
  }
  std::vector<Run> Sorted() const {
    absl::MutexLock lock(&mu_);
    std::vector<Run> runs = runs_;
    std::sort(runs.begin(), runs.end(),
              [](const Run& a, const Run& b) { return a.start < b.start; });
    return runs;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return runs_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Run> runs_ ABSL_GUARDED_BY(mu_);
};

// A job that records its run and takes `work` to do it.
sdk::Job Recording(RunLog* log, absl::Duration work) {
  return [log, work] {
    const absl::Time start = absl::Now();
    absl::SleepFor(work);  // the job's own work, not synchronisation
    log->Add(start, absl::Now());
    return absl::OkStatus();
  };
}

// No run starts before the previous one ended.
void ExpectNoOverlap(const std::vector<RunLog::Run>& runs) {
  for (size_t i = 1; i < runs.size(); ++i) {
    EXPECT_GE(runs[i].start, runs[i - 1].end)
        << "run " << i << " overlapped the previous one";
  }
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto test_db = TestDatabase::Create();
    ASSERT_OK(test_db);
    test_db_ = *std::move(test_db);
    auto db = NewDatabase();
    ASSERT_OK(storage::ApplyMigrations(*db, "core", storage::CoreMigrations()));
  }

  std::unique_ptr<storage::Database> NewDatabase() {
    auto db = std::make_unique<storage::Database>(test_db_->options(), 2);
    db->SetReady(true);
    return db;
  }

  // `n` replicas, each with its own pool and owner name.
  void MakeReplicas(int n, absl::Duration tick,
                    absl::Duration lease = absl::Seconds(30)) {
    for (int i = 0; i < n; ++i) {
      dbs_.push_back(NewDatabase());
      SchedulerOptions options;
      options.owner = absl::StrCat("replica-", i);
      options.tick = tick;
      options.lease = lease;
      schedulers_.push_back(
          std::make_unique<Scheduler>(dbs_.back().get(), options));
    }
  }
  void StartAll() {
    for (auto& s : schedulers_) s->Start();
  }
  void StopAll() {
    for (auto& s : schedulers_) s->Stop();
  }
  int64_t TotalRunCount(const std::string& name) {
    int64_t total = 0;
    for (auto& s : schedulers_) total += s->RunCount(name);
    return total;
  }

  void TearDown() override {
    StopAll();
    schedulers_.clear();
    dbs_.clear();
  }

  std::unique_ptr<TestDatabase> test_db_;
  std::vector<std::unique_ptr<storage::Database>> dbs_;
  std::vector<std::unique_ptr<Scheduler>> schedulers_;
};

TEST_F(SchedulerTest, ThreeReplicasRunAJobOncePerPeriodInTotal) {
  constexpr absl::Duration kPeriod = absl::Milliseconds(200);
  constexpr int kPeriods = 10;
  RunLog log;
  MakeReplicas(3, absl::Milliseconds(10));
  for (auto& s : schedulers_) {
    s->Add({"test/tick", kPeriod, Recording(&log, absl::Milliseconds(20))});
  }
  StartAll();

  ASSERT_TRUE(Eventually([&] { return log.size() >= 1; }));
  const absl::Time window_start = log.Sorted()[0].start;
  const absl::Time window_end = window_start + kPeriods * kPeriod;
  // Wait out the window, and let a run that started in it finish.
  ASSERT_TRUE(Eventually(
      [&] { return absl::Now() > window_end + absl::Milliseconds(50); }));
  StopAll();

  const std::vector<RunLog::Run> runs = log.Sorted();
  int in_window = 0;
  for (const RunLog::Run& run : runs) {
    if (run.start >= window_start && run.start < window_end) ++in_window;
  }
  EXPECT_GE(in_window, kPeriods - 1);
  EXPECT_LE(in_window, kPeriods + 1);
  ExpectNoOverlap(runs);
  // Never twice in one period (slots are a period apart; a run starts
  // within a tick or so of its slot).
  for (size_t i = 1; i < runs.size(); ++i) {
    EXPECT_GE(runs[i].start - runs[i - 1].start, kPeriod / 2);
  }
  EXPECT_EQ(TotalRunCount("test/tick"), static_cast<int64_t>(runs.size()));
  EXPECT_THAT(
      test_db_->QueryInt(
          "SELECT run_count FROM scheduled_jobs WHERE job = 'test/tick'"),
      IsOkAndHolds(static_cast<int64_t>(runs.size())));
  // Stop released every lease.
  EXPECT_THAT(test_db_->QueryInt("SELECT COUNT(*) FROM scheduled_jobs "
                                 "WHERE lease_owner IS NOT NULL"),
              IsOkAndHolds(0));
}

TEST_F(SchedulerTest, JobLongerThanItsPeriodNeverOverlapsItself) {
  RunLog log;
  // lease 1 s, renewed every 333 ms while the 500 ms job runs.
  MakeReplicas(2, absl::Milliseconds(10), absl::Seconds(1));
  for (auto& s : schedulers_) {
    s->Add({"test/slow", absl::Milliseconds(50),
            Recording(&log, absl::Milliseconds(500))});
  }
  StartAll();
  ASSERT_TRUE(Eventually([&] { return log.size() >= 3; }));
  StopAll();
  ExpectNoOverlap(log.Sorted());
}

TEST_F(SchedulerTest, FailingJobsRunAgainNextPeriod) {
  std::atomic<int> flaky_calls{0};
  std::atomic<int> healthy_calls{0};
  MakeReplicas(1, absl::Milliseconds(10));
  // Also: the scheduler starts before the server marks the pool ready.
  dbs_[0]->SetReady(false);
  Scheduler& scheduler = *schedulers_[0];
  scheduler.Add({"test/flaky", absl::Milliseconds(50), [&]() -> absl::Status {
                   const int n = ++flaky_calls;
                   if (n == 1) throw std::runtime_error("kaboom");
                   if (n == 2) throw 42;
                   if (n == 3) return absl::InternalError("always broken");
                   return absl::OkStatus();
                 }});
  scheduler.Add({"test/broken", absl::Milliseconds(50),
                 [] { return absl::UnavailableError("backend is down"); }});
  scheduler.Add({"test/healthy", absl::Milliseconds(50), [&] {
                   ++healthy_calls;
                   return absl::OkStatus();
                 }});
  // Ignored: bad name, bad period, duplicate name.
  scheduler.Add({"", absl::Milliseconds(50), [] { return absl::OkStatus(); }});
  scheduler.Add(
      {"test/zero", absl::ZeroDuration(), [] { return absl::OkStatus(); }});
  scheduler.Add(
      {"test/healthy", absl::Seconds(1), [] { return absl::OkStatus(); }});
  scheduler.Start();

  ASSERT_TRUE(Eventually([&] {
    return flaky_calls.load() >= 5 && healthy_calls.load() >= 5 &&
           scheduler.RunCount("test/broken") >= 3;
  }));
  scheduler.Stop();
  EXPECT_EQ(scheduler.RunCount("test/flaky"), flaky_calls.load());
  EXPECT_EQ(scheduler.RunCount("test/zero"), 0);
  EXPECT_THAT(test_db_->QueryInt("SELECT COUNT(*) FROM scheduled_jobs"),
              IsOkAndHolds(3));
  // The last run of each job is recorded with its error, or none.
  EXPECT_THAT(test_db_->QueryInt("SELECT last_error IS NULL FROM "
                                 "scheduled_jobs WHERE job = 'test/flaky'"),
              IsOkAndHolds(1));
  EXPECT_THAT(
      test_db_->QueryInt("SELECT last_error = 'UNAVAILABLE: backend is down' "
                         "FROM scheduled_jobs WHERE job = 'test/broken'"),
      IsOkAndHolds(1));
  EXPECT_THAT(test_db_->QueryInt("SELECT COUNT(*) FROM scheduled_jobs WHERE "
                                 "last_end_time >= last_start_time"),
              IsOkAndHolds(3));
}

TEST(ReplicaNameTest, HostPidRandom) {
  const std::string a = ReplicaName();
  const std::string b = ReplicaName();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, HasSubstr(absl::StrCat("/", getpid(), "/")));
  EXPECT_LE(a.size(), 190u);
}

}  // namespace
}  // namespace rapport::events
