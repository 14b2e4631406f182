// API key secrets: generation and hashing (OpenSSL; no home-made crypto).
//
// A secret reads "rpk_<key id>_<43 base64url characters>": the key id (16
// hex digits) names the key without revealing it (logs, audit rows, the
// "apiKeys/<id>" resource), and the tail carries 256 random bits. Only the
// SHA-256 of the whole secret is stored: with 256 bits of entropy nothing can
// be brute-forced, so a slow password hash would add latency to every call
// and no safety.
#ifndef RAPPORT_SERVER_AUTH_API_KEY_H_
#define RAPPORT_SERVER_AUTH_API_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::auth {

struct NewSecret {
  std::string key_id;  // 16 lowercase hex digits
  std::string secret;  // what the client presents
  std::string hash;    // HashSecret(secret)
};

// A fresh key id and secret from the operating system's CSPRNG. INTERNAL
// only if OpenSSL cannot produce random bytes.
absl::StatusOr<NewSecret> GenerateSecret();

// SHA-256 of `secret` as 64 lowercase hex digits.
std::string HashSecret(absl::string_view secret);

// The first characters of a secret, safe to show ("rpk_1a2b3c4d").
std::string SecretPrefix(absl::string_view secret);

// The bearer token in an "authorization" header value ("Bearer <token>",
// scheme case-insensitive), or empty when the value is not a bearer token.
absl::string_view BearerToken(absl::string_view header);

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_API_KEY_H_
