#include "server/auth/api_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rapport::auth {
namespace {

constexpr char kSecretScheme[] = "rpk_";

absl::Status RandomBytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) {
    return absl::InternalError("the system's random number generator failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NewSecret> GenerateSecret() {
  unsigned char id[8];
  unsigned char tail[32];
  if (absl::Status s = RandomBytes(id, sizeof id); !s.ok()) return s;
  if (absl::Status s = RandomBytes(tail, sizeof tail); !s.ok()) return s;
  NewSecret out;
  out.key_id = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(id), sizeof id));
  out.secret =
      absl::StrCat(kSecretScheme, out.key_id, "_",
                   absl::WebSafeBase64Escape(absl::string_view(
                       reinterpret_cast<const char*>(tail), sizeof tail)));
  out.hash = HashSecret(out.secret);
  return out;
}

std::string HashSecret(absl::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // EVP_Digest with SHA-256 cannot fail for in-memory input short of memory
  // exhaustion; an empty digest then matches no stored hash.
  if (EVP_Digest(secret.data(), secret.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string SecretPrefix(absl::string_view secret) {
  return std::string(secret.substr(0, sizeof(kSecretScheme) - 1 + 8));
}

absl::string_view BearerToken(absl::string_view header) {
  constexpr absl::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(header, kScheme)) {
    return {};
  }
  return absl::StripAsciiWhitespace(header.substr(kScheme.size()));
}

}  // namespace rapport::auth
