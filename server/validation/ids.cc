// Resource id and request id syntax.

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {

absl::StatusOr<int64_t> ParseId(absl::string_view text,
                                absl::string_view field) {
  if (text.empty()) return internal::FieldError(field, "required");
  const auto bad = [&] {
    return internal::FieldError(
        field, absl::StrCat(internal::Quote(text),
                            " is not a valid id; ids are positive decimal "
                            "numbers without sign, spaces or leading zeros, "
                            "e.g. \"42\""));
  };
  if (text.size() > 19 || text[0] == '0') return bad();
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + static_cast<uint64_t>(c - '0');  // < 10^19 < 2^64
  }
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return bad();
  }
  return static_cast<int64_t>(value);
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > kMaxRequestIdChars) {
    return internal::FieldError(
        "request_id",
        absl::StrCat("at most ", kMaxRequestIdChars, " characters (got ",
                     request_id.size(), " bytes)"));
  }
  for (size_t i = 0; i < request_id.size(); ++i) {
    const auto c = static_cast<unsigned char>(request_id[i]);
    if (c < 0x21 || c > 0x7e) {
      return internal::FieldError(
          "request_id",
          absl::StrFormat("must be printable ASCII without spaces (0x21-0x7e); "
                          "found byte 0x%02x at position %d; a UUID works well",
                          c, i));
    }
  }
  return absl::OkStatus();
}

}  // namespace rapport::validation
