// The metrics rapportd exports: per-method RPC counts and latencies (fed by
// the access-log interceptor), database pool state, outbox backlog, plugin
// counters and event-delivery counters. Owns the registry.
// Thread-safety: all methods are thread-safe.
#ifndef RAPPORT_SERVER_METRICS_SERVER_METRICS_H_
#define RAPPORT_SERVER_METRICS_SERVER_METRICS_H_

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/metrics.h"
#include "server/metrics/registry.h"

namespace rapport::storage {
class Database;
}  // namespace rapport::storage

namespace rapport::events {
class Dispatcher;
}  // namespace rapport::events

namespace rapport::metrics {

// How long the outbox counts are reused before they are queried again.
inline constexpr absl::Duration kOutboxRefresh = absl::Seconds(5);
// Distinct method labels kept; later new names (clients calling unknown
// methods) are counted as method="other" so series stay bounded.
inline constexpr size_t kMaxMethods = 512;

class ServerMetrics {
 public:
  // Any pointer may be null (its metrics are left out); all must outlive
  // this object.
  ServerMetrics(storage::Database* db, events::Dispatcher* dispatcher,
                CounterRegistry* counters);

  // One finished RPC: full method name, canonical code name, latency.
  void RecordRpc(const std::string& method, const std::string& code,
                 double seconds);

  std::string Render() const { return registry_.Render(); }
  Registry& registry() { return registry_; }

 private:
  struct OutboxCounts {
    double pending = 0;
    double parked = 0;
  };
  OutboxCounts Outbox();

  storage::Database* const db_;
  Registry registry_;
  absl::Mutex methods_mu_;
  std::set<std::string> methods_ ABSL_GUARDED_BY(methods_mu_);
  CounterFamily* requests_ = nullptr;
  HistogramFamily* durations_ = nullptr;

  absl::Mutex outbox_mu_;
  absl::Time outbox_time_ ABSL_GUARDED_BY(outbox_mu_) = absl::InfinitePast();
  OutboxCounts outbox_ ABSL_GUARDED_BY(outbox_mu_);
};

}  // namespace rapport::metrics

#endif  // RAPPORT_SERVER_METRICS_SERVER_METRICS_H_
