#include "server/config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/status_macros.h"

namespace rapport::config {
namespace {

using Setter = std::function<absl::Status(Config&, const std::string&)>;

// One setting. `flag` is written --flag, `yaml` is a dotted path in the file.
struct Option {
  const char* flag;
  const char* env;
  const char* yaml;
  const char* default_text;
  const char* help;
  Setter set;
};

Setter String(std::string Config::*field) {
  return [field](Config& c, const std::string& v) {
    c.*field = v;
    return absl::OkStatus();
  };
}

Setter DbString(std::string storage::DbOptions::*field) {
  return [field](Config& c, const std::string& v) {
    c.db.*field = v;
    return absl::OkStatus();
  };
}

absl::StatusOr<int> ParseInt(const std::string& v, int min, int max) {
  int n;
  if (!absl::SimpleAtoi(v, &n) || n < min || n > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\" is not a whole number from %d to %d", v, min, max));
  }
  return n;
}

absl::StatusOr<bool> ParseBool(const std::string& v) {
  const std::string s = absl::AsciiStrToLower(v);
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty()) {
    return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", v, "\" is not a boolean (true/false, 1/0)"));
}

absl::StatusOr<absl::Duration> ParseDurationValue(const std::string& v) {
  absl::Duration d;
  if (!absl::ParseDuration(v, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", v, "\" is not a duration such as 20s, 5m or 1h"));
  }
  return d;
}

// A comma-separated list ("a.so,b.so"); empty entries are dropped.
Setter List(std::vector<std::string> Config::*field) {
  return [field](Config& c, const std::string& v) {
    (c.*field).clear();
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      (c.*field).emplace_back(absl::StripAsciiWhitespace(part));
    }
    return absl::OkStatus();
  };
}

Setter Int(int Config::*field, int min, int max) {
  return [=](Config& c, const std::string& v) -> absl::Status {
    RAPPORT_ASSIGN_OR_RETURN(c.*field, ParseInt(v, min, max));
    return absl::OkStatus();
  };
}

Setter Bool(bool Config::*field) {
  return [=](Config& c, const std::string& v) -> absl::Status {
    RAPPORT_ASSIGN_OR_RETURN(c.*field, ParseBool(v));
    return absl::OkStatus();
  };
}

Setter Duration(absl::Duration Config::*field) {
  return [=](Config& c, const std::string& v) -> absl::Status {
    RAPPORT_ASSIGN_OR_RETURN(c.*field, ParseDurationValue(v));
    return absl::OkStatus();
  };
}

const std::vector<Option>& Options() {
  static const auto* options = new std::vector<Option>{
      {"listen", "RAPPORT_LISTEN", "listen", "0.0.0.0:50051",
       "gRPC listen address (host:port; port 0 picks a free port).",
       String(&Config::listen)},
      {"metrics-listen", "RAPPORT_METRICS_LISTEN", "metrics_listen",
       "0.0.0.0:9090",
       "Prometheus /metrics (and /healthz, /readyz) HTTP address; port 0 "
       "picks a free port, empty disables.",
       String(&Config::metrics_listen)},
      {"db-host", "RAPPORT_DB_HOST", "db.host", "127.0.0.1", "Database host.",
       DbString(&storage::DbOptions::host)},
      {"db-port", "RAPPORT_DB_PORT", "db.port", "3306", "Database port.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.db.port, ParseInt(v, 1, 65535));
         return absl::OkStatus();
       }},
      {"db-socket", "RAPPORT_DB_SOCKET", "db.socket", "(none)",
       "Unix socket of a local database; used instead of host and port.",
       DbString(&storage::DbOptions::socket)},
      {"db-user", "RAPPORT_DB_USER", "db.user", "rapport", "Database user.",
       DbString(&storage::DbOptions::user)},
      {"db-password", "RAPPORT_DB_PASSWORD", "db.password", "(none)",
       "Database password (prefer the environment or a file readable only "
       "by rapportd).",
       DbString(&storage::DbOptions::password)},
      {"db-name", "RAPPORT_DB_NAME", "db.name", "rapport",
       "Database (schema) name; it must exist.",
       DbString(&storage::DbOptions::database)},
      {"db-pool-size", "RAPPORT_DB_POOL_SIZE", "db.pool_size", "= --threads",
       "Database connections in the pool.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.db.pool_size, ParseInt(v, 1, 1000));
         return absl::OkStatus();
       }},
      {"db-connect-timeout", "RAPPORT_DB_CONNECT_TIMEOUT", "db.connect_timeout",
       "3s", "How long opening a database connection may take.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.db.connect_timeout, ParseDurationValue(v));
         return absl::OkStatus();
       }},
      {"db-io-timeout", "RAPPORT_DB_IO_TIMEOUT", "db.io_timeout", "30s",
       "How long one database read or write may wait.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.db.io_timeout, ParseDurationValue(v));
         return absl::OkStatus();
       }},
      {"plugin-dir", "RAPPORT_PLUGIN_DIR", "plugins.dir",
       "(the build's plugin folder)",
       "Folder of plugin shared libraries: every *.so in it is loaded.",
       String(&Config::plugin_dir)},
      {"plugin-paths", "RAPPORT_PLUGIN_PATHS", "plugins.paths", "(none)",
       "More plugin libraries, comma-separated (YAML: a list).",
       List(&Config::plugin_paths)},
      {"required-plugins", "RAPPORT_REQUIRED_PLUGINS", "plugins.required",
       "(none)",
       "Plugin names that must load, comma-separated (YAML: a list); "
       "rapportd refuses to start otherwise.",
       List(&Config::required_plugins)},
      {"config", "RAPPORT_CONFIG", "", "(none)", "YAML configuration file.",
       String(&Config::config_file)},
      {"bootstrap-admin-key", "RAPPORT_BOOTSTRAP_ADMIN_KEY",
       "bootstrap_admin_key", "(none)",
       "ADMIN API key (at least 32 characters) stored, hashed, on start "
       "unless already there; revoking it through the API sticks. Use it to "
       "create real keys, then remove it.",
       String(&Config::bootstrap_admin_key)},
      {"bootstrap-admin-key-file", "RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE",
       "bootstrap_admin_key_file", "(none)",
       "File holding the bootstrap admin key (a mounted secret).",
       String(&Config::bootstrap_admin_key_file)},
      {"tls-cert", "RAPPORT_TLS_CERT", "tls.cert", "(none)",
       "PEM certificate chain for the gRPC port (re-read on change).",
       String(&Config::tls_cert)},
      {"tls-key", "RAPPORT_TLS_KEY", "tls.key", "(none)",
       "PEM private key for the gRPC port (re-read on change).",
       String(&Config::tls_key)},
      {"tls-client-ca", "RAPPORT_TLS_CLIENT_CA", "tls.client_ca", "(none)",
       "PEM CA bundle for client certificates (mTLS); see tls-client-auth.",
       String(&Config::tls_client_ca)},
      {"tls-client-auth", "RAPPORT_TLS_CLIENT_AUTH", "tls.client_auth",
       "require",
       "With tls-client-ca: \"require\" (every client presents a certificate "
       "the CA signed) or \"optional\" (verified when presented, else the "
       "API key alone).",
       [](Config& c, const std::string& v) -> absl::Status {
         if (v != "require" && v != "optional") {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is not require or optional"));
         }
         c.tls_client_auth = v;
         return absl::OkStatus();
       }},
      {"tls-reload-interval", "RAPPORT_TLS_RELOAD_INTERVAL",
       "tls.reload_interval", "60s",
       "How often the TLS files are checked for rotation.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.tls_reload_interval, ParseDurationValue(v));
         if (c.tls_reload_interval < absl::Seconds(1)) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is shorter than 1s"));
         }
         return absl::OkStatus();
       }},
      {"insecure", "RAPPORT_INSECURE", "insecure", "false",
       "Serve plaintext gRPC (API keys still required). Only honoured when "
       "no TLS certificate is set; for local development.",
       Bool(&Config::insecure)},
      {"client-cert-roles", "RAPPORT_CLIENT_CERT_ROLES",
       "auth.client_cert_roles", "(none)",
       "identity=ROLE pairs, comma-separated (YAML: a list): a verified "
       "client certificate whose URI/DNS subject alternative name or common "
       "name is identity acts as ROLE without an API key.",
       List(&Config::client_cert_roles)},
      {"key-refresh", "RAPPORT_KEY_REFRESH", "auth.key_refresh", "2s",
       "How often API keys are reloaded from the database: keys created on "
       "another replica, and revocations, take effect within this.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.key_refresh, ParseDurationValue(v));
         if (c.key_refresh < absl::Milliseconds(100)) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is shorter than 100ms"));
         }
         return absl::OkStatus();
       }},
      {"rate-per-key", "RAPPORT_RATE_PER_KEY", "limits.rate_per_key", "1000",
       "Requests per second each API key may make to one replica (0 = no "
       "limit); beyond it calls fail with RESOURCE_EXHAUSTED.",
       Int(&Config::rate_per_key, 0, 10000000)},
      {"rate-burst", "RAPPORT_RATE_BURST", "limits.rate_burst", "2000",
       "Requests a key may make at once above its rate.",
       Int(&Config::rate_burst, 1, 10000000)},
      {"max-deadline", "RAPPORT_MAX_DEADLINE", "limits.max_deadline", "5m",
       "Calls still running after this are cancelled, whatever deadline the "
       "client set.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.max_deadline, ParseDurationValue(v));
         if (c.max_deadline < absl::Seconds(1)) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is shorter than 1s"));
         }
         return absl::OkStatus();
       }},
      {"max-concurrent-streams", "RAPPORT_MAX_CONCURRENT_STREAMS",
       "limits.max_concurrent_streams", "100",
       "Concurrent calls per client connection.",
       Int(&Config::max_concurrent_streams, 1, 100000)},
      {"threads", "RAPPORT_THREADS", "threads", "16",
       "Concurrent database-backed calls (the pool defaults to this size); "
       "up to twice as many calls are admitted and wait for a connection, "
       "beyond that calls fail fast with RESOURCE_EXHAUSTED (retry).",
       Int(&Config::threads, 2, 1024)},
      {"migrate-on-start", "RAPPORT_MIGRATE_ON_START", "migrate_on_start",
       "true",
       "Apply database migrations when serving starts (set false when a "
       "Kubernetes Job runs `rapportd migrate`).",
       Bool(&Config::migrate_on_start)},
      {"shutdown-grace", "RAPPORT_SHUTDOWN_GRACE", "shutdown_grace", "20s",
       "On SIGTERM, how long in-flight calls may run before they are "
       "cancelled.",
       Duration(&Config::shutdown_grace)},
      {"max-connection-age", "RAPPORT_MAX_CONNECTION_AGE", "max_connection_age",
       "30m",
       "Close client connections after this age so load rebalances over "
       "replicas (0 = never).",
       Duration(&Config::max_connection_age)},
      {"outbox-lease", "RAPPORT_OUTBOX_LEASE", "outbox.lease", "30s",
       "How long a replica holds an event subscription; after a crash "
       "another replica resumes delivery once the lease expires.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.outbox_lease, ParseDurationValue(v));
         if (c.outbox_lease < absl::Seconds(1)) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is shorter than 1s"));
         }
         return absl::OkStatus();
       }},
      {"outbox-max-attempts", "RAPPORT_OUTBOX_MAX_ATTEMPTS",
       "outbox.max_attempts", "8",
       "Delivery attempts of an event to a plugin before it is parked.",
       Int(&Config::outbox_max_attempts, 1, 1000)},
      {"outbox-initial-backoff", "RAPPORT_OUTBOX_INITIAL_BACKOFF",
       "outbox.initial_backoff", "500ms",
       "Wait before the first retry of a failed delivery; doubles per "
       "attempt.",
       [](Config& c, const std::string& v) -> absl::Status {
         RAPPORT_ASSIGN_OR_RETURN(c.outbox_initial_backoff,
                                  ParseDurationValue(v));
         if (c.outbox_initial_backoff < absl::Milliseconds(1)) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is shorter than 1ms"));
         }
         return absl::OkStatus();
       }},
      {"max-message-bytes", "RAPPORT_MAX_MESSAGE_BYTES", "max_message_bytes",
       "16777216", "Largest request or response message.",
       Int(&Config::max_message_bytes, 1024, 256 << 20)},
      {"log-level", "RAPPORT_LOG_LEVEL", "log_level", "info",
       "debug, info, warning or error.",
       [](Config& c, const std::string& v) -> absl::Status {
         if (v != "debug" && v != "info" && v != "warning" && v != "error") {
           return absl::InvalidArgumentError(absl::StrCat(
               "\"", v, "\" is not one of debug, info, warning, error"));
         }
         c.log_level = v;
         return absl::OkStatus();
       }},
      {"default-phone-region", "RAPPORT_DEFAULT_PHONE_REGION",
       "default_phone_region", "US",
       "Region (ISO 3166 code) for phone numbers written without +country.",
       [](Config& c, const std::string& v) -> absl::Status {
         if (v.size() != 2 || !absl::ascii_isupper(v[0]) ||
             !absl::ascii_isupper(v[1])) {
           return absl::InvalidArgumentError(absl::StrCat(
               "\"", v, "\" is not a two-letter region code such as US"));
         }
         c.default_phone_region = v;
         return absl::OkStatus();
       }},
  };
  return *options;
}

const Option* FindByFlag(absl::string_view flag) {
  for (const Option& o : Options()) {
    if (flag == o.flag) return &o;
  }
  return nullptr;
}

// Flattens a YAML mapping into dotted keys ("db.host") with scalar values.
absl::Status Flatten(const YAML::Node& node, const std::string& prefix,
                     std::map<std::string, std::string>* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      RAPPORT_RETURN_IF_ERROR(
          Flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out));
    }
    return absl::OkStatus();
  }
  if (node.IsScalar()) {
    (*out)[prefix] = node.as<std::string>();
    return absl::OkStatus();
  }
  if (node.IsNull()) {
    (*out)[prefix] = "";
    return absl::OkStatus();
  }
  if (node.IsSequence()) {
    // A list of scalars becomes the comma-separated form the environment
    // variable and the flag take (list-valued options split it again).
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar() ||
          item.as<std::string>().find(',') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("config file: \"", prefix,
                         "\" must be a list of single values without commas"));
      }
      absl::StrAppend(&joined, joined.empty() ? "" : ",",
                      item.as<std::string>());
    }
    (*out)[prefix] = joined;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("config file: \"", prefix, "\" must be a single value"));
}

absl::Status ApplyFile(const std::string& path, Config& config) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("config file \"", path, "\" does not exist"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file \"", path, "\": ", e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file \"", path, "\" must be a YAML mapping"));
  }
  std::map<std::string, std::string> values;
  try {
    if (YAML::Node plugins = root["plugins"]; plugins && plugins.IsMap()) {
      // Lists and per-plugin sections do not flatten to one value each.
      for (const char* key : {"paths", "required"}) {
        YAML::Node list = plugins[key];
        if (!list) continue;
        if (!list.IsSequence()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "config file \"", path, "\": plugins.", key, " must be a list"));
        }
        std::vector<std::string> items;
        for (const auto& item : list) items.push_back(item.as<std::string>());
        (std::string(key) == "paths" ? config.plugin_paths
                                     : config.required_plugins) = items;
        plugins.remove(key);
      }
      if (YAML::Node sections = plugins["config"]; sections) {
        if (!sections.IsMap()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "config file \"", path,
              "\": plugins.config must map plugin names to sections"));
        }
        for (const auto& kv : sections) {
          PluginSection section;
          section.yaml = YAML::Dump(kv.second);
          if (kv.second.IsMap()) {
            RAPPORT_RETURN_IF_ERROR(Flatten(kv.second, "", &section.values));
          }
          config.plugin_config[kv.first.as<std::string>()] = std::move(section);
        }
        plugins.remove("config");
      }
    }
    RAPPORT_RETURN_IF_ERROR(Flatten(root, "", &values));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file \"", path, "\": ", e.what()));
  }
  for (const auto& [key, value] : values) {
    const Option* option = nullptr;
    for (const Option& o : Options()) {
      if (key == o.yaml) option = &o;
    }
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file \"", path, "\": unknown key \"", key,
                       "\" (see rapportd --help for the keys)"));
    }
    absl::Status s = option->set(config, value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file \"", path, "\": ", key, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> Load(const std::vector<std::string>& args,
                            const EnvLookup& env) {
  Config config;
  // Flags first into a list, so the file (named by a flag) can be applied
  // before them.
  std::vector<std::pair<const Option*, std::string>> flags;
  bool command_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "help") {
      config.command = Command::kHelp;
      return config;
    }
    if (arg == "--version" || arg == "version") {
      config.command = Command::kVersion;
      return config;
    }
    if (!absl::StartsWith(arg, "--")) {
      if (command_seen) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", arg, "\""));
      }
      command_seen = true;
      if (arg == "serve") {
        config.command = Command::kServe;
      } else if (arg == "migrate") {
        config.command = Command::kMigrate;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown command \"", arg, "\"; commands: serve, migrate"));
      }
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    const Option* option = FindByFlag(name);
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see rapportd --help)"));
    }
    if (!has_value) {
      if (name == "insecure" || name == "migrate-on-start") {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    }
    flags.emplace_back(option, value);
  }

  std::string file;
  if (const char* v = env("RAPPORT_CONFIG")) file = v;
  for (const auto& [option, value] : flags) {
    if (std::string(option->flag) == "config") file = value;
  }
  if (!file.empty()) {
    RAPPORT_RETURN_IF_ERROR(ApplyFile(file, config));
    config.config_file = file;
  }
  for (const Option& o : Options()) {
    const char* v = env(o.env);
    if (v == nullptr) continue;
    absl::Status s = o.set(config, v);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment ", o.env, ": ", s.message()));
    }
  }
  for (const auto& [option, value] : flags) {
    absl::Status s = option->set(config, value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", option->flag, ": ", s.message()));
    }
  }
  if (config.db.pool_size == 0) config.db.pool_size = config.threads;
#ifdef RAPPORT_DEFAULT_PLUGIN_DIR
  if (config.plugin_dir.empty() && env("RAPPORT_PLUGIN_DIR") == nullptr) {
    config.plugin_dir = RAPPORT_DEFAULT_PLUGIN_DIR;
  }
#endif
  return config;
}

std::string HelpText() {
  std::string text =
      "rapportd: the Rapport CRM gRPC server.\n\n"
      "Usage:\n"
      "  rapportd [serve] [flags]   apply migrations (unless "
      "--migrate-on-start=false) and serve\n"
      "  rapportd migrate [flags]   apply database migrations and exit\n"
      "  rapportd --help | --version\n\n"
      "Every setting comes from a flag, an environment variable or a key of "
      "the YAML\nconfig file; flags override the environment, which "
      "overrides the file.\n\nSettings:\n";
  for (const Option& o : Options()) {
    absl::StrAppendFormat(
        &text, "  --%s\n      env %s%s%s, default %s\n      %s\n", o.flag,
        o.env, *o.yaml ? ", yaml " : "", o.yaml, o.default_text, o.help);
  }
  absl::StrAppend(
      &text,
      "\nTLS: with --tls-cert and --tls-key the gRPC port speaks TLS only. "
      "Without them\nrapportd refuses to start unless --insecure is given "
      "(plaintext, for local use).\n"
      "\nExit codes: 0 clean exit, 1 runtime failure, 2 bad configuration.\n");
  return text;
}

}  // namespace rapport::config
