#include "cli/common.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "cli/config.h"

namespace rapport::cli {

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitPermission;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitOther;
  }
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC and Abseil share the canonical code numbers and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int ReportError(const grpc::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", CodeName(status.error_code()).c_str(),
               status.error_message().c_str());
  return ExitCodeFor(status.error_code());
}

int ReportError(const absl::Status& status) {
  return ReportError(grpc::Status(
      static_cast<grpc::StatusCode>(status.code()),
      std::string(status.message().data(), status.message().size())));
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "error: USAGE: %s\n", message.c_str());
  return kExitUsage;
}

absl::StatusOr<std::unique_ptr<client::Client>> Connect(
    const GlobalFlags& flags) {
  absl::StatusOr<ConfigFile> config = LoadConfig(ConfigPath());
  if (!config.ok()) return config.status();
  ContextConfig context;
  std::string name =
      flags.context.empty() ? config->current_context : flags.context;
  if (!name.empty()) {
    const ContextConfig* found = config->Find(name);
    if (found == nullptr) {
      return absl::NotFoundError(
          absl::StrFormat("context \"%s\" is not in %s", name, ConfigPath()));
    }
    context = *found;
  }
  auto pick = [](const std::string& flag, const std::string& from_context,
                 const std::string& fallback) {
    if (!flag.empty()) return flag;
    if (!from_context.empty()) return from_context;
    return fallback;
  };
  client::ClientOptions options;
  options.address = pick(flags.addr, context.addr, "127.0.0.1:50051");
  options.api_key = pick(flags.api_key, context.api_key, "");
  options.ca_file = pick(flags.tls_ca, context.tls_ca, "");
  options.cert_file = pick(flags.tls_cert, context.tls_cert, "");
  options.key_file = pick(flags.tls_key, context.tls_key, "");
  bool insecure = flags.insecure || context.insecure;
  options.tls = !insecure && (context.tls || !options.ca_file.empty() ||
                              !options.cert_file.empty());
  options.default_deadline = std::chrono::milliseconds(
      static_cast<int64_t>(flags.timeout_seconds * 1000));
  return client::Client::Create(options);
}

std::string NewRequestId() {
  absl::BitGen gen;
  uint64_t a = absl::Uniform<uint64_t>(gen);
  uint64_t b = absl::Uniform<uint64_t>(gen);
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                         b & 0xffffffffffffULL);
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace rapport::cli
