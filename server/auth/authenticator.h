// Authentication, rate limiting and authorization of every call, in one
// place: a grpc::AuthMetadataProcessor, which gRPC runs for each call before
// any handler, core or plugin, sees it, and whose error status is what the
// client gets. (gRPC 1.51's server interceptors cannot refuse a call, so an
// interceptor is not the place.)
//
// Per call: health checks pass; otherwise the caller is the API key of
// "authorization: Bearer <key>", or else a verified client certificate
// mapped to a role (auth.client_cert_roles). No credentials, an unknown,
// revoked or expired key → UNAUTHENTICATED; over the per-key rate →
// RESOURCE_EXHAUSTED with the wait; a role without the method's permission
// → PERMISSION_DENIED. Refused calls to mutating methods are audited.
//
// Process runs on gRPC's transport threads (IsBlocking() is false: no
// thread hop per call), so it only reads memory: keys come from KeyStore's
// in-memory copy.
//
// Thread-safety: Process and PrincipalOf may be called from any thread.
#ifndef RAPPORT_SERVER_AUTH_AUTHENTICATOR_H_
#define RAPPORT_SERVER_AUTH_AUTHENTICATOR_H_

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/server_context.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/auth/permissions.h"
#include "server/auth/rate_limiter.h"

namespace rapport::audit {
class AuditLog;
}  // namespace rapport::audit

namespace rapport::auth {

class KeyStore;

// Parses auth.client_cert_roles entries "identity=ROLE". INVALID_ARGUMENT
// naming the entry when malformed or the role does not exist.
absl::StatusOr<std::map<std::string, std::string>> ParseClientCertRoles(
    const std::vector<std::string>& entries, const Permissions& permissions);

class Authenticator final : public grpc::AuthMetadataProcessor {
 public:
  struct Options {
    std::map<std::string, std::string> client_cert_roles;  // identity -> role
    double rate_per_key = 0;  // requests/s; 0 = unlimited
    double rate_burst = 1;
  };

  // All pointers must outlive this object; `audit` may be null.
  Authenticator(const Permissions* permissions, const KeyStore* keys,
                audit::AuditLog* audit, Options options);

  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The caller of a call that Process admitted (for handlers and the audit
  // log), resolved again from the call's metadata and connection. nullopt
  // for public methods called without credentials.
  std::optional<Principal> PrincipalOf(
      const grpc::ServerContextBase& context) const;

  const Permissions& permissions() const { return *permissions_; }

 private:
  // The caller, or UNAUTHENTICATED / UNAVAILABLE (keys not loaded yet).
  absl::StatusOr<Principal> Authenticate(
      std::optional<absl::string_view> authorization,
      const grpc::AuthContext* context) const;

  const Permissions* const permissions_;
  const KeyStore* const keys_;
  audit::AuditLog* const audit_;
  const Options options_;
  RateLimiter limiter_;
};

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_AUTHENTICATOR_H_
