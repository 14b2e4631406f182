// rapportctl's config file: named contexts, like kubeconfig.
//
//   current-context: prod
//   contexts:
//     - name: local
//       addr: 127.0.0.1:50051
//       insecure: true
//     - name: prod
//       addr: dns:///rapport.crm.svc.cluster.local:50051
//       tls: true
//       tls-ca: /etc/rapport/ca.pem
//       api-key: rk_live_...
//
// Path: $RAPPORTCTL_CONFIG, else $XDG_CONFIG_HOME/rapport/config.yaml, else
// ~/.config/rapport/config.yaml.
#ifndef RAPPORT_CLIENTS_CLI_CONFIG_H_
#define RAPPORT_CLIENTS_CLI_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rapport::cli {

struct ContextConfig {
  std::string name;
  std::string addr;
  std::string api_key;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool tls = false;
  bool insecure = false;
};

struct ConfigFile {
  std::string current_context;
  std::vector<ContextConfig> contexts;

  // The context called `name`, or nullptr. Owned by this object.
  const ContextConfig* Find(const std::string& name) const;
  ContextConfig* Find(const std::string& name);
};

// Where the config file is (it need not exist).
std::string ConfigPath();

// The file's contents; an empty ConfigFile if it does not exist.
// INVALID_ARGUMENT if it is not valid YAML of the shape above.
absl::StatusOr<ConfigFile> LoadConfig(const std::string& path);

// Writes `config` to `path` (mode 0600; creates the directory).
absl::Status SaveConfig(const std::string& path, const ConfigFile& config);

}  // namespace rapport::cli

#endif  // RAPPORT_CLIENTS_CLI_CONFIG_H_
