// A plugin whose Start fails: by throwing (THROW_IN_START) or by returning
// an error. The host must mark it FAILED and go on.
#include <stdexcept>

#include "rapport/sdk/plugin.h"

namespace {

class StartFailsPlugin final : public rapport::sdk::Plugin {
 public:
  absl::Status Start(rapport::sdk::Host& host) override {
#ifdef THROW_IN_START
    throw std::runtime_error("boom in Start");
#else
    return absl::FailedPreconditionError("refusing to start in this test");
#endif
  }
};

}  // namespace

#ifdef THROW_IN_START
RAPPORT_PLUGIN(StartFailsPlugin, "test.start_throws", "0.0.1",
               "Throws from Start")
#else
RAPPORT_PLUGIN(StartFailsPlugin, "test.start_fails", "0.0.1",
               "Returns an error from Start")
#endif
