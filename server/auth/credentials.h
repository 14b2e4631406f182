// The gRPC port's transport credentials, built from the TLS settings of
// config::Config, and the client identities a verified client certificate
// carries.
//
// TLS certificates are re-read from their files every tls_reload_interval,
// so rotated files (cert-manager, a Kubernetes secret) take effect for new
// connections without a restart. Established connections keep the
// certificate they were made with.
//
// Thread-safety: both functions are pure functions of their inputs and may be
// called from any thread. The returned credentials are not thread-safe until
// the server is built (ServerCredentials::SetAuthMetadataProcessor is
// documented as such).
#ifndef RAPPORT_SERVER_AUTH_CREDENTIALS_H_
#define RAPPORT_SERVER_AUTH_CREDENTIALS_H_

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/config.h"

namespace rapport::auth {

// The credentials for the gRPC listening port:
//   - tls_cert and tls_key set: TLS. With tls_client_ca, clients are asked
//     for a certificate signed by that CA: tls_client_auth "require" rejects
//     a connection without one, "optional" accepts it (the API key alone
//     then authenticates). A presented certificate the CA did not sign is
//     always rejected. `insecure` is ignored.
//   - neither set and `insecure`: plaintext.
// Every variant accepts SetAuthMetadataProcessor.
//
// The files are read and checked here (PEM, key matching the certificate)
// because gRPC's file watcher only logs a bad file and then fails every
// handshake. Returns INVALID_ARGUMENT naming the setting's environment
// variable (RAPPORT_TLS_CERT, RAPPORT_TLS_KEY, RAPPORT_TLS_CLIENT_CA,
// RAPPORT_TLS_CLIENT_AUTH, RAPPORT_INSECURE) and the path on any bad or
// missing setting or file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::Config& config);

// The identities of the client certificate a TLS connection verified: its
// URI subject alternative names, then its DNS ones, then its subject common
// name, without duplicates. Empty when the connection is not TLS or the
// client presented no certificate. The certificate counts as verified because
// MakeServerCredentials never accepts a client certificate its CA did not
// sign; do not use this with credentials that request certificates without
// verifying them.
std::vector<std::string> ClientCertificateIdentities(
    const grpc::AuthContext& context);

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_CREDENTIALS_H_
