// Delivers events from the transactional outbox to plugin subscriptions.
//
// Model: when a core change commits an event (storage/outbox.h), the same
// transaction inserts one delivery row per registered subscription that
// wants that event type. A dispatcher thread per local subscription claims
// the subscription with a database lease (one replica at a time), reads its
// pending deliveries in event order, skipping any whose contact still has an
// earlier pending one (so each contact's events arrive in order), calls the
// handler, and deletes the delivery on success. A failure is retried with
// exponential back-off; after `max_attempts` the delivery is parked (state
// PARKED, visible to admins, retryable) and the contact's later events flow
// again. Delivery is at least once: a crash between the handler and the
// delete delivers again, and handlers use Event.id to be idempotent.
//
// Times (lease expiry, back-off, park time) are computed with the database's
// clock (NOW(6)) inside the statements, so clock skew between replicas does
// not matter; the local clock only decides when to renew a lease early.
// Handlers run without a database connection held, so they may use the pool.
// A database outage pauses delivery (logged once per outage) and nothing is
// lost: an unacknowledged delivery stays pending.
//
// Thread-safety: Add before Start; everything else from any thread.
#ifndef RAPPORT_SERVER_EVENTS_DISPATCHER_H_
#define RAPPORT_SERVER_EVENTS_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rapport/sdk/host.h"
#include "rapport/v1/event.pb.h"

namespace rapport::storage {
class Database;
}

namespace rapport::events {

struct Subscription {
  // "<plugin>/<name>", unique; printable ASCII, at most 190 bytes.
  std::string subscriber;
  std::string plugin;  // for logs and metrics
  // At least one; EventType numbers 1..62.
  std::vector<rapport::v1::EventType> types;
  sdk::EventHandler handler;
};

struct DispatcherOptions {
  // This replica's name in leases; empty means ReplicaName() (host name +
  // pid + random, see scheduler.h). Must differ between replicas.
  std::string owner;
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration lease = absl::Seconds(30);
  int batch_size = 100;
  // Attempts before a delivery is parked (at least 1). After the n-th failed
  // attempt the next one waits min(initial_backoff * 2^(n-1), max_backoff),
  // jittered by +-20% (never above max_backoff).
  int max_attempts = 8;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Minutes(5);
};

// A delivery that failed max_attempts times.
struct ParkedDelivery {
  std::string subscriber;
  int64_t event_id = 0;
  rapport::v1::EventType type = rapport::v1::EVENT_TYPE_UNSPECIFIED;
  int64_t contact_id = 0;
  int attempts = 0;
  std::string last_error;
  absl::Time park_time;
};

class Dispatcher {
 public:
  // `db` is not owned and must outlive the dispatcher.
  Dispatcher(storage::Database* db, DispatcherOptions options);
  ~Dispatcher();  // Stop()

  // REQUIRES: before Start.
  void Add(Subscription subscription);

  // Records every subscription in the database so that events committed from
  // now on (by any replica) are delivered to it. Call after migrations (and
  // Database::SetReady). INVALID_ARGUMENT for a bad or duplicate subscriber
  // name or type list; the database error otherwise (retry).
  absl::Status Register();

  // Starts one delivery thread per subscription. REQUIRES: Register() OK.
  // A dispatcher starts at most once: Start after Stop does nothing.
  void Start();
  // Stops the threads after their current delivery and releases this
  // replica's leases, so another replica takes over at once. Idempotent.
  void Stop();

  // Parked deliveries, oldest event first (all subscribers when `subscriber`
  // is empty); at most `limit` (1..1000, default 100 when <= 0).
  absl::StatusOr<std::vector<ParkedDelivery>> ListParked(
      const std::string& subscriber, int limit);
  // Makes a parked delivery pending again, due now, with a fresh budget of
  // max_attempts. NOT_FOUND if there is none.
  absl::Status RetryParked(const std::string& subscriber, int64_t event_id);

  // Counters since start, for metrics and tests.
  struct Stats {
    int64_t delivered = 0;
    int64_t failed = 0;
    int64_t parked = 0;
  };
  Stats GetStats() const;

 private:
  struct Worker;
  struct Pending;
  void Run(Worker* worker);
  // One poll: claim the lease, deliver a batch. True when it made progress
  // (poll again at once).
  absl::StatusOr<bool> Poll(Worker& worker);
  absl::StatusOr<bool> ClaimLease(Worker& worker);
  void Deliver(Worker& worker, const Pending& pending, absl::Status* result);
  absl::Status RecordFailure(Worker& worker, const Pending& pending,
                             const absl::Status& error);

  storage::Database* const db_;  // not owned
  const DispatcherOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  absl::Notification stop_;
  absl::Mutex mu_;  // serialises Start and Stop
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> parked_{0};
};

}  // namespace rapport::events

#endif  // RAPPORT_SERVER_EVENTS_DISPATCHER_H_
