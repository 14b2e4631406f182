#include "server/app/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/admin_service.h"
#include "server/api/contact_service.h"
#include "server/api/interaction_service.h"
#include "server/app/access_log.h"
#include "server/app/deadline_cap.h"
#include "server/audit/audit_log.h"
#include "server/auth/authenticator.h"
#include "server/auth/credentials.h"
#include "server/auth/key_store.h"
#include "server/auth/permissions.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/events/dispatcher.h"
#include "server/events/scheduler.h"
#include "server/metrics/http_server.h"
#include "server/metrics/server_metrics.h"
#include "server/plugins/plugin_manager.h"
#include "server/storage/contact_store.h"
#include "server/storage/database.h"
#include "server/storage/interaction_store.h"
#include "server/storage/migrations.h"

namespace rapport::app {
namespace {

// How often the health monitor checks the database.
constexpr absl::Duration kHealthInterval = absl::Seconds(2);

// The bootstrap admin key from the setting or its file (a mounted secret;
// surrounding whitespace, e.g. a trailing newline, is not part of it).
absl::StatusOr<std::string> BootstrapKey(const config::Config& config) {
  if (config.bootstrap_admin_key_file.empty()) {
    return config.bootstrap_admin_key;
  }
  if (!config.bootstrap_admin_key.empty()) {
    return absl::InvalidArgumentError(
        "set RAPPORT_BOOTSTRAP_ADMIN_KEY or RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE, "
        "not both");
  }
  std::ifstream in(config.bootstrap_admin_key_file);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE: cannot read \"",
                     config.bootstrap_admin_key_file, "\""));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

}  // namespace

RapportServer::RapportServer(const config::Config& config) : config_(config) {}

absl::StatusOr<std::unique_ptr<RapportServer>> RapportServer::Start(
    const config::Config& config) {
  auto creds = auth::MakeServerCredentials(config);
  if (!creds.ok()) return creds.status();

  auto bootstrap_key = BootstrapKey(config);
  if (!bootstrap_key.ok()) return bootstrap_key.status();
  if (!bootstrap_key->empty() && bootstrap_key->size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.bootstrap_admin_key_file.empty()
                         ? "RAPPORT_BOOTSTRAP_ADMIN_KEY"
                         : "RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE",
                     ": the bootstrap admin key must be at least 32 "
                     "characters (e.g. `openssl rand -hex 32`)"));
  }

  std::unique_ptr<RapportServer> s(new RapportServer(config));
  s->bootstrap_key_ = *std::move(bootstrap_key);
  s->db_ = std::make_unique<storage::Database>(config.db, config.db.pool_size);
  s->counters_ = std::make_unique<CounterRegistry>();
  s->permissions_ = std::make_unique<auth::Permissions>();
  s->contacts_ = std::make_unique<storage::ContactStore>(s->db_.get());
  s->interactions_ = std::make_unique<storage::InteractionStore>(s->db_.get());

  // Plugins load first: the loader forks to probe each library, which is
  // only safe before this process starts threads of its own.
  plugins::PluginSettings plugin_settings;
  plugin_settings.dir = config.plugin_dir;
  plugin_settings.paths = config.plugin_paths;
  plugin_settings.required = config.required_plugins;
  plugin_settings.config = config.plugin_config;
  plugins::CoreAccess core;
  core.db = s->db_.get();
  core.counters = s->counters_.get();
  core.permissions = s->permissions_.get();
  core.log_interaction = [raw = s.get()](
                             const rapport::v1::Interaction& interaction,
                             absl::string_view request_id)
      -> absl::StatusOr<rapport::v1::Interaction> {
    rapport::v1::Interaction copy = interaction;
    copy.clear_id();
    copy.clear_create_time();
    absl::Status valid = validation::NormalizeInteraction(&copy, absl::Now());
    if (!valid.ok()) return valid;
    return raw->interactions_->Log(copy, request_id);
  };
  s->plugins_ = std::make_unique<plugins::PluginManager>(
      std::move(plugin_settings), std::move(core));
  if (absl::Status loaded = s->plugins_->LoadAll(); !loaded.ok()) {
    return loaded;
  }
  const std::string replica = events::ReplicaName();
  events::DispatcherOptions dispatcher_options;
  dispatcher_options.owner = replica;
  dispatcher_options.lease = config.outbox_lease;
  dispatcher_options.max_attempts = config.outbox_max_attempts;
  dispatcher_options.initial_backoff = config.outbox_initial_backoff;
  s->dispatcher_ =
      std::make_unique<events::Dispatcher>(s->db_.get(), dispatcher_options);
  events::SchedulerOptions scheduler_options;
  scheduler_options.owner = replica;
  s->scheduler_ =
      std::make_unique<events::Scheduler>(s->db_.get(), scheduler_options);

  validation::ContactOptions contact_options;
  contact_options.default_region = config.default_phone_region;
  s->contact_service_ = std::make_unique<api::ContactServiceImpl>(
      s->contacts_.get(), contact_options);
  s->interaction_service_ =
      std::make_unique<api::InteractionServiceImpl>(s->interactions_.get());
  // Authentication and the audit trail: plugins have declared their
  // methods and roles by now, so the permission table is complete.
  auto cert_roles =
      auth::ParseClientCertRoles(config.client_cert_roles, *s->permissions_);
  if (!cert_roles.ok()) return cert_roles.status();
  s->audit_ = std::make_unique<audit::AuditLog>(s->db_.get());
  s->keys_ = std::make_unique<auth::KeyStore>(
      s->db_.get(), s->permissions_.get(), config.key_refresh);
  auth::Authenticator::Options auth_options;
  auth_options.client_cert_roles = *std::move(cert_roles);
  auth_options.rate_per_key = config.rate_per_key;
  auth_options.rate_burst = config.rate_burst;
  s->authenticator_ = std::make_unique<auth::Authenticator>(
      s->permissions_.get(), s->keys_.get(), s->audit_.get(),
      std::move(auth_options));
  (*creds)->SetAuthMetadataProcessor(
      std::shared_ptr<grpc::AuthMetadataProcessor>(
          s->authenticator_.get(), [](grpc::AuthMetadataProcessor*) {}));
  s->deadline_cap_ = std::make_unique<DeadlineCap>(config.max_deadline);

  api::AdminServiceImpl::Deps admin;
  admin.plugins = s->plugins_.get();
  admin.dispatcher = s->dispatcher_.get();
  admin.keys = s->keys_.get();
  admin.authenticator = s->authenticator_.get();
  admin.audit = s->audit_.get();
  s->admin_service_ = std::make_unique<api::AdminServiceImpl>(admin);

  s->metrics_ = std::make_unique<metrics::ServerMetrics>(
      s->db_.get(), s->dispatcher_.get(), s->counters_.get());
  if (!config.metrics_listen.empty()) {
    auto http = metrics::HttpServer::Start(
        config.metrics_listen, [m = s->metrics_.get()] { return m->Render(); },
        [raw = s.get()] {
          absl::MutexLock lock(&raw->mu_);
          return raw->serving_;
        });
    if (http.ok()) {
      s->metrics_http_ = std::move(*http);
      s->metrics_port_ = s->metrics_http_->port();
    } else {
      // Metrics are not worth refusing to serve: say so loudly and go on.
      log::Error("metrics disabled", {{"error", http.status().ToString()}});
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *creds, &s->port_);
  builder.RegisterService(s->contact_service_.get());
  builder.RegisterService(s->interaction_service_.get());
  builder.RegisterService(s->admin_service_.get());
  for (grpc::Service* service : s->plugins_->Services()) {
    builder.RegisterService(service);
  }
  // Calls block on MySQL; the database pool (`threads` connections by
  // default) bounds concurrent database work, and calls beyond it wait for a
  // connection (up to the acquire timeout, then UNAVAILABLE). gRPC's sync
  // server answers RESOURCE_EXHAUSTED ("Server Threadpool Exhausted") when
  // its thread quota is used up, so the quota is the queue that absorbs
  // bursts: at 2 x threads + 2 an open-loop GetContact load at half of peak
  // over 1M contacts had 36 of 17k calls rejected when calls piled up
  // (tests/bench, GetContact@50%). Waiting threads cost a stack each and no
  // CPU; past the quota, calls still fail fast.
  grpc::ResourceQuota quota("rapportd");
  quota.SetMaxThreads(4 * config.threads + 2);
  builder.SetResourceQuota(quota);
  // A thread that finishes a call goes back to polling only while fewer
  // than MAX_POLLERS threads poll, else it exits, and gRPC starts a new one
  // as soon as all pollers are busy. At gRPC's default of 2 a loaded server
  // created and destroyed a thread for nearly every call (clone, stack mmap,
  // TLB shootdowns: ~10% of its CPU on GetContact). With one poller per
  // database connection the pool settles at the size of the load.
  builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, config.threads);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  if (config.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config.max_connection_age)));
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config.shutdown_grace)));
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  AccessLogInterceptorFactory::Deps call_deps;
  call_deps.metrics = s->metrics_.get();
  call_deps.authenticator = s->authenticator_.get();
  call_deps.audit = s->audit_.get();
  call_deps.deadline_cap = s->deadline_cap_.get();
  interceptors.push_back(
      std::make_unique<AccessLogInterceptorFactory>(call_deps));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen,
                     " (address in use, or not an address of this host?)"));
  }
  s->SetServing(false);
  log::Info("rapportd listening", {{"address", config.listen},
                                   {"port", s->port_},
                                   {"tls", !config.tls_cert.empty()},
                                   {"threads", config.threads},
                                   {"db_pool_size", config.db.pool_size},
                                   {"metrics_port", s->metrics_port_}});
  if (config.tls_cert.empty()) {
    log::Warning(
        "serving PLAINTEXT gRPC (RAPPORT_INSECURE): local "
        "development only, never in production");
  }
  s->migrate_thread_ = std::thread([raw = s.get()] { raw->MigrateLoop(); });
  s->health_thread_ = std::thread([raw = s.get()] { raw->HealthLoop(); });
  return s;
}

RapportServer::~RapportServer() { Shutdown(absl::ZeroDuration()); }

void RapportServer::MigrateLoop() {
  const std::vector<storage::Migration> migrations = storage::CoreMigrations();
  absl::Duration backoff = absl::Milliseconds(200);
  while (!stopping_.HasBeenNotified()) {
    absl::Status status =
        config_.migrate_on_start
            ? storage::ApplyMigrations(*db_, "core", migrations)
            : storage::CheckMigrationsApplied(*db_, "core", migrations);
    if (status.ok()) status = MigratePlugins();
    if (status.ok() && !workers_added_) {
      // Only plugins still LOADED after their migrations get events and jobs.
      for (events::Subscription& sub : plugins_->Subscriptions()) {
        dispatcher_->Add(std::move(sub));
      }
      for (events::ScheduledJob& job : plugins_->Jobs()) {
        scheduler_->Add(std::move(job));
      }
      workers_added_ = true;
    }
    if (status.ok()) status = dispatcher_->Register();
    if (status.ok()) {
      dispatcher_->Start();
      scheduler_->Start();
      db_->SetReady(true);
      status = LoadKeys();
    }
    if (status.ok()) {
      log::Info("database schema is current",
                {{"migrations", static_cast<int64_t>(migrations.size())}});
      return;
    }
    if (status.code() != absl::StatusCode::kUnavailable) {
      log::Error("database migrations failed", {{"error", status.ToString()}});
      absl::MutexLock lock(&mu_);
      fatal_error_ = status;
      fatal_.Notify();
      return;
    }
    log::Warning("database not ready; retrying",
                 {{"error", std::string(status.message())},
                  {"retry_in_ms", absl::ToInt64Milliseconds(backoff)}});
    stopping_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

absl::Status RapportServer::MigratePlugins() {
  for (const auto& [plugin, migrations] : plugins_->Migrations()) {
    absl::Status status =
        config_.migrate_on_start
            ? storage::ApplyMigrations(*db_, plugin, migrations)
            : storage::CheckMigrationsApplied(*db_, plugin, migrations);
    if (status.code() == absl::StatusCode::kUnavailable) return status;
    if (!status.ok()) {
      // A plugin whose schema cannot be set up is FAILED; the core and the
      // other plugins go on, unless this one is required.
      RAPPORT_RETURN_IF_ERROR(plugins_->MarkFailed(
          plugin, absl::StrCat("migrations failed: ", status.message())));
    }
  }
  return absl::OkStatus();
}

absl::Status RapportServer::LoadKeys() {
  if (keys_loaded_.load()) return absl::OkStatus();
  if (!bootstrap_key_.empty()) {
    RAPPORT_RETURN_IF_ERROR(keys_->EnsureBootstrap(bootstrap_key_));
  }
  RAPPORT_RETURN_IF_ERROR(keys_->Refresh());
  keys_->StartRefreshing();
  keys_loaded_.store(true);
  return absl::OkStatus();
}

void RapportServer::HealthLoop() {
  // SERVING needs the schema and the API keys: before the keys are loaded
  // every call would fail.
  auto ready = [this] { return db_->ready() && keys_loaded_.load(); };
  while (!stopping_.WaitForNotificationWithTimeout(
      ready() ? kHealthInterval : absl::Milliseconds(100))) {
    if (!ready()) continue;
    absl::Status ping = db_->Ping();
    if (!ping.ok()) {
      log::Warning("database check failed", {{"error", ping.ToString()}});
    }
    SetServing(ping.ok());
  }
}

void RapportServer::SetServing(bool serving) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    if (serving == serving_ && serving) return;
    if (serving != serving_) {
      log::Info(serving ? "health: SERVING" : "health: NOT_SERVING");
    }
    serving_ = serving;
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);
}

bool RapportServer::WaitUntilServing(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return serving_ || shut_down_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return serving_;
}

absl::Status RapportServer::fatal_error() const {
  absl::MutexLock lock(&mu_);
  return fatal_error_;
}

void RapportServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    if (server_ == nullptr) {
      // Start failed before the server was built: nothing runs yet.
      shut_down_ = true;
      return;
    }
  }
  log::Info("shutting down", {{"grace_ms", absl::ToInt64Milliseconds(grace)}});
  SetServing(false);
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    serving_ = false;
  }
  // Health first goes NOT_SERVING so load balancers stop sending; then the
  // server stops accepting, waits for in-flight calls up to the deadline and
  // cancels the rest.
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  stopping_.Notify();
  if (migrate_thread_.joinable()) migrate_thread_.join();
  if (health_thread_.joinable()) health_thread_.join();
  // No call is running now; stop event delivery and jobs, then the plugins.
  dispatcher_->Stop();
  scheduler_->Stop();
  plugins_->StopAll();
  if (absl::Status s = audit_->Flush(absl::Seconds(5)); !s.ok()) {
    log::Error("audit rows not written before shutdown",
               {{"error", s.ToString()}});
  }
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  log::Info("stopped");
}

}  // namespace rapport::app
