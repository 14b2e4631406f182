#include "server/events/scheduler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <exception>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/events/internal.h"
#include "server/storage/database.h"

namespace rapport::events {
namespace {

using internal::ErrorText;
using internal::Micros;

// Back-off after database errors: from `tick`, doubling, up to this.
constexpr absl::Duration kMaxOutageBackoff = absl::Seconds(10);

constexpr char kEnsureRow[] =
    "INSERT IGNORE INTO scheduled_jobs (job) VALUES (?)";

// Due when the period has passed since the last start (by the database's
// clock) and no other replica holds a live lease. One affected row: ours.
// last_start_time advances by exactly one period (the start of the period
// this run belongs to), so runs do not drift later by the tick and statement
// latency each time; after an outage of more than a period, it restarts from
// now and the missed periods are skipped (one run, not a burst).
// Parameters: owner, lease, 2 * period, period, job, period, owner.
constexpr char kClaim[] =
    "UPDATE scheduled_jobs SET lease_owner = ?, "
    "lease_until = NOW(6) + INTERVAL ? MICROSECOND, "
    "last_start_time = IF(last_start_time IS NULL OR "
    "last_start_time < NOW(6) - INTERVAL ? MICROSECOND, NOW(6), "
    "last_start_time + INTERVAL ? MICROSECOND), "
    "run_count = run_count + 1 "
    "WHERE job = ? "
    "AND (last_start_time IS NULL OR "
    "last_start_time <= NOW(6) - INTERVAL ? MICROSECOND) "
    "AND (lease_until IS NULL OR lease_until < NOW(6) OR lease_owner = ?)";

constexpr char kRenew[] =
    "UPDATE scheduled_jobs SET lease_until = NOW(6) + INTERVAL ? MICROSECOND "
    "WHERE job = ? AND lease_owner = ?";

constexpr char kFinish[] =
    "UPDATE scheduled_jobs SET lease_owner = NULL, lease_until = NULL, "
    "last_end_time = NOW(6), last_error = ? "
    "WHERE job = ? AND lease_owner = ?";

absl::Status CallJob(const sdk::Job& job) {
  try {
    return job();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the job threw: ", e.what()));
  } catch (...) {
    return absl::InternalError("the job threw: unknown exception");
  }
}

}  // namespace

struct Scheduler::Entry {
  ScheduledJob job;
  std::atomic<int64_t> runs{0};
  bool row_exists = false;  // scheduler thread only
};

std::string ReplicaName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    absl::SNPrintF(host, sizeof(host), "unknown-host");
  }
  std::string name(host);
  if (name.size() > 120) name.resize(120);
  absl::BitGen rng;
  return absl::StrFormat("%s/%d/%08x", name, static_cast<int>(getpid()),
                         absl::Uniform<uint32_t>(rng));
}

Scheduler::Scheduler(storage::Database* db, SchedulerOptions options)
    : db_(db), options_([&] {
        if (options.owner.empty()) options.owner = ReplicaName();
        if (options.tick <= absl::ZeroDuration()) {
          options.tick = absl::Seconds(1);
        }
        if (options.lease < absl::Seconds(1)) options.lease = absl::Seconds(1);
        return std::move(options);
      }()) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Add(ScheduledJob job) {
  if (!internal::IsValidKeyName(job.name)) {
    log::Error(
        "scheduled job ignored: its name needs 1 to 190 printable "
        "ASCII characters",
        {{"job", job.name}});
    return;
  }
  if (job.period <= absl::ZeroDuration() || !job.job) {
    log::Error(
        "scheduled job ignored: it needs a positive period and a "
        "function",
        {{"job", job.name}});
    return;
  }
  for (const auto& entry : jobs_) {
    if (entry->job.name == job.name) {
      log::Error("scheduled job ignored: the name is taken",
                 {{"job", job.name}});
      return;
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->job = std::move(job);
  jobs_.push_back(std::move(entry));
}

void Scheduler::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stop_.HasBeenNotified()) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::Stop() {
  absl::MutexLock lock(&mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

int64_t Scheduler::RunCount(const std::string& name) const {
  for (const auto& entry : jobs_) {
    if (entry->job.name == name) {
      return entry->runs.load(std::memory_order_relaxed);
    }
  }
  return 0;
}

void Scheduler::Run() {
  absl::Duration backoff = absl::ZeroDuration();
  while (!stop_.HasBeenNotified()) {
    absl::Status status;
    for (auto& entry : jobs_) {
      if (stop_.HasBeenNotified()) break;
      status = RunIfDue(*entry);
      if (!status.ok()) break;
    }
    if (!status.ok()) {
      if (backoff == absl::ZeroDuration()) {
        log::Warning("scheduled jobs paused: database error; retrying",
                     {{"error", status.ToString()}});
        backoff = options_.tick;
      } else {
        backoff = std::min(backoff * 2, kMaxOutageBackoff);
      }
      stop_.WaitForNotificationWithTimeout(backoff);
      continue;
    }
    if (backoff != absl::ZeroDuration()) {
      log::Info("scheduled jobs resumed");
      backoff = absl::ZeroDuration();
    }
    stop_.WaitForNotificationWithTimeout(options_.tick);
  }
}

absl::Status Scheduler::RunIfDue(Entry& entry) {
  const std::string& name = entry.job.name;
  int64_t claimed = 0;
  absl::Status status = internal::Run(
      *db_, "claiming a scheduled job", [&](storage::Connection& conn) {
        if (!entry.row_exists) {
          conn.Update(kEnsureRow, {name});
          entry.row_exists = true;
        }
        const int64_t period = Micros(entry.job.period);
        claimed = conn.Update(
            kClaim, {options_.owner, Micros(options_.lease), 2 * period, period,
                     name, period, options_.owner});
        return absl::OkStatus();
      });
  if (!status.ok() || claimed == 0) return status;

  entry.runs.fetch_add(1, std::memory_order_relaxed);
  const absl::Time start = absl::Now();
  // The job runs on its own thread while this one keeps the lease alive.
  absl::Status result;
  absl::Notification done;
  std::thread runner([&] {
    result = CallJob(entry.job.job);
    done.Notify();
  });
  while (!done.WaitForNotificationWithTimeout(options_.lease / 3)) {
    absl::Status renewed = internal::Run(
        *db_, "renewing a scheduled job lease", [&](storage::Connection& conn) {
          conn.Update(kRenew, {Micros(options_.lease), name, options_.owner});
          return absl::OkStatus();
        });
    if (!renewed.ok()) {
      log::Warning("could not renew a running job's lease",
                   {{"job", name}, {"error", renewed.ToString()}});
    }
  }
  runner.join();
  const absl::Duration took = absl::Now() - start;

  SqlParam error_param;  // NULL when the run succeeded
  if (result.ok()) {
    log::Debug(
        "scheduled job ran",
        {{"job", name}, {"duration_ms", absl::ToDoubleMilliseconds(took)}});
  } else {
    const std::string text = ErrorText(result);
    log::Warning("scheduled job failed; it runs again next period",
                 {{"job", name},
                  {"duration_ms", absl::ToDoubleMilliseconds(took)},
                  {"error", text}});
    error_param = text;
  }
  absl::Status finished = internal::Run(
      *db_, "finishing a scheduled job", [&](storage::Connection& conn) {
        conn.Update(kFinish, {error_param, name, options_.owner});
        return absl::OkStatus();
      });
  if (!finished.ok()) {
    // The lease expires by itself; the next period is counted from the start.
    log::Warning("could not record a scheduled job's end",
                 {{"job", name}, {"error", finished.ToString()}});
  }
  return absl::OkStatus();
}

}  // namespace rapport::events
