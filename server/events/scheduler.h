// Periodic jobs that run once per period across all replicas. Each replica
// ticks; before running a job it claims the job's row in `scheduled_jobs`
// with a conditional UPDATE (the period has elapsed since the last start
// and no live lease is held), so exactly one replica wins each period.
// A job that throws or fails is logged and counted and runs next period.
//
// Periods and leases are measured with the database's clock (NOW(6) inside
// the statements), so clock skew between replicas does not matter. The
// winner holds the job's lease while it runs and renews it every lease/3,
// so a job longer than its period never overlaps itself; if the replica
// dies mid-run, another takes over once the lease expires. Runs do not drift:
// each claim advances last_start_time by exactly one period, so a run starts
// within about `tick` of its slot; periods missed (an outage, a job longer
// than its period) are skipped, not made up in a burst.
//
// Thread-safety: Add before Start; Stop and RunCount from any thread.
#ifndef RAPPORT_SERVER_EVENTS_SCHEDULER_H_
#define RAPPORT_SERVER_EVENTS_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rapport/sdk/host.h"

namespace rapport::storage {
class Database;
}

namespace rapport::events {

struct ScheduledJob {
  // "<plugin>/<job>", unique; printable ASCII, at most 190 bytes.
  std::string name;
  absl::Duration period;  // > 0
  sdk::Job job;
};

struct SchedulerOptions {
  // This replica's name in leases; empty means ReplicaName().
  std::string owner;
  // How often due jobs are looked for (one UPDATE per job per tick).
  absl::Duration tick = absl::Seconds(1);
  // How long a crashed runner blocks the job; renewed while a job runs.
  absl::Duration lease = absl::Seconds(30);
};

class Scheduler {
 public:
  // `db` is not owned and must outlive the scheduler.
  Scheduler(storage::Database* db, SchedulerOptions options);
  ~Scheduler();  // Stop()

  // REQUIRES: before Start. A job with a bad name, a duplicate name or a
  // period <= 0 is logged and ignored.
  void Add(ScheduledJob job);
  // Starts one thread that runs due jobs. At most once.
  void Start();
  // Waits for a running job to finish, then stops. Idempotent.
  void Stop();

  // How many times this replica ran `name` (tests, metrics).
  int64_t RunCount(const std::string& name) const;

 private:
  struct Entry;
  void Run();
  // Claims `entry` if due and runs it.
  absl::Status RunIfDue(Entry& entry);

  storage::Database* const db_;  // not owned
  const SchedulerOptions options_;
  std::vector<std::unique_ptr<Entry>> jobs_;
  absl::Notification stop_;
  absl::Mutex mu_;  // serialises Start and Stop
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A name for this replica in leases: "<hostname>/<pid>/<random>".
std::string ReplicaName();

}  // namespace rapport::events

#endif  // RAPPORT_SERVER_EVENTS_SCHEDULER_H_
