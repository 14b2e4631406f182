#include "server/api/list_params.h"

#include "absl/strings/str_cat.h"

namespace rapport::api {

absl::Status ValidateFreeText(absl::string_view query) {
  if (query.size() > kMaxQueryChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("query: at most ", kMaxQueryChars, " characters (got ",
                     query.size(), "); use filter for structured conditions"));
  }
  for (unsigned char c : query) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "query: control characters are not allowed");
    }
  }
  return absl::OkStatus();
}

}  // namespace rapport::api
