// Checks shared by list methods at the API edge.
#ifndef RAPPORT_SERVER_API_LIST_PARAMS_H_
#define RAPPORT_SERVER_API_LIST_PARAMS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::api {

// Free-text `query` limits: short enough to stay a search, not a document.
inline constexpr size_t kMaxQueryChars = 200;

// INVALID_ARGUMENT naming `query` when it is too long or has control
// characters.
absl::Status ValidateFreeText(absl::string_view query);

}  // namespace rapport::api

#endif  // RAPPORT_SERVER_API_LIST_PARAMS_H_
