// The plugin interface and the one macro a plugin library uses to export
// itself. A plugin is a shared library built against this SDK; rapportd loads
// it at start-up with Boost.DLL, checks its manifest (SDK version and build
// signature) before running any of its functions, then creates the plugin
// and calls Start.
//
//   class HelloPlugin final : public rapport::sdk::Plugin {
//     absl::Status Start(rapport::sdk::Host& host) override { ... }
//   };
//   RAPPORT_PLUGIN(HelloPlugin, "example.hello", "1.0.0",
//                  "Says hello over gRPC")
//
// Exceptions never take the server down: RAPPORT_PLUGIN's factory catches
// them, and the host calls Start, Stop, event handlers and jobs inside
// try/catch (an exception is a FAILED start, or a failed delivery that is
// retried and parked).
#ifndef RAPPORT_SDK_PLUGIN_H_
#define RAPPORT_SDK_PLUGIN_H_

#include <boost/dll/alias.hpp>
#include <cstdint>
#include <exception>

#include "absl/status/status.h"
#include "rapport/sdk/host.h"
#include "rapport/sdk/version.h"

namespace rapport::sdk {

// A loaded plugin. The host creates one instance through the factory in the
// manifest and deletes it after Stop (the library itself is never unloaded).
class Plugin {
 public:
  virtual ~Plugin() = default;

  // Called once, before the gRPC server starts. Register services, event
  // subscriptions, migrations, jobs and counters on `host` here; do no
  // database work yet (the plugin's tables are created after Start). A
  // non-OK status (or an exception) marks the plugin FAILED; the server
  // keeps running without it unless the plugin is required.
  virtual absl::Status Start(Host& host) = 0;

  // Called once at shutdown, after the gRPC server stopped and no event
  // handler or job is running.
  virtual void Stop() {}
};

}  // namespace rapport::sdk

extern "C" {

// Plain data the host reads before it runs any function of the plugin.
// Layout is frozen for SDK major 1: fields are only ever appended, and
// `struct_size` tells the host how many this plugin has.
struct RapportPluginManifest {
  uint32_t struct_size;  // sizeof(RapportPluginManifest) in the plugin
  uint32_t sdk_major;    // RAPPORT_SDK_VERSION_MAJOR the plugin was built with
  uint32_t sdk_minor;
  uint32_t sdk_patch;
  const char* build_signature;  // RAPPORT_SDK_BUILD_SIGNATURE of its build
  const char* name;             // dotted, e.g. "rapport.loyalty"
  const char* version;          // the plugin's own version, e.g. "1.2.0"
  const char* description;      // one line
};

// The factory: a new plugin, or nullptr when construction failed. Never
// throws.
typedef rapport::sdk::Plugin* (*RapportPluginFactory)();

}  // extern "C"

// The names the host looks up with Boost.DLL.
#define RAPPORT_PLUGIN_MANIFEST_SYMBOL rapport_plugin_manifest
#define RAPPORT_PLUGIN_FACTORY_SYMBOL rapport_plugin_create

// Exports `PluginClass` (default-constructible, derived from
// rapport::sdk::Plugin) as this library's plugin. Use once per library, at
// namespace scope in one .cc file.
#define RAPPORT_PLUGIN(PluginClass, plugin_name, plugin_version,          \
                       plugin_description)                                \
  namespace rapport_plugin_export_ {                                      \
  const RapportPluginManifest kManifest = {sizeof(RapportPluginManifest), \
                                           RAPPORT_SDK_VERSION_MAJOR,     \
                                           RAPPORT_SDK_VERSION_MINOR,     \
                                           RAPPORT_SDK_VERSION_PATCH,     \
                                           RAPPORT_SDK_BUILD_SIGNATURE,   \
                                           plugin_name,                   \
                                           plugin_version,                \
                                           plugin_description};           \
  rapport::sdk::Plugin* Create() noexcept {                               \
    try {                                                                 \
      return new PluginClass();                                           \
    } catch (...) {                                                       \
      return nullptr;                                                     \
    }                                                                     \
  }                                                                       \
  }                                                                       \
  BOOST_DLL_ALIAS(rapport_plugin_export_::kManifest,                      \
                  RAPPORT_PLUGIN_MANIFEST_SYMBOL)                         \
  BOOST_DLL_ALIAS(rapport_plugin_export_::Create, RAPPORT_PLUGIN_FACTORY_SYMBOL)

#endif  // RAPPORT_SDK_PLUGIN_H_
