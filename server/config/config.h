// rapportd's configuration: one table of options, each settable from a YAML
// file, an environment variable and a command-line flag. Precedence: flag >
// environment > file > default (PRODUCT.md, "Operations contract").
// Thread-safety: Config is a plain value; Load is a pure function of its
// inputs.
#ifndef RAPPORT_SERVER_CONFIG_CONFIG_H_
#define RAPPORT_SERVER_CONFIG_CONFIG_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/db_options.h"

namespace rapport::config {

enum class Command { kServe, kMigrate, kHelp, kVersion };

// One plugin's config section: plugins.config.<plugin name> in the YAML file.
struct PluginSection {
  std::map<std::string, std::string> values;  // flattened "a.b" -> "v"
  std::string yaml;                           // the section as YAML text
};

struct Config {
  Command command = Command::kServe;

  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9090";
  storage::DbOptions db;
  std::string plugin_dir;  // default: RAPPORT_DEFAULT_PLUGIN_DIR (the build's)
  std::vector<std::string> plugin_paths;
  std::vector<std::string> required_plugins;
  std::map<std::string, PluginSection> plugin_config;
  std::string config_file;
  std::string bootstrap_admin_key;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  bool insecure = false;

  // Threads serving gRPC calls; the database pool defaults to the same size
  // so that no call waits for a connection while holding a thread.
  int threads = 16;
  bool migrate_on_start = true;
  absl::Duration shutdown_grace = absl::Seconds(20);
  std::string log_level = "info";
  std::string default_phone_region = "US";
  int max_message_bytes = 16 << 20;
  // Connections are closed after this age so that clients re-resolve and
  // spread over new replicas (0: never).
  absl::Duration max_connection_age = absl::Minutes(30);
  // How long a replica's claim on an event subscription lasts; after a crash
  // another replica takes the subscription over once it expires.
  absl::Duration outbox_lease = absl::Seconds(30);
  // Delivery attempts before an event is parked, and the first retry's
  // backoff (doubling per attempt).
  int outbox_max_attempts = 8;
  absl::Duration outbox_initial_backoff = absl::Milliseconds(500);
};

// Parses argv (without argv[0]) and `env` (a lookup returning nullptr when
// unset) and, when named by --config or RAPPORT_CONFIG, the YAML file.
// Returns INVALID_ARGUMENT naming the flag, variable or YAML key on any bad
// value, unknown flag or unknown key; NOT_FOUND when the config file does not
// exist.
using EnvLookup = std::function<const char*(const char*)>;
absl::StatusOr<Config> Load(const std::vector<std::string>& args,
                            const EnvLookup& env);

// `rapportd --help`: every option with its flag, variable, YAML key,
// default and meaning.
std::string HelpText();

}  // namespace rapport::config

#endif  // RAPPORT_SERVER_CONFIG_CONFIG_H_
