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

    // Who may call what. Every call is authenticated by the server; a method
    // declared here needs the named permission, which ADMIN keys hold and
    // which the plugin grants to other roles. Undeclared methods are
    // ADMIN-only. Both methods only read, so none is audited (mutating =
    // false); a method that changes data would pass true.
    for (absl::Status s : {
             host.DeclareMethod("/example.hello.v1.HelloService/SayHello",
                                "example.hello.greet", /*mutating=*/false),
             host.DeclareMethod("/example.hello.v1.HelloService/CountContacts",
                                "example.hello.count", /*mutating=*/false),
             host.GrantPermission("READER", "example.hello.greet"),
             host.GrantPermission("AGENT", "example.hello.greet"),
             // A plugin-scoped role: keys created with role
             // "example.hello.counter" may count contacts, nothing else.
             host.GrantPermission("example.hello.counter",
                                  "example.hello.count"),
         }) {
      if (!s.ok()) return s;
    }

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
