#include "server/auth/authenticator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/audit/audit_log.h"
#include "server/auth/api_key.h"
#include "server/auth/credentials.h"
#include "server/auth/key_store.h"
#include "server/common/grpc_status.h"
#include "server/common/time_util.h"

namespace rapport::auth {
namespace {

constexpr char kAuthorization[] = "authorization";
constexpr char kRequestId[] = "x-request-id";

std::optional<absl::string_view> Find(
    const grpc::AuthMetadataProcessor::InputMetadata& md, const char* key) {
  auto it = md.find(key);
  if (it == md.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

std::string CodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseClientCertRoles(
    const std::vector<std::string>& entries, const Permissions& permissions) {
  std::map<std::string, std::string> out;
  for (const std::string& entry : entries) {
    const size_t eq = entry.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "client-cert-roles: \"", entry, "\" is not identity=ROLE"));
    }
    std::string role = entry.substr(eq + 1);
    if (!permissions.RoleExists(role)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "client-cert-roles: \"", role, "\" in \"", entry,
          "\" is not a role (ADMIN, AGENT, READER or a plugin's role)"));
    }
    out[entry.substr(0, eq)] = std::move(role);
  }
  return out;
}

Authenticator::Authenticator(const Permissions* permissions,
                             const KeyStore* keys, audit::AuditLog* audit,
                             Options options)
    : permissions_(permissions),
      keys_(keys),
      audit_(audit),
      options_(std::move(options)),
      limiter_(options_.rate_per_key, options_.rate_burst) {}

absl::StatusOr<Principal> Authenticator::Authenticate(
    std::optional<absl::string_view> authorization,
    const grpc::AuthContext* context) const {
  if (authorization.has_value()) {
    absl::string_view token = BearerToken(*authorization);
    if (token.empty()) {
      return absl::UnauthenticatedError(
          "the authorization metadata must be \"Bearer <API key>\"");
    }
    KeyStore::Resolved key = keys_->Resolve(token, absl::Now());
    switch (key.state) {
      case KeyStore::State::kActive:
        return Principal{absl::StrCat("apiKeys/", key.key_id), key.role};
      case KeyStore::State::kNotLoaded:
        return absl::UnavailableError(
            "API keys are not loaded yet: database migrations are not "
            "applied or the database is unreachable; retry shortly");
      case KeyStore::State::kRevoked:
        return absl::UnauthenticatedError(
            absl::StrCat("API key apiKeys/", key.key_id, " was revoked at ",
                         ToRfc3339(key.when)));
      case KeyStore::State::kExpired:
        return absl::UnauthenticatedError(
            absl::StrCat("API key apiKeys/", key.key_id, " expired at ",
                         ToRfc3339(key.when)));
      case KeyStore::State::kUnknown:
        break;
    }
    return absl::UnauthenticatedError(
        "unknown API key (a key created on another replica is accepted "
        "here within auth.key_refresh)");
  }
  if (context != nullptr && !options_.client_cert_roles.empty()) {
    for (const std::string& identity : ClientCertificateIdentities(*context)) {
      auto it = options_.client_cert_roles.find(identity);
      if (it != options_.client_cert_roles.end()) {
        return Principal{absl::StrCat("clientCertificates/", identity),
                         it->second};
      }
    }
  }
  return absl::UnauthenticatedError(
      "no credentials: send the metadata \"authorization: Bearer <API "
      "key>\" (or a client certificate mapped to a role)");
}

grpc::Status Authenticator::Process(const InputMetadata& auth_metadata,
                                    grpc::AuthContext* context,
                                    OutputMetadata* /*consumed*/,
                                    OutputMetadata* /*response*/) {
  const std::optional<absl::string_view> path = Find(auth_metadata, ":path");
  const std::string method(path.value_or(""));
  const MethodRule* rule = permissions_->Find(method);
  if (rule != nullptr && rule->permission.empty()) return grpc::Status::OK;

  absl::Status refused;
  Principal principal;
  absl::StatusOr<Principal> who =
      Authenticate(Find(auth_metadata, kAuthorization), context);
  if (!who.ok()) {
    refused = who.status();
  } else {
    principal = *std::move(who);
    const absl::Duration wait = limiter_.Acquire(principal.name, absl::Now());
    if (wait > absl::ZeroDuration()) {
      refused = absl::ResourceExhaustedError(absl::StrFormat(
          "rate limit of %.0f requests/s for %s exceeded; retry after %d ms",
          options_.rate_per_key, principal.name,
          absl::ToInt64Milliseconds(wait)));
    } else {
      refused = permissions_->Authorize(principal, method);
    }
  }
  if (refused.ok()) return grpc::Status::OK;

  // A refused attempt to change something is part of the audit trail.
  if (audit_ != nullptr && (rule == nullptr || rule->mutating)) {
    audit::AuditRecord record;
    record.time = absl::Now();
    record.principal = principal.name.empty() ? "anonymous" : principal.name;
    record.role = principal.role;
    record.method = method;
    record.code = CodeName(refused.code());
    if (auto id = Find(auth_metadata, kRequestId)) {
      record.request_id = std::string(*id);
    }
    audit_->Record(std::move(record));
  }
  return ToGrpcStatus(refused);
}

std::optional<Principal> Authenticator::PrincipalOf(
    const grpc::ServerContextBase& context) const {
  const auto& md = context.client_metadata();
  std::optional<absl::string_view> authorization;
  auto it = md.find(kAuthorization);
  if (it != md.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  absl::StatusOr<Principal> who = Authenticate(authorization, auth.get());
  if (!who.ok()) return std::nullopt;
  return *std::move(who);
}

}  // namespace rapport::auth
