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
  // An ADMIN key inserted into the database on start (unless already
  // there, or revoked): how the first real keys get created.
  std::string bootstrap_admin_key;
  std::string bootstrap_admin_key_file;  // the same, read from a file
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // With tls_client_ca: "require" (every client presents a certificate the
  // CA signed) or "optional" (verified when presented; API keys otherwise).
  std::string tls_client_auth = "require";
  // How often the certificate, key and CA files are re-read (rotation).
  absl::Duration tls_reload_interval = absl::Seconds(60);
  bool insecure = false;
  // "identity=ROLE" entries: a verified client certificate whose URI/DNS
  // subject alternative name or common name is `identity` acts as `ROLE`.
  std::vector<std::string> client_cert_roles;
  // How often each replica reloads API keys (creation elsewhere and
  // revocation take effect within this).
  absl::Duration key_refresh = absl::Seconds(2);

  // Limits. Requests per second per API key and replica (0 = no limit), and
  // the bucket's burst.
  int rate_per_key = 1000;
  int rate_burst = 2000;
  // Calls still running after this are cancelled, whatever deadline the
  // client asked for.
  absl::Duration max_deadline = absl::Minutes(5);
  // Concurrent calls (HTTP/2 streams) per client connection.
  int max_concurrent_streams = 100;

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
