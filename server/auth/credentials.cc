#include "server/auth/credentials.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rapport::auth {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// One configured file: the environment variable that names it (what the
// operator recognises in an error) and its path.
struct TlsFile {
  absl::string_view env;
  const std::string& path;
};

absl::Status FileError(const TlsFile& file, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(file.env, ": \"", file.path, "\" ", problem));
}

// OpenSSL's most recent error as text, and clears the queue so that it does
// not leak into unrelated OpenSSL calls on this thread (gRPC's own).
std::string TakeOpenSslError() {
  char buffer[256] = "unknown error";
  unsigned long code = ERR_peek_last_error();
  if (code != 0) ERR_error_string_n(code, buffer, sizeof(buffer));
  ERR_clear_error();
  return buffer;
}

absl::StatusOr<std::string> ReadFile(const TlsFile& file) {
  std::FILE* f = std::fopen(file.path.c_str(), "rb");
  if (f == nullptr) {
    return FileError(file,
                     absl::StrCat("cannot be read: ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[8192];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    contents.append(buffer, n);
  }
  // fopen succeeds on a directory; the read is what fails.
  bool failed = std::ferror(f) != 0;
  int read_errno = errno;
  std::fclose(f);
  if (failed) {
    return FileError(
        file, absl::StrCat("cannot be read: ", std::strerror(read_errno)));
  }
  return contents;
}

// Never prompt on the terminal for an encrypted key's passphrase: gRPC cannot
// use an encrypted key anyway, so refusing it is the useful answer.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Every certificate in the PEM file, in order; INVALID_ARGUMENT when there is
// none or a block after the first is damaged (a half-written chain would
// otherwise be served without its intermediates).
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(const TlsFile& file) {
  auto pem = ReadFile(file);
  if (!pem.ok()) return pem.status();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf");
  ERR_clear_error();
  std::vector<X509Ptr> certs;
  while (X509* cert =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop always ends on an error; "no start line" is the clean end of
  // input, anything else is a damaged block.
  unsigned long code = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(code) == ERR_LIB_PEM &&
                   ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
  std::string error = TakeOpenSslError();
  if (certs.empty()) {
    return FileError(file, "holds no PEM certificate (" + error + ")");
  }
  if (!clean_end) {
    return FileError(
        file, absl::StrCat("has a damaged PEM block after ", certs.size(),
                           " certificate(s) (", error, ")"));
  }
  return certs;
}

absl::StatusOr<EvpPkeyPtr> ReadPrivateKey(const TlsFile& file) {
  auto pem = ReadFile(file);
  if (!pem.ok()) return pem.status();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf");
  ERR_clear_error();
  EvpPkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return FileError(file, "holds no unencrypted PEM private key (" +
                               TakeOpenSslError() + ")");
  }
  return key;
}

// Checks what gRPC's file watcher would otherwise only discover at the first
// handshake: every file parses and the key belongs to the certificate.
absl::Status CheckTlsFiles(const config::Config& config) {
  const TlsFile cert_file{"RAPPORT_TLS_CERT", config.tls_cert};
  const TlsFile key_file{"RAPPORT_TLS_KEY", config.tls_key};
  auto chain = ReadCertificates(cert_file);
  if (!chain.ok()) return chain.status();
  auto key = ReadPrivateKey(key_file);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(chain->front().get(), key->get()) != 1) {
    TakeOpenSslError();
    return FileError(key_file,
                     absl::StrCat("does not match the certificate in \"",
                                  config.tls_cert, "\" (RAPPORT_TLS_CERT)"));
  }
  if (!config.tls_client_ca.empty()) {
    auto cas =
        ReadCertificates({"RAPPORT_TLS_CLIENT_CA", config.tls_client_ca});
    if (!cas.ok()) return cas.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both RAPPORT_TLS_CERT and RAPPORT_TLS_KEY");
  }
  if (config.tls_cert.empty()) {
    if (!config.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "RAPPORT_TLS_CLIENT_CA needs RAPPORT_TLS_CERT and RAPPORT_TLS_KEY");
    }
    if (!config.insecure) {
      return absl::InvalidArgumentError(
          "no TLS certificate is configured: set RAPPORT_TLS_CERT and "
          "RAPPORT_TLS_KEY, or RAPPORT_INSECURE=1 to serve plaintext (local "
          "development only)");
    }
    // Plaintext, but not grpc::InsecureServerCredentials(): that one ignores
    // SetAuthMetadataProcessor (gRPC 1.51), and API keys are checked by an
    // AuthMetadataProcessor. xDS credentials with an insecure fallback are a
    // real credential that takes a processor, and without any xDS
    // configuration (there is none here) they serve exactly the fallback.
    return grpc::XdsServerCredentials(grpc::InsecureServerCredentials());
  }

  grpc_ssl_client_certificate_request_type request =
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (!config.tls_client_ca.empty()) {
    if (config.tls_client_auth == "require") {
      request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    } else if (config.tls_client_auth == "optional") {
      // A presented certificate is still verified; a bad one fails the
      // handshake rather than falling back to API-key authentication.
      request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("RAPPORT_TLS_CLIENT_AUTH: \"", config.tls_client_auth,
                       "\" is not require or optional"));
    }
  }
  if (absl::Status files = CheckTlsFiles(config); !files.ok()) return files;

  // The watcher re-reads the files every interval and swaps in changed ones
  // for new handshakes, which is what makes rotation work without a restart.
  // It reads the key and the certificate as one unit only if they are
  // replaced atomically (a Kubernetes secret volume's symlink swap, or a
  // rename); it keeps serving the previous pair while a file is unreadable.
  int64_t seconds = absl::ToInt64Seconds(config.tls_reload_interval);
  auto interval = static_cast<unsigned int>(std::clamp<int64_t>(
      seconds, 1, std::numeric_limits<unsigned int>::max()));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          config.tls_key, config.tls_cert, config.tls_client_ca, interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca.empty()) options.watch_root_certs();
  options.set_cert_request_type(request);
  return grpc::experimental::TlsServerCredentials(options);
}

std::vector<std::string> ClientCertificateIdentities(
    const grpc::AuthContext& context) {
  std::vector<std::string> identities;
  // No client certificate, no peer identity (and no x509 properties).
  if (!context.IsPeerAuthenticated()) return identities;
  auto type =
      context.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (type.empty() || (type.front() != GRPC_SSL_TRANSPORT_SECURITY_TYPE &&
                       type.front() != GRPC_TLS_TRANSPORT_SECURITY_TYPE)) {
    return identities;
  }
  // The typed SAN properties rather than x509_subject_alternative_name, which
  // mixes in e-mail and IP address names.
  for (const char* property :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
        GRPC_X509_CN_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : context.FindPropertyValues(property)) {
      std::string identity(value.data(), value.size());
      if (identity.empty()) continue;
      if (std::find(identities.begin(), identities.end(), identity) ==
          identities.end()) {
        identities.push_back(std::move(identity));
      }
    }
  }
  return identities;
}

}  // namespace rapport::auth
