// Test helpers shared by the query unit tests (not part of rapport_query).
// Thread-safe: pure functions.
#ifndef RAPPORT_SERVER_QUERY_QUERY_TEST_UTIL_H_
#define RAPPORT_SERVER_QUERY_QUERY_TEST_UTIL_H_

#include <ostream>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace rapport::query {

// Our Abseil has no status matchers: StatusIs(code, substring) matches an
// absl::Status or absl::StatusOr<T> with that code and a message containing
// the substring.
MATCHER_P2(StatusIs, code, substring, "") {
  const absl::Status status = [&]() {
    if constexpr (std::is_same_v<std::decay_t<arg_type>, absl::Status>) {
      return arg;
    } else {
      return arg.status();
    }
  }();
  *result_listener << "status is " << status;
  return status.code() == code &&
         std::string(status.message()).find(substring) != std::string::npos;
}

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_QUERY_TEST_UTIL_H_
