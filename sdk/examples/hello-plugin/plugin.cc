// Wires HelloService to the Rapport host. This is the only file that knows
// about plugin loading: copy it, keep it small.
#include "rapport/sdk/plugin.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "hello_service.h"

namespace example::hello {
namespace {

class HelloPlugin final : public rapport::sdk::Plugin {
 public:
  absl::Status Start(rapport::sdk::Host& host) override {
    // Optional setting `greeting` in this plugin's config section
    // (plugins.config.<name> in the server's YAML), validated here: a bad
    // value fails the start with a clear message.
    std::string greeting = "Hello";
    const auto& config = host.config();
    if (auto it = config.find("greeting"); it != config.end()) {
      if (it->second.empty()) {
        return absl::InvalidArgumentError(
            "config key 'greeting' must not be empty");
      }
      greeting = it->second;
    }

    service_ = std::make_unique<HelloService>(
        greeting, host.database(),
        host.counter("greetings", "SayHello calls answered"));
    // Services can only be registered during Start; the plugin owns them
    // and keeps them alive until after Stop (service_ dies with the plugin).
    absl::Status registered = host.RegisterService(service_.get());
    if (!registered.ok()) return registered;

    host.logger().Info(
        "hello plugin started",
        {{"service", "example.hello.v1.HelloService"}, {"greeting", greeting}});
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<HelloService> service_;
};

}  // namespace
}  // namespace example::hello

RAPPORT_PLUGIN(example::hello::HelloPlugin, "example.hello", "1.0.0",
               "Template plugin: says hello and counts contacts over gRPC")
