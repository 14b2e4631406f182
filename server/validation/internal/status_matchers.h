// Test-only gMock matcher for absl::Status / absl::StatusOr: our Abseil ships
// none. StatusIs(code, HasSubstr("...")) checks the code and the message.
// Thread-safe (stateless).
#ifndef RAPPORT_SERVER_VALIDATION_INTERNAL_STATUS_MATCHERS_H_
#define RAPPORT_SERVER_VALIDATION_INTERNAL_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"

namespace rapport::validation::internal {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           absl::StrCat("has code ", absl::StatusCodeToString(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.ok();
}

}  // namespace rapport::validation::internal

#endif  // RAPPORT_SERVER_VALIDATION_INTERNAL_STATUS_MATCHERS_H_
