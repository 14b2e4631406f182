// PluginHost: the sdk::Host one plugin receives. It collects what the plugin
// registers during Start (services, migrations, subscriptions, jobs) for the
// server to wire up afterwards, and serves the plugin's database access
// through the SQL guard (own tables read-write, core tables read-only).
//
// Thread-safety: registration methods are called from Start only (one
// thread); database(), logger(), counter() and LogInteraction from any.
#ifndef RAPPORT_SERVER_PLUGINS_PLUGIN_HOST_H_
#define RAPPORT_SERVER_PLUGINS_PLUGIN_HOST_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rapport/sdk/host.h"
#include "server/common/metrics.h"
#include "server/config/config.h"
#include "server/events/dispatcher.h"
#include "server/events/scheduler.h"

namespace rapport::auth {
class Permissions;
}  // namespace rapport::auth

namespace rapport::storage {
class Database;
}

namespace rapport::plugins {

// A plugin's section of the server config (plugins.config.<name>).
using PluginConfigSection = config::PluginSection;

// What the core lends plugins. Pointers are not owned and outlive the host.
struct CoreAccess {
  storage::Database* db = nullptr;
  CounterRegistry* counters = nullptr;
  std::function<absl::StatusOr<rapport::v1::Interaction>(
      const rapport::v1::Interaction&, absl::string_view request_id)>
      log_interaction;
  // Where plugins declare their methods' permissions and their roles.
  auth::Permissions* permissions = nullptr;
};

class PluginHost final : public sdk::Host {
 public:
  PluginHost(std::string plugin_name, PluginConfigSection config,
             CoreAccess core);
  ~PluginHost();

  // sdk::Host
  const std::string& plugin_name() const override { return name_; }
  const std::string& table_prefix() const override { return prefix_; }
  sdk::Logger& logger() override;
  const std::map<std::string, std::string>& config() const override {
    return config_.values;
  }
  const std::string& config_yaml() const override { return config_.yaml; }
  sdk::Database& database() override;
  absl::Status RegisterService(grpc::Service* service) override;
  absl::Status AddMigrations(std::vector<sdk::Migration> migrations) override;
  absl::Status Subscribe(absl::string_view name,
                         std::vector<rapport::v1::EventType> types,
                         sdk::EventHandler handler) override;
  absl::Status Schedule(absl::string_view name, absl::Duration period,
                        sdk::Job job) override;
  sdk::Counter& counter(absl::string_view name,
                        absl::string_view help) override;
  absl::Status DeclareMethod(absl::string_view method,
                             absl::string_view permission,
                             bool mutating) override;
  absl::Status GrantPermission(absl::string_view role,
                               absl::string_view permission) override;
  absl::StatusOr<rapport::v1::Interaction> LogInteraction(
      const rapport::v1::Interaction& interaction,
      absl::string_view request_id) override;

  // Ends the registration phase: later registration calls fail.
  void Seal() { sealed_ = true; }

  // What the plugin registered (valid after Start).
  const std::vector<grpc::Service*>& services() const { return services_; }
  const std::vector<sdk::Migration>& migrations() const { return migrations_; }
  const std::vector<events::Subscription>& subscriptions() const {
    return subscriptions_;
  }
  const std::vector<events::ScheduledJob>& jobs() const { return jobs_; }

 private:
  class PluginLogger;
  class PluginDatabase;

  absl::Status CheckRegistration(absl::string_view what) const;

  const std::string name_;
  const std::string prefix_;
  const PluginConfigSection config_;
  const CoreAccess core_;
  std::unique_ptr<PluginLogger> logger_;
  std::unique_ptr<PluginDatabase> database_;
  bool sealed_ = false;
  std::vector<grpc::Service*> services_;  // not owned (the plugin's)
  std::vector<sdk::Migration> migrations_;
  std::vector<events::Subscription> subscriptions_;
  std::vector<events::ScheduledJob> jobs_;
};

// "rapport.loyalty" -> "rapport_loyalty_".
std::string TablePrefixFor(absl::string_view plugin_name);

}  // namespace rapport::plugins

#endif  // RAPPORT_SERVER_PLUGINS_PLUGIN_HOST_H_
