#include "server/plugins/plugin_manager.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/logging.h"

namespace rapport::plugins {
namespace {

// Proto files known to the generated pool. A plugin's own protos register
// when its library loads; the difference names the services it defines.
std::set<std::string> GeneratedProtoFiles() {
  std::vector<std::string> names;
  google::protobuf::DescriptorPool::internal_generated_database()
      ->FindAllFileNames(&names);
  return std::set<std::string>(names.begin(), names.end());
}

std::vector<std::string> ServicesIn(const std::set<std::string>& files) {
  std::vector<std::string> services;
  for (const std::string& file : files) {
    const google::protobuf::FileDescriptor* fd =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            file);
    if (fd == nullptr) continue;
    for (int i = 0; i < fd->service_count(); ++i) {
      services.push_back(fd->service(i)->full_name());
    }
  }
  return services;
}

}  // namespace

const char* PluginStateName(PluginState state) {
  switch (state) {
    case PluginState::kLoaded:
      return "LOADED";
    case PluginState::kRejected:
      return "REJECTED";
    case PluginState::kFailed:
      return "FAILED";
  }
  return "FAILED";
}

struct PluginManager::Entry {
  PluginStatus status;
  std::unique_ptr<PluginHost> host;
  // Owned while LOADED; a plugin that failed is leaked rather than deleted,
  // since its destructor is plugin code in an unknown state.
  sdk::Plugin* plugin = nullptr;
};

PluginManager::PluginManager(PluginSettings settings, CoreAccess core,
                             HostVersion host)
    : settings_(std::move(settings)),
      core_(std::move(core)),
      host_version_(std::move(host)) {}

PluginManager::~PluginManager() {
  absl::MutexLock lock(&mu_);
  for (auto& e : entries_) {
    if (e->status.state == PluginState::kLoaded) delete e->plugin;
  }
}

bool PluginManager::IsRequired(const std::string& name) const {
  return std::find(settings_.required.begin(), settings_.required.end(),
                   name) != settings_.required.end();
}

absl::Status PluginManager::LoadAll() {
  std::vector<std::string> paths;
  if (!settings_.dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(settings_.dir, ec)) {
      log::Warning("plugin directory does not exist; no plugins from it",
                   {{"dir", settings_.dir}});
    } else {
      std::vector<std::string> found;
      for (const auto& entry :
           std::filesystem::directory_iterator(settings_.dir, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".so") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      paths.insert(paths.end(), found.begin(), found.end());
    }
  }
  paths.insert(paths.end(), settings_.paths.begin(), settings_.paths.end());
  for (const std::string& path : paths) LoadOne(path);

  absl::MutexLock lock(&mu_);
  for (const std::string& name : settings_.required) {
    const Entry* found = nullptr;
    for (const auto& e : entries_) {
      if (e->status.manifest.name == name) found = e.get();
    }
    if (found == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "required plugin ", name, " was not found (looked in \"",
          settings_.dir, "\" and ", settings_.paths.size(), " listed paths)"));
    }
    if (found->status.state != PluginState::kLoaded) {
      return absl::FailedPreconditionError(absl::StrCat(
          "required plugin ", name, " is ",
          PluginStateName(found->status.state), ": ", found->status.reason));
    }
  }
  return absl::OkStatus();
}

void PluginManager::LoadOne(const std::string& path) {
  auto entry = std::make_unique<Entry>();
  PluginStatus& st = entry->status;
  st.path = path;
  auto finish = [&](PluginState state, std::string reason) {
    st.state = state;
    st.reason = std::move(reason);
    if (state == PluginState::kLoaded) {
      log::Info("plugin loaded",
                {{"plugin", st.manifest.name},
                 {"version", st.manifest.version},
                 {"sdk", absl::StrCat(st.manifest.sdk_major, ".",
                                      st.manifest.sdk_minor)},
                 {"path", path},
                 {"services", absl::StrJoin(st.services, ",")}});
    } else {
      log::Error(
          state == PluginState::kRejected ? "plugin rejected" : "plugin failed",
          {{"plugin", st.manifest.name},
           {"path", path},
           {"reason", st.reason}});
    }
    absl::MutexLock lock(&mu_);
    entries_.push_back(std::move(entry));
  };

  // 1. Handshake on the manifest, read in a child process.
  absl::StatusOr<ManifestInfo> probed = ProbeLibrary(path);
  if (!probed.ok()) {
    return finish(PluginState::kRejected,
                  std::string(probed.status().message()));
  }
  st.manifest = *probed;
  if (absl::Status ok = CheckManifest(st.manifest, host_version_); !ok.ok()) {
    return finish(PluginState::kRejected, std::string(ok.message()));
  }
  // Names must be unique, and table prefixes must not nest: the SQL guard
  // lets "a_b_" write "a_b_c_x", which would be plugin a.b.c's table.
  std::string clash;
  {
    const std::string prefix = TablePrefixFor(st.manifest.name);
    absl::MutexLock lock(&mu_);
    for (const auto& e : entries_) {
      if (e->status.state != PluginState::kLoaded) continue;
      const std::string other = TablePrefixFor(e->status.manifest.name);
      if (absl::StartsWith(prefix, other) || absl::StartsWith(other, prefix)) {
        clash = absl::StrCat("its name or table prefix clashes with plugin ",
                             e->status.manifest.name, " loaded from ",
                             e->status.path);
      }
    }
  }
  if (!clash.empty()) return finish(PluginState::kRejected, clash);

  // 2. Load into this process and create the plugin.
  const std::set<std::string> before = GeneratedProtoFiles();
  absl::StatusOr<LoadedLibrary> loaded = LoadLibrary(path);
  if (!loaded.ok()) {
    return finish(PluginState::kFailed, std::string(loaded.status().message()));
  }
  std::set<std::string> own_files;
  for (const std::string& f : GeneratedProtoFiles()) {
    if (!before.count(f)) own_files.insert(f);
  }
  sdk::Plugin* plugin = loaded->factory();  // noexcept by RAPPORT_PLUGIN
  if (plugin == nullptr) {
    return finish(PluginState::kFailed,
                  "its constructor failed (the factory returned null)");
  }
  entry->plugin = plugin;

  // 3. Start: the plugin registers what it offers.
  PluginConfigSection section;
  if (auto it = settings_.config.find(st.manifest.name);
      it != settings_.config.end()) {
    section = it->second;
  }
  entry->host =
      std::make_unique<PluginHost>(st.manifest.name, std::move(section), core_);
  absl::Status started;
  try {
    started = plugin->Start(*entry->host);
  } catch (const std::exception& e) {
    started = absl::InternalError(absl::StrCat("Start threw: ", e.what()));
  } catch (...) {
    started = absl::InternalError("Start threw a non-standard exception");
  }
  entry->host->Seal();
  if (!started.ok()) {
    return finish(PluginState::kFailed,
                  absl::StrCat("Start failed: ", started.ToString()));
  }
  if (!entry->host->services().empty()) st.services = ServicesIn(own_files);
  finish(PluginState::kLoaded, "");
}

std::vector<grpc::Service*> PluginManager::Services() const {
  absl::MutexLock lock(&mu_);
  std::vector<grpc::Service*> out;
  for (const auto& e : entries_) {
    if (e->status.state != PluginState::kLoaded) continue;
    out.insert(out.end(), e->host->services().begin(),
               e->host->services().end());
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<storage::Migration>>>
PluginManager::Migrations() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::vector<storage::Migration>>> out;
  for (const auto& e : entries_) {
    if (e->status.state != PluginState::kLoaded) continue;
    if (e->host->migrations().empty()) continue;
    std::vector<storage::Migration> migrations;
    for (const sdk::Migration& m : e->host->migrations()) {
      migrations.push_back(storage::Migration{m.version, m.name, m.sql});
    }
    out.emplace_back(e->status.manifest.name, std::move(migrations));
  }
  return out;
}

std::vector<events::Subscription> PluginManager::Subscriptions() const {
  absl::MutexLock lock(&mu_);
  std::vector<events::Subscription> out;
  for (const auto& e : entries_) {
    if (e->status.state != PluginState::kLoaded) continue;
    out.insert(out.end(), e->host->subscriptions().begin(),
               e->host->subscriptions().end());
  }
  return out;
}

std::vector<events::ScheduledJob> PluginManager::Jobs() const {
  absl::MutexLock lock(&mu_);
  std::vector<events::ScheduledJob> out;
  for (const auto& e : entries_) {
    if (e->status.state != PluginState::kLoaded) continue;
    out.insert(out.end(), e->host->jobs().begin(), e->host->jobs().end());
  }
  return out;
}

absl::Status PluginManager::MarkFailed(const std::string& name,
                                       const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    for (auto& e : entries_) {
      if (e->status.manifest.name == name &&
          e->status.state == PluginState::kLoaded) {
        e->status.state = PluginState::kFailed;
        e->status.reason = reason;
      }
    }
  }
  log::Error("plugin failed", {{"plugin", name}, {"reason", reason}});
  if (IsRequired(name)) {
    return absl::FailedPreconditionError(
        absl::StrCat("required plugin ", name, " failed: ", reason));
  }
  return absl::OkStatus();
}

std::vector<PluginStatus> PluginManager::Statuses() const {
  absl::MutexLock lock(&mu_);
  std::vector<PluginStatus> out;
  for (const auto& e : entries_) out.push_back(e->status);
  return out;
}

void PluginManager::StopAll() {
  absl::MutexLock lock(&mu_);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    Entry& e = **it;
    if (e.plugin == nullptr) continue;
    if (e.status.state != PluginState::kLoaded &&
        e.status.reason.rfind("Start failed", 0) == 0) {
      continue;  // never started successfully
    }
    try {
      e.plugin->Stop();
    } catch (...) {
      log::Error("plugin Stop threw", {{"plugin", e.status.manifest.name}});
    }
  }
}

}  // namespace rapport::plugins
