#include "server/metrics/server_metrics.h"

#include <cppconn/resultset.h>

#include <memory>

#include "absl/time/clock.h"
#include "server/events/dispatcher.h"
#include "server/storage/database.h"

namespace rapport::metrics {

ServerMetrics::ServerMetrics(storage::Database* db,
                             events::Dispatcher* dispatcher,
                             CounterRegistry* counters)
    : db_(db) {
  requests_ = &registry_.AddCounter("rapport_grpc_requests_total",
                                    "gRPC calls handled, by method and code.",
                                    {"method", "code"});
  durations_ = &registry_.AddHistogram(
      "rapport_grpc_request_duration_seconds",
      "gRPC call latency from the first metadata to the status, by method.",
      {"method"}, DefaultLatencyBuckets());
  if (db != nullptr) {
    registry_.AddCallback(
        "rapport_db_pool_connections",
        "Database pool connections by state (idle counts only opened ones "
        "up to the pool size).",
        "gauge", {"state"}, [db] {
          const storage::Database::Stats s = db->GetStats();
          return std::vector<Sample>{{{"in_use"}, double(s.in_use)},
                                     {{"idle"}, double(s.size - s.in_use)}};
        });
    registry_.AddCallback(
        "rapport_db_pool_waiting", "Callers waiting for a database connection.",
        "gauge", {}, [db] {
          return std::vector<Sample>{{{}, double(db->GetStats().waiting)}};
        });
    registry_.AddCallback(
        "rapport_outbox_pending_deliveries",
        "Event deliveries not yet handled, all subscribers (refreshed at "
        "most every 5 s).",
        "gauge", {}, [this] {
          return std::vector<Sample>{{{}, Outbox().pending}};
        });
    registry_.AddCallback(
        "rapport_outbox_parked_deliveries",
        "Event deliveries parked after repeated failures (refreshed at most "
        "every 5 s).",
        "gauge", {}, [this] {
          return std::vector<Sample>{{{}, Outbox().parked}};
        });
  }
  if (dispatcher != nullptr) {
    registry_.AddCallback(
        "rapport_plugin_events_delivered_total",
        "Events delivered to plugin subscribers by this replica.", "counter",
        {}, [dispatcher] {
          return std::vector<Sample>{
              {{}, double(dispatcher->GetStats().delivered)}};
        });
    registry_.AddCallback(
        "rapport_plugin_events_failed_total",
        "Failed event delivery attempts (retried later) by this replica.",
        "counter", {}, [dispatcher] {
          return std::vector<Sample>{
              {{}, double(dispatcher->GetStats().failed)}};
        });
    registry_.AddCallback("rapport_plugin_events_parked_total",
                          "Event deliveries parked by this replica.", "counter",
                          {}, [dispatcher] {
                            return std::vector<Sample>{
                                {{}, double(dispatcher->GetStats().parked)}};
                          });
  }
  if (counters != nullptr) {
    registry_.AddCallback(
        "rapport_plugin_counter_total",
        "Counters plugins keep through the SDK (sdk::Host::counter), by name.",
        "counter", {"name"}, [counters] {
          std::vector<Sample> samples;
          for (const auto& c : counters->Snapshot()) {
            samples.push_back({{c.name}, double(c.value)});
          }
          return samples;
        });
  }
}

void ServerMetrics::RecordRpc(const std::string& method,
                              const std::string& code, double seconds) {
  std::string label = method;
  {
    absl::MutexLock lock(&methods_mu_);
    if (!methods_.contains(method)) {
      if (methods_.size() < kMaxMethods) {
        methods_.insert(method);
      } else {
        label = "other";
      }
    }
  }
  requests_->WithLabels({label, code}).Increment();
  durations_->WithLabels({label}).Observe(seconds);
}

ServerMetrics::OutboxCounts ServerMetrics::Outbox() {
  absl::MutexLock lock(&outbox_mu_);
  const absl::Time now = absl::Now();
  if (now - outbox_time_ < kOutboxRefresh || !db_->ready()) return outbox_;
  outbox_time_ = now;
  OutboxCounts counts;
  absl::Status status =
      db_->Run("count outbox deliveries", [&](storage::Connection& conn) {
        std::unique_ptr<sql::ResultSet> rows = conn.Query(
            "SELECT state, COUNT(*) FROM outbox_deliveries GROUP BY state", {});
        while (rows->next()) {
          const int state = rows->getInt(1);
          const double n = static_cast<double>(rows->getInt64(2));
          if (state == 0) counts.pending = n;
          if (state == 2) counts.parked = n;
        }
        return absl::OkStatus();
      });
  // On error the last counts stay; the next refresh tries again.
  if (status.ok()) outbox_ = counts;
  return outbox_;
}

}  // namespace rapport::metrics
