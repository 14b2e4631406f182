#include "server/events/dispatcher.h"

#include <cppconn/resultset.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/time_util.h"
#include "server/events/internal.h"
#include "server/events/scheduler.h"
#include "server/storage/database.h"

namespace rapport::events {
namespace {

using internal::ErrorText;
using internal::Micros;

// outbox_deliveries.state: 0 pending, 2 parked (see the migration).

// Back-off after database errors: from poll_interval, doubling, up to this.
constexpr absl::Duration kMaxOutageBackoff = absl::Seconds(10);

// The lease is ours when the row is free, already ours, or expired; the
// holder's claims keep last_seen_time current (a subscription no replica
// serves any more stops being seen). NOW(6)
// changes with every statement, so a successful claim always changes
// lease_until and reports one affected row.
constexpr char kClaimLease[] =
    "UPDATE outbox_subscriptions SET lease_owner = ?, "
    "lease_until = NOW(6) + INTERVAL ? MICROSECOND, last_seen_time = NOW(6) "
    "WHERE subscriber = ? AND (lease_owner IS NULL OR lease_owner = ? OR "
    "lease_until < NOW(6))";

constexpr char kReleaseLease[] =
    "UPDATE outbox_subscriptions SET lease_owner = NULL, lease_until = NULL "
    "WHERE subscriber = ? AND lease_owner = ?";

// Due pending deliveries in event order. A delivery is held back while an
// earlier pending delivery of the same contact waits for its back-off; every
// earlier pending one that is due is in the same result, before it (the
// batch is ordered by event id and cut only at its end), and Poll() skips a
// contact's later deliveries once one of its deliveries fails. So each
// contact's events reach the handler in order, several per batch.
// Indexes: outbox_deliveries_by_state for the scan in event order,
// outbox_deliveries_by_contact (covering) for NOT EXISTS.
constexpr char kSelectPending[] =
    "SELECT d.event_id, d.contact_id, d.attempts, e.payload "
    "FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id "
    "WHERE d.subscriber = ? AND d.state = 0 AND d.next_attempt_time <= NOW(6) "
    "AND NOT EXISTS (SELECT 1 FROM outbox_deliveries p "
    "WHERE p.subscriber = d.subscriber AND p.contact_id = d.contact_id "
    "AND p.state = 0 AND p.event_id < d.event_id "
    "AND p.next_attempt_time > NOW(6)) "
    "ORDER BY d.event_id LIMIT ?";

constexpr char kDeleteDelivery[] =
    "DELETE FROM outbox_deliveries WHERE subscriber = ? AND event_id = ?";

// Both conditional on the attempt count we read: if another replica took
// the lease over meanwhile and already recorded this attempt, ours is
// dropped rather than counted twice.
constexpr char kRetryLater[] =
    "UPDATE outbox_deliveries SET attempts = ?, last_error = ?, "
    "next_attempt_time = NOW(6) + INTERVAL ? MICROSECOND "
    "WHERE subscriber = ? AND event_id = ? AND state = 0 AND attempts = ?";
constexpr char kPark[] =
    "UPDATE outbox_deliveries SET state = 2, attempts = ?, last_error = ?, "
    "park_time = NOW(6) "
    "WHERE subscriber = ? AND event_id = ? AND state = 0 AND attempts = ?";

std::string Mask(const std::vector<rapport::v1::EventType>& types,
                 int64_t* mask) {
  *mask = 0;
  if (types.empty()) return "subscribes to no event type";
  for (rapport::v1::EventType type : types) {
    const int n = static_cast<int>(type);
    if (n < 1 || n > 62) {
      return absl::StrCat("subscribes to event type ", n,
                          ", which is not an event type (1..62)");
    }
    *mask |= int64_t{1} << n;
  }
  return "";
}

}  // namespace

struct Dispatcher::Worker {
  Subscription subscription;
  int64_t mask = 0;
  std::thread thread;
  // Local time just before the statement that last claimed or renewed the
  // lease: the lease is surely ours until lease_start + lease.
  absl::Time lease_start = absl::InfinitePast();
  absl::BitGen rng;  // jitter; used by this worker's thread only
};

struct Dispatcher::Pending {
  int64_t event_id = 0;
  int64_t contact_id = 0;
  int attempts = 0;
  std::string payload;
};

Dispatcher::Dispatcher(storage::Database* db, DispatcherOptions options)
    : db_(db), options_([&] {
        if (options.owner.empty()) options.owner = ReplicaName();
        if (options.max_attempts < 1) options.max_attempts = 1;
        if (options.batch_size < 1) options.batch_size = 1;
        return std::move(options);
      }()) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Add(Subscription subscription) {
  auto worker = std::make_unique<Worker>();
  worker->subscription = std::move(subscription);
  workers_.push_back(std::move(worker));
}

absl::Status Dispatcher::Register() {
  absl::flat_hash_set<std::string> seen;
  for (auto& worker : workers_) {
    const std::string& name = worker->subscription.subscriber;
    if (!internal::IsValidKeyName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subscription \"", name,
          "\" needs a name of 1 to 190 printable ASCII characters"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("subscription \"", name, "\" is added twice"));
    }
    const std::string problem = Mask(worker->subscription.types, &worker->mask);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("subscription \"", name, "\" ", problem));
    }
  }
  for (auto& worker : workers_) {
    absl::Status status = internal::Run(
        *db_, "registering an event subscription",
        [&](storage::Connection& conn) {
          conn.Update(
              "INSERT INTO outbox_subscriptions (subscriber, types, "
              "register_time, last_seen_time) VALUES (?, ?, NOW(6), NOW(6)) "
              "ON DUPLICATE KEY UPDATE types = VALUES(types), "
              "last_seen_time = NOW(6)",
              {worker->subscription.subscriber, worker->mask});
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
    log::Info("event subscription registered",
              {{"subscriber", worker->subscription.subscriber},
               {"plugin", worker->subscription.plugin},
               {"types", worker->mask}});
  }
  return absl::OkStatus();
}

void Dispatcher::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stop_.HasBeenNotified()) return;
  started_ = true;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] { Run(w); });
  }
}

void Dispatcher::Stop() {
  absl::MutexLock lock(&mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

absl::StatusOr<bool> Dispatcher::ClaimLease(Worker& worker) {
  const absl::Time before = absl::Now();
  int64_t claimed = 0;
  absl::Status status = internal::Run(
      *db_, "claiming an event subscription lease",
      [&](storage::Connection& conn) {
        claimed = conn.Update(kClaimLease,
                              {options_.owner, Micros(options_.lease),
                               worker.subscription.subscriber, options_.owner});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (claimed > 0) {
    if (worker.lease_start == absl::InfinitePast()) {
      log::Info("event subscription lease acquired",
                {{"subscriber", worker.subscription.subscriber},
                 {"owner", options_.owner}});
    }
    worker.lease_start = before;
    return true;
  }
  if (worker.lease_start != absl::InfinitePast()) {
    log::Warning("event subscription lease lost to another replica",
                 {{"subscriber", worker.subscription.subscriber},
                  {"owner", options_.owner}});
  }
  worker.lease_start = absl::InfinitePast();
  return false;
}

void Dispatcher::Run(Worker* worker) {
  const std::string& subscriber = worker->subscription.subscriber;
  absl::Duration backoff = absl::ZeroDuration();
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<bool> progressed = Poll(*worker);
    if (!progressed.ok()) {
      if (backoff == absl::ZeroDuration()) {
        log::Warning("event delivery paused: database error; retrying",
                     {{"subscriber", subscriber},
                      {"error", progressed.status().ToString()}});
        backoff = options_.poll_interval;
      } else {
        backoff = std::min(backoff * 2, kMaxOutageBackoff);
      }
      stop_.WaitForNotificationWithTimeout(backoff);
      continue;
    }
    if (backoff != absl::ZeroDuration()) {
      log::Info("event delivery resumed", {{"subscriber", subscriber}});
      backoff = absl::ZeroDuration();
    }
    if (!*progressed)
      stop_.WaitForNotificationWithTimeout(options_.poll_interval);
  }
  if (worker->lease_start != absl::InfinitePast()) {
    absl::Status status = internal::Run(
        *db_, "releasing an event subscription lease",
        [&](storage::Connection& conn) {
          conn.Update(kReleaseLease, {subscriber, options_.owner});
          return absl::OkStatus();
        });
    if (!status.ok()) {
      log::Warning(
          "could not release the event subscription lease; another "
          "replica takes over when it expires",
          {{"subscriber", subscriber}, {"error", status.ToString()}});
    }
    worker->lease_start = absl::InfinitePast();
  }
}

absl::StatusOr<bool> Dispatcher::Poll(Worker& worker) {
  absl::StatusOr<bool> ours = ClaimLease(worker);
  if (!ours.ok() || !*ours) return ours;

  std::vector<Pending> batch;
  absl::Status status = internal::Run(
      *db_, "reading pending event deliveries", [&](storage::Connection& conn) {
        batch.clear();
        std::unique_ptr<sql::ResultSet> rs = conn.Query(
            kSelectPending,
            {worker.subscription.subscriber, int64_t{options_.batch_size}});
        while (rs->next()) {
          Pending p;
          p.event_id = rs->getInt64(1);
          p.contact_id = rs->getInt64(2);
          p.attempts = rs->getInt(3);
          p.payload = rs->getString(4).asStdString();
          batch.push_back(std::move(p));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;

  bool progressed = static_cast<int>(batch.size()) >= options_.batch_size;
  absl::flat_hash_set<int64_t> failed_contacts;
  for (const Pending& pending : batch) {
    if (stop_.HasBeenNotified()) break;
    // Order per contact: nothing after a failed delivery of its contact.
    if (failed_contacts.contains(pending.contact_id)) continue;
    if (absl::Now() - worker.lease_start > options_.lease / 2) {
      absl::StatusOr<bool> renewed = ClaimLease(worker);
      if (!renewed.ok()) return renewed.status();
      if (!*renewed) return progressed;
    }
    absl::Status result;
    Deliver(worker, pending, &result);
    if (result.ok()) {
      absl::Status acked = internal::Run(
          *db_, "acknowledging an event delivery",
          [&](storage::Connection& conn) {
            conn.Update(kDeleteDelivery,
                        {worker.subscription.subscriber, pending.event_id});
            return absl::OkStatus();
          });
      // Not acknowledged: it stays pending and is delivered again.
      if (!acked.ok()) return acked;
      delivered_.fetch_add(1, std::memory_order_relaxed);
      progressed = true;
    } else {
      failed_contacts.insert(pending.contact_id);
      absl::Status recorded = RecordFailure(worker, pending, result);
      if (!recorded.ok()) return recorded;
    }
  }
  return progressed;
}

void Dispatcher::Deliver(Worker& worker, const Pending& pending,
                         absl::Status* result) {
  rapport::v1::Event event;
  if (!event.ParseFromString(pending.payload)) {
    *result = absl::DataLossError(absl::StrCat(
        "outbox event ", pending.event_id, " has a corrupt payload"));
    return;
  }
  event.set_id(pending.event_id);
  const absl::Time start = absl::Now();
  try {
    *result = worker.subscription.handler(event);
  } catch (const std::exception& e) {
    *result = absl::InternalError(
        absl::StrCat("the event handler threw: ", e.what()));
  } catch (...) {
    *result = absl::InternalError("the event handler threw: unknown exception");
  }
  const absl::Duration took = absl::Now() - start;
  if (took > options_.lease / 2) {
    log::Warning("event handler is slow; the subscription lease may expire",
                 {{"subscriber", worker.subscription.subscriber},
                  {"event_id", pending.event_id},
                  {"duration_ms", absl::ToInt64Milliseconds(took)}});
  } else {
    log::Debug("event handled",
               {{"subscriber", worker.subscription.subscriber},
                {"event_id", pending.event_id},
                {"ok", result->ok()},
                {"duration_ms", absl::ToDoubleMilliseconds(took)}});
  }
}

absl::Status Dispatcher::RecordFailure(Worker& worker, const Pending& pending,
                                       const absl::Status& error) {
  failed_.fetch_add(1, std::memory_order_relaxed);
  const std::string& subscriber = worker.subscription.subscriber;
  const int attempt = pending.attempts + 1;
  const std::string text = ErrorText(error);
  if (attempt >= options_.max_attempts) {
    int64_t updated = 0;
    absl::Status status = internal::Run(
        *db_, "parking an event delivery", [&](storage::Connection& conn) {
          updated =
              conn.Update(kPark, {int64_t{attempt}, text, subscriber,
                                  pending.event_id, int64_t{pending.attempts}});
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
    if (updated > 0) {
      parked_.fetch_add(1, std::memory_order_relaxed);
      log::Error("event delivery parked after repeated failures",
                 {{"subscriber", subscriber},
                  {"plugin", worker.subscription.plugin},
                  {"event_id", pending.event_id},
                  {"contact_id", pending.contact_id},
                  {"attempts", attempt},
                  {"error", text}});
    }
    return absl::OkStatus();
  }
  // min(initial * 2^(attempt-1), max), jittered by +-20%, at most max.
  absl::Duration delay = options_.initial_backoff;
  for (int i = 1; i < attempt && delay < options_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff);
  delay *= absl::Uniform(worker.rng, 0.8, 1.2);
  delay = std::max(absl::ZeroDuration(), std::min(delay, options_.max_backoff));
  absl::Status status = internal::Run(
      *db_, "recording a failed event delivery",
      [&](storage::Connection& conn) {
        conn.Update(kRetryLater,
                    {int64_t{attempt}, text, Micros(delay), subscriber,
                     pending.event_id, int64_t{pending.attempts}});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  log::Warning("event delivery failed; will retry",
               {{"subscriber", subscriber},
                {"plugin", worker.subscription.plugin},
                {"event_id", pending.event_id},
                {"contact_id", pending.contact_id},
                {"attempt", attempt},
                {"max_attempts", options_.max_attempts},
                {"retry_in_ms", absl::ToInt64Milliseconds(delay)},
                {"error", text}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ParkedDelivery>> Dispatcher::ListParked(
    const std::string& subscriber, int limit) {
  if (limit <= 0) limit = 100;
  limit = std::min(limit, 1000);
  std::vector<ParkedDelivery> parked;
  absl::Status status = internal::Run(
      *db_, "listing parked event deliveries", [&](storage::Connection& conn) {
        parked.clear();
        const std::string select =
            "SELECT d.subscriber, d.event_id, e.type, d.contact_id, "
            "d.attempts, d.last_error, d.park_time "
            "FROM outbox_deliveries d JOIN outbox_events e ON e.id = "
            "d.event_id WHERE d.state = 2 ";
        std::unique_ptr<sql::ResultSet> rs =
            subscriber.empty()
                ? conn.Query(select +
                                 "ORDER BY d.event_id, d.subscriber "
                                 "LIMIT ?",
                             {int64_t{limit}})
                : conn.Query(select +
                                 "AND d.subscriber = ? "
                                 "ORDER BY d.event_id LIMIT ?",
                             {subscriber, int64_t{limit}});
        while (rs->next()) {
          ParkedDelivery p;
          p.subscriber = rs->getString(1).asStdString();
          p.event_id = rs->getInt64(2);
          p.type = static_cast<rapport::v1::EventType>(rs->getInt(3));
          p.contact_id = rs->getInt64(4);
          p.attempts = rs->getInt(5);
          if (!rs->isNull(6)) p.last_error = rs->getString(6).asStdString();
          if (!rs->isNull(7)) {
            absl::StatusOr<absl::Time> t =
                ParseSqlDateTime(rs->getString(7).asStdString());
            if (t.ok()) p.park_time = *t;
          }
          parked.push_back(std::move(p));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return parked;
}

absl::Status Dispatcher::RetryParked(const std::string& subscriber,
                                     int64_t event_id) {
  int64_t updated = 0;
  absl::Status status = internal::Run(
      *db_, "retrying a parked event delivery", [&](storage::Connection& conn) {
        updated = conn.Update(
            "UPDATE outbox_deliveries SET state = 0, attempts = 0, "
            "next_attempt_time = NOW(6), park_time = NULL "
            "WHERE subscriber = ? AND event_id = ? AND state = 2",
            {subscriber, event_id});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (updated == 0) {
    return absl::NotFoundError(
        absl::StrCat("subscription \"", subscriber,
                     "\" has no parked delivery of event ", event_id));
  }
  log::Info("parked event delivery retried",
            {{"subscriber", subscriber}, {"event_id", event_id}});
  return absl::OkStatus();
}

Dispatcher::Stats Dispatcher::GetStats() const {
  Stats stats;
  stats.delivered = delivered_.load(std::memory_order_relaxed);
  stats.failed = failed_.load(std::memory_order_relaxed);
  stats.parked = parked_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace rapport::events
