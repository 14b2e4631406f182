// A test plugin whose manifest is written by hand, to play a plugin built
// with another SDK version or toolchain. The variant is chosen at compile
// time (TEST_MAJOR_DELTA / TEST_MINOR_DELTA added to this SDK's version,
// TEST_SIGNATURE, TEST_NAME); see tests/plugins/CMakeLists.txt. When the
// host accepts it, it starts and registers nothing.
#include "rapport/sdk/plugin.h"

#ifndef TEST_MAJOR_DELTA
#define TEST_MAJOR_DELTA 0
#endif
#ifndef TEST_MINOR_DELTA
#define TEST_MINOR_DELTA 0
#endif
#ifndef TEST_SIGNATURE
#define TEST_SIGNATURE RAPPORT_SDK_BUILD_SIGNATURE
#endif

namespace {

class ManifestPlugin final : public rapport::sdk::Plugin {
 public:
  absl::Status Start(rapport::sdk::Host& host) override {
    host.logger().Info("manifest test plugin started");
    return absl::OkStatus();
  }
};

const RapportPluginManifest kManifest = {
    sizeof(RapportPluginManifest),
    RAPPORT_SDK_VERSION_MAJOR + TEST_MAJOR_DELTA,
    RAPPORT_SDK_VERSION_MINOR + TEST_MINOR_DELTA,
    0,
    TEST_SIGNATURE,
    TEST_NAME,
    "0.0.1",
    "ABI test plugin"};

rapport::sdk::Plugin* Create() noexcept { return new ManifestPlugin(); }

}  // namespace

BOOST_DLL_ALIAS(kManifest, rapport_plugin_manifest)
BOOST_DLL_ALIAS(Create, rapport_plugin_create)
