// Shared pieces of rapportctl: exit codes, error printing, connection
// settings (flags > environment > config-file context > defaults).
#ifndef RAPPORT_CLIENTS_CLI_COMMON_H_
#define RAPPORT_CLIENTS_CLI_COMMON_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rapport/client/client.h"

namespace rapport::cli {

// Exit codes scripts can rely on. DO NOT CHANGE THESE VALUES: documented.
inline constexpr int kExitOk = 0;
inline constexpr int kExitOther = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitPermission = 4;
inline constexpr int kExitUnavailable = 5;

// The exit code for a failed call's code.
int ExitCodeFor(grpc::StatusCode code);

// "NOT_FOUND", "UNAVAILABLE", ...
std::string CodeName(grpc::StatusCode code);

// Prints "error: <CODE>: <message>" to stderr; returns the exit code.
int ReportError(const grpc::Status& status);
int ReportError(const absl::Status& status);
// A usage error: prints "error: USAGE: <message>", returns kExitUsage.
int UsageError(const std::string& message);

// Connection settings from the global flags; empty strings are "not given".
struct GlobalFlags {
  std::string addr;              // --addr / RAPPORT_ADDR
  std::string api_key;           // --api-key / RAPPORT_API_KEY
  std::string tls_ca;            // --tls-ca / RAPPORT_TLS_CA
  std::string tls_cert;          // --tls-cert / RAPPORT_TLS_CERT
  std::string tls_key;           // --tls-key / RAPPORT_TLS_KEY
  std::string context;           // --context
  bool insecure = false;         // --insecure
  std::string output = "table";  // -o
  double timeout_seconds = 30;   // --timeout (unary calls)
};

// The client for `flags`, resolving unset values from the config file's
// context. Returns the config file's error or Client::Create's.
absl::StatusOr<std::unique_ptr<client::Client>> Connect(
    const GlobalFlags& flags);

// A random idempotency key (UUID v4 form).
std::string NewRequestId();

// True when stderr is a terminal (progress bars); false: plain lines.
bool StderrIsTerminal();

}  // namespace rapport::cli

#endif  // RAPPORT_CLIENTS_CLI_COMMON_H_
