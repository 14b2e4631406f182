// PluginManager: finds the configured plugin libraries, runs the handshake,
// loads and starts the compatible ones, and keeps the record every admin sees
// (AdminService.ListPlugins): name, version, SDK version, state
// LOADED/REJECTED/FAILED, the reason, and the services it registered.
//
// A plugin can fail in many ways; none of them stops the server unless the
// plugin is listed as required:
//   REJECTED  not a plugin, crashes while loading, incompatible SDK major,
//             newer SDK minor, different build signature, duplicate name;
//   FAILED    its factory or Start failed or threw, or its migrations failed.
//
// Thread-safety: LoadAll/StopAll from the main thread; Statuses from any.
#ifndef RAPPORT_SERVER_PLUGINS_PLUGIN_MANAGER_H_
#define RAPPORT_SERVER_PLUGINS_PLUGIN_MANAGER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rapport/sdk/plugin.h"
#include "server/plugins/loader.h"
#include "server/plugins/plugin_host.h"
#include "server/storage/migrations.h"

namespace rapport::plugins {

struct PluginSettings {
  // Every "*.so" in this folder is loaded (in name order). Empty: none.
  std::string dir;
  // Further libraries, by path.
  std::vector<std::string> paths;
  // Plugin names that must end LOADED, or the server refuses to start.
  std::vector<std::string> required;
  // Config sections by plugin name.
  std::map<std::string, PluginConfigSection> config;
};

enum class PluginState { kLoaded, kRejected, kFailed };
const char* PluginStateName(PluginState state);

struct PluginStatus {
  std::string path;
  ManifestInfo manifest;  // empty fields when the library was unreadable
  PluginState state = PluginState::kRejected;
  std::string reason;                 // why REJECTED/FAILED
  std::vector<std::string> services;  // full gRPC service names
};

class PluginManager {
 public:
  PluginManager(PluginSettings settings, CoreAccess core,
                HostVersion host = HostVersion());
  ~PluginManager();

  // Loads and starts every configured plugin. Returns FAILED_PRECONDITION
  // naming the plugin when a required one does not end LOADED; every other
  // problem is recorded in Statuses() and logged.
  absl::Status LoadAll();

  // What LOADED plugins registered.
  std::vector<grpc::Service*> Services() const;
  // (component, migrations) per LOADED plugin with migrations.
  std::vector<std::pair<std::string, std::vector<storage::Migration>>>
  Migrations() const;
  std::vector<events::Subscription> Subscriptions() const;
  std::vector<events::ScheduledJob> Jobs() const;

  // Marks a LOADED plugin FAILED (e.g. its migrations failed); its
  // subscriptions and jobs are not started afterwards. Returns
  // FAILED_PRECONDITION when the plugin is required.
  absl::Status MarkFailed(const std::string& name, const std::string& reason);

  std::vector<PluginStatus> Statuses() const;

  // Calls Stop on every LOADED plugin (in reverse load order). Libraries
  // stay loaded.
  void StopAll();

 private:
  struct Entry;
  void LoadOne(const std::string& path);
  bool IsRequired(const std::string& name) const;

  const PluginSettings settings_;
  const CoreAccess core_;
  const HostVersion host_version_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rapport::plugins

#endif  // RAPPORT_SERVER_PLUGINS_PLUGIN_MANAGER_H_
