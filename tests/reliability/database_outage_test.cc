// Database outage: rapportd under a steady write load loses its MariaDB
// (SIGKILL of mariadbd) and gets it back on the same data directory and
// port. During the outage calls fail fast (UNAVAILABLE, or DEADLINE_EXCEEDED
// within the client's deadline; never INTERNAL, never a hang) and health is
// NOT_SERVING; afterwards the same rapportd process recovers on its own, and
// every write it acknowledged is in the database.
//
// The test runs its OWN MariaDB (tests/support/mariadb_fixture.sh in a
// private directory), never the shared fixture's server.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "tests/reliability/reliability_util.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using grpc::health::v1::HealthCheckResponse;

const absl::Duration kCallDeadline = absl::Seconds(2);
// Slack on top of the call deadline before a call counts as a hang (the
// machine running the tests may be heavily loaded).
const absl::Duration kHangSlack = absl::Seconds(3);
const absl::Duration kStateDeadline = absl::Seconds(60);

std::string Trimmed(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

class DatabaseOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat("/tmp/rapport_outage_", getpid());
    std::optional<std::string> out =
        RunCommand(absl::StrCat("'", kFixture, "' start '", dir_, "' 2>&1"));
    ASSERT_TRUE(out.has_value()) << "private MariaDB did not start in " << dir_;
    started_ = true;
    socket_ = Trimmed(ReadWholeFile(dir_ + "/socket"));
    port_ = Trimmed(ReadWholeFile(dir_ + "/port"));
    ASSERT_FALSE(socket_.empty());
    ASSERT_FALSE(port_.empty());
    // TestDatabase finds its server through RAPPORT_TEST_DB_DIR: point it
    // at the private one (this process runs only this test).
    ASSERT_EQ(setenv("RAPPORT_TEST_DB_DIR", dir_.c_str(), 1), 0);
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
  }

  void TearDown() override {
    server_.reset();
    db_.reset();  // may report a lost connection on stderr; harmless
    if (started_) {
      (void)RunCommand(
          absl::StrCat("'", kFixture, "' stop '", dir_, "' >/dev/null 2>&1"));
      (void)RunCommand(absl::StrCat("rm -rf '", dir_, "'"));
    }
  }

  pid_t MariadbPid() {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(Trimmed(ReadWholeFile(dir_ + "/mysqld.pid")), &pid)) {
      return -1;
    }
    return static_cast<pid_t>(pid);
  }

  bool MariadbAnswers() {
    return RunCommand(absl::StrCat(
                          "mariadb-admin --no-defaults --user=root --socket='",
                          socket_,
                          "' --connect-timeout=2 ping >/dev/null 2>&1"))
        .has_value();
  }

  // Starts mariadbd again on the same data directory, socket and port, with
  // the fixture's flags (mariadb_fixture.sh launch_server), and waits until
  // it answers.
  void RestartMariadb() {
    const std::string data = dir_ + "/data";
    const std::string command = absl::StrCat(
        "PATH=\"$PATH:/usr/sbin:/sbin\" setsid nohup mariadbd --no-defaults "
        "--user=root --datadir='",
        data, "' --socket='", socket_, "' --pid-file='", dir_,
        "/mysqld.pid' --port=", port_,
        " --bind-address=127.0.0.1 --skip-name-resolve "
        "--innodb-flush-log-at-trx-commit=1 --max-connections=500 "
        "--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "
        "</dev/null >>'",
        dir_, "/mariadb.log' 2>&1 &");
    ASSERT_EQ(system(command.c_str()), 0);
    const absl::Time deadline = absl::Now() + kStateDeadline;
    while (!MariadbAnswers() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));  // polling the server
    }
    ASSERT_TRUE(MariadbAnswers()) << "mariadbd did not come back:\n"
                                  << ReadWholeFile(dir_ + "/mariadb.log");
  }

  // Polls rapportd's health until it is `want`; returns when it got there.
  bool WaitForHealth(HealthCheckResponse::ServingStatus want) {
    const absl::Time deadline = absl::Now() + kStateDeadline;
    while (absl::Now() < deadline) {
      if (server_->Health() == want) return true;
      absl::SleepFor(absl::Milliseconds(200));  // polling health
    }
    return false;
  }

  static constexpr char kFixture[] = RAPPORT_MARIADB_FIXTURE;
  std::string dir_;
  bool started_ = false;
  std::string socket_;
  std::string port_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<RapportdProcess> server_;
};

// What the writer saw.
struct WriterLog {
  std::mutex mu;
  std::vector<int64_t> acknowledged;  // contact ids
  std::map<grpc::StatusCode, int> failures;
  absl::Duration slowest_failure;
  int64_t calls = 0;
};

TEST_F(DatabaseOutageTest, WritesFailFastAndNothingAcknowledgedIsLost) {
  server_ = RapportdProcess::Start(RAPPORTD_PATH, *db_,
                                   {{"RAPPORT_DB_POOL_SIZE", "4"}});
  ASSERT_NE(server_, nullptr);
  std::shared_ptr<grpc::Channel> channel = server_->channel();

  WriterLog log;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked_count{0};
  std::thread writer([&] {
    auto contacts = v1::ContactService::NewStub(channel);
    for (int64_t i = 0; !stop.load() && i < 1000000; ++i) {
      grpc::ClientContext context;
      SetDeadline(context, kCallDeadline);
      v1::CreateContactRequest request;
      request.mutable_contact()->set_given_name(absl::StrCat("Outage", i));
      request.mutable_contact()->set_family_name("Writer");
      request.set_request_id(absl::StrCat("outage-", getpid(), "-", i));
      v1::Contact created;
      const absl::Time start = absl::Now();
      grpc::Status status =
          contacts->CreateContact(&context, request, &created);
      const absl::Duration took = absl::Now() - start;
      {
        std::lock_guard<std::mutex> lock(log.mu);
        ++log.calls;
        if (status.ok()) {
          int64_t id = 0;
          if (absl::SimpleAtoi(created.id(), &id)) {
            log.acknowledged.push_back(id);
          }
        } else {
          ++log.failures[status.error_code()];
          if (took > log.slowest_failure) log.slowest_failure = took;
        }
      }
      if (status.ok()) {
        acked_count.fetch_add(1);
      } else {
        // A short pause after a failure keeps the loop from spinning while
        // the database is down (pacing, not synchronisation).
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
  });

  // Steady load first: wait for some acknowledged writes.
  const absl::Time warm = absl::Now() + kStateDeadline;
  while (acked_count.load() < 20 && absl::Now() < warm) {
    absl::SleepFor(absl::Milliseconds(50));  // polling progress
  }
  ASSERT_GE(acked_count.load(), 20);

  // The outage.
  const pid_t mariadbd = MariadbPid();
  ASSERT_GT(mariadbd, 0);
  ASSERT_EQ(kill(mariadbd, SIGKILL), 0);
  const absl::Time outage_start = absl::Now();
  const absl::Time gone = absl::Now() + absl::Seconds(30);
  while (kill(mariadbd, 0) == 0 && absl::Now() < gone) {
    absl::SleepFor(absl::Milliseconds(50));  // polling the dead process
  }
  int64_t failures_before = 0;
  {
    std::lock_guard<std::mutex> lock(log.mu);
    for (const auto& [code, n] : log.failures) failures_before += n;
  }
  const bool went_not_serving = WaitForHealth(HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(went_not_serving) << server_->Stderr();
  // Let the writer see the outage for a while: a few failed calls.
  const absl::Time seen = absl::Now() + kStateDeadline;
  for (;;) {
    int64_t failures = 0;
    {
      std::lock_guard<std::mutex> lock(log.mu);
      for (const auto& [code, n] : log.failures) failures += n;
    }
    if (failures >= failures_before + 5 || absl::Now() > seen) break;
    absl::SleepFor(absl::Milliseconds(50));  // polling progress
  }
  const int64_t acked_during_outage_start = acked_count.load();

  // MariaDB comes back; the same rapportd must recover on its own.
  RestartMariadb();
  const absl::Time restarted = absl::Now();
  const bool serving_again = WaitForHealth(HealthCheckResponse::SERVING);
  EXPECT_TRUE(serving_again) << server_->Stderr();
  const absl::Time write_deadline = absl::Now() + kStateDeadline;
  while (acked_count.load() < acked_during_outage_start + 20 &&
         absl::Now() < write_deadline) {
    absl::SleepFor(absl::Milliseconds(50));  // polling progress
  }
  const double recovery_seconds =
      absl::ToDoubleSeconds(absl::Now() - restarted);
  EXPECT_GE(acked_count.load(), acked_during_outage_start + 20)
      << "writes did not succeed again after MariaDB came back\n"
      << server_->Stderr();
  stop.store(true);
  writer.join();
  const double outage_seconds = absl::ToDoubleSeconds(restarted - outage_start);

  // The process was never restarted.
  EXPECT_EQ(server_->process().Wait(absl::ZeroDuration()), std::nullopt);

  // Fail fast, never INTERNAL/UNKNOWN, no hang past the deadline.
  std::vector<std::string> codes;
  for (const auto& [code, n] : log.failures) {
    codes.push_back(absl::StrCat(static_cast<int>(code), "x", n));
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << "unexpected code " << code << " (" << n << " calls)";
  }
  EXPECT_GT(log.failures[grpc::StatusCode::UNAVAILABLE], 0)
      << "no call failed with UNAVAILABLE during the outage";
  EXPECT_LE(log.slowest_failure, kCallDeadline + kHangSlack);

  // Every acknowledged write is present.
  std::set<int64_t> ids(log.acknowledged.begin(), log.acknowledged.end());
  std::vector<std::string> id_list;
  for (int64_t id : ids) id_list.push_back(absl::StrCat(id));
  int64_t found = -1;
  {
    // Chunks keep the command line short.
    found = 0;
    for (size_t i = 0; i < id_list.size(); i += 500) {
      std::vector<std::string> chunk(
          id_list.begin() + i,
          id_list.begin() + std::min(id_list.size(), i + 500));
      std::optional<int64_t> n = CliQueryInt(
          socket_, db_->name(),
          absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id IN (",
                       absl::StrJoin(chunk, ","), ")"));
      ASSERT_TRUE(n.has_value());
      found += *n;
    }
  }
  EXPECT_EQ(found, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(ids.size(), log.acknowledged.size()) << "an id acknowledged twice";

  RecordProperty("calls", static_cast<int>(log.calls));
  RecordProperty("writes_acknowledged", static_cast<int>(ids.size()));
  RecordProperty("writes_found", static_cast<int>(found));
  RecordProperty("failure_codes", absl::StrJoin(codes, ","));
  RecordProperty(
      "slowest_failure_ms",
      static_cast<int>(absl::ToInt64Milliseconds(log.slowest_failure)));
  RecordProperty("outage_seconds", absl::StrCat(outage_seconds));
  RecordProperty("recovery_seconds", absl::StrCat(recovery_seconds));
  std::cout << "database outage: calls=" << log.calls
            << " acknowledged=" << ids.size() << " found=" << found
            << " failures=" << absl::StrJoin(codes, ",")
            << " slowest_failure=" << log.slowest_failure
            << " outage_s=" << outage_seconds
            << " recovery_s=" << recovery_seconds << "\n";
}

}  // namespace
}  // namespace rapport::testing
