// RapportServer assembles the gRPC server: database pool, migrations,
// services, health, reflection and the access log; it owns all of them.
// main.cc runs one per process; integration tests run one in-process on
// port 0.
//
// Lifecycle: Start() binds the port and serves at once with health
// NOT_SERVING; a background thread applies migrations (retrying while the
// database is unreachable) and a monitor flips health to SERVING while the
// database answers. Shutdown() drains and stops.
// Thread-safety: Start/Shutdown from one thread; the rest may be called from
// any thread.
#ifndef RAPPORT_SERVER_APP_SERVER_H_
#define RAPPORT_SERVER_APP_SERVER_H_

#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/common/metrics.h"
#include "server/config/config.h"

namespace rapport::storage {
class Database;
class ContactStore;
class InteractionStore;
}  // namespace rapport::storage

namespace rapport::api {
class AdminServiceImpl;
class ContactServiceImpl;
class InteractionServiceImpl;
}  // namespace rapport::api

namespace rapport::events {
class Dispatcher;
class Scheduler;
}  // namespace rapport::events

namespace rapport::plugins {
class PluginManager;
}  // namespace rapport::plugins

namespace rapport::metrics {
class HttpServer;
class ServerMetrics;
}  // namespace rapport::metrics

namespace rapport::auth {
class Authenticator;
class KeyStore;
class Permissions;
}  // namespace rapport::auth

namespace rapport::audit {
class AuditLog;
}  // namespace rapport::audit

namespace rapport::app {

class RapportServer {
 public:
  // Loads plugins, then builds and starts the server. Returns
  // INVALID_ARGUMENT for unusable settings (no TLS and not insecure,
  // unreadable certificates), FAILED_PRECONDITION when a required plugin
  // did not load, and UNAVAILABLE when the listen address cannot be bound.
  static absl::StatusOr<std::unique_ptr<RapportServer>> Start(
      const config::Config& config);

  ~RapportServer();  // calls Shutdown(zero grace) if still running

  // The bound gRPC port (useful with port 0).
  int port() const { return port_; }
  // The bound metrics HTTP port; 0 when metrics_listen is empty (disabled).
  int metrics_port() const { return metrics_port_; }

  // Blocks until migrations are applied and the database answered, or
  // `timeout` passes. Returns whether the server is serving.
  bool WaitUntilServing(absl::Duration timeout);

  plugins::PluginManager& plugins() { return *plugins_; }
  events::Dispatcher& dispatcher() { return *dispatcher_; }
  CounterRegistry& counters() { return *counters_; }
  audit::AuditLog& audit_log() { return *audit_; }
  auth::KeyStore& keys() { return *keys_; }

  // Notified when the server cannot go on (a migration failed for good);
  // fatal_error() then says why.
  absl::Notification& fatal() { return fatal_; }
  absl::Status fatal_error() const;

  // Health NOT_SERVING, stop accepting calls, let in-flight calls finish for
  // up to `grace` (then cancel them), stop background threads, close the
  // database pool. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  explicit RapportServer(const config::Config& config);
  void MigrateLoop();
  void HealthLoop();
  void SetServing(bool serving);

  absl::Status MigratePlugins();
  // Stores the bootstrap admin key (if configured) and loads API keys.
  absl::Status LoadKeys();

  const config::Config config_;
  // Declaration order is destruction order in reverse: the gRPC server goes
  // first, then services, background workers, plugins, and the pool last.
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<CounterRegistry> counters_;
  std::unique_ptr<auth::Permissions> permissions_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<auth::KeyStore> keys_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<class DeadlineCap> deadline_cap_;
  std::string bootstrap_key_;
  std::unique_ptr<plugins::PluginManager> plugins_;
  std::unique_ptr<events::Dispatcher> dispatcher_;
  std::unique_ptr<events::Scheduler> scheduler_;
  std::unique_ptr<storage::ContactStore> contacts_;
  std::unique_ptr<storage::InteractionStore> interactions_;
  std::unique_ptr<api::ContactServiceImpl> contact_service_;
  std::unique_ptr<api::InteractionServiceImpl> interaction_service_;
  std::unique_ptr<api::AdminServiceImpl> admin_service_;
  std::unique_ptr<metrics::ServerMetrics> metrics_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<metrics::HttpServer> metrics_http_;
  int metrics_port_ = 0;

  bool workers_added_ = false;  // touched by the migration thread only
  std::atomic<bool> keys_loaded_{false};
  absl::Notification stopping_;
  absl::Notification fatal_;
  std::thread migrate_thread_;
  std::thread health_thread_;

  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fatal_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rapport::app

#endif  // RAPPORT_SERVER_APP_SERVER_H_
