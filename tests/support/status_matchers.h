// GoogleMock matchers for absl::Status, absl::StatusOr<T> and grpc::Status.
// Our Abseil (20220623) ships none, and STYLE.md asks tests to assert the
// specific error code, not just "not ok":
//
//   EXPECT_THAT(store.Get(id), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(stub->GetContact(&ctx, req, &resp),
//               StatusIs(absl::StatusCode::kInvalidArgument,
//                        HasSubstr("email")));
//   EXPECT_THAT(store.Count(), IsOkAndHolds(3));
//   ASSERT_OK(store.Put(contact));
//
// grpc::Status is compared through its code number: grpc::StatusCode and
// absl::StatusCode both number the canonical codes the same way (0 OK ...
// 16 UNAUTHENTICATED). On failure gtest prints the actual value as
// "NOT_FOUND: contact 42 does not exist" and says which part did not match.
//
// Header-only; everything here is stateless and thread-compatible.
#ifndef RAPPORT_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define RAPPORT_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <grpcpp/support/status.h>

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace rapport::testing {
namespace internal_status {

inline absl::Status ToAbslStatus(const absl::Status& status) { return status; }

template <typename T>
absl::Status ToAbslStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

inline absl::Status ToAbslStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// "OK" or "NOT_FOUND: contact 42 does not exist".
inline std::string Describe(const absl::Status& status) {
  if (status.ok()) return "OK";
  std::string text = absl::StatusCodeToString(status.code());
  if (!status.message().empty()) {
    text += ": ";
    text.append(status.message().data(), status.message().size());
  }
  return text;
}

// Implements StatusIs() and IsOk(); polymorphic over the three status types.
class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  ::testing::Matcher<const std::string&> message,
                  bool checks_message)
      : code_(code),
        message_(std::move(message)),
        checks_message_(checks_message) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    // gtest already prints the value as "CODE: message" (PrintTo below), so
    // only say which part failed.
    const absl::Status status = ToAbslStatus(value);
    if (status.code() != code_) {
      *listener << "whose code is " << absl::StatusCodeToString(status.code());
      return false;
    }
    if (!checks_message_) return true;
    ::testing::StringMatchResultListener message_listener;
    const bool matches = message_.MatchAndExplain(std::string(status.message()),
                                                  &message_listener);
    if (!matches) {
      *listener << "whose message doesn't match";
      if (!message_listener.str().empty()) {
        *listener << " (" << message_listener.str() << ")";
      }
    }
    return matches;
  }

  void DescribeTo(std::ostream* os) const {
    if (code_ == absl::StatusCode::kOk && !checks_message_) {
      *os << "is OK";
      return;
    }
    *os << "has status code " << absl::StatusCodeToString(code_);
    if (checks_message_) {
      *os << " and a message that ";
      message_.DescribeTo(os);
    }
  }

  void DescribeNegationTo(std::ostream* os) const {
    if (code_ == absl::StatusCode::kOk && !checks_message_) {
      *os << "is not OK";
      return;
    }
    *os << "doesn't have status code " << absl::StatusCodeToString(code_);
    if (checks_message_) {
      *os << " or has a message that ";
      message_.DescribeNegationTo(os);
    }
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
  bool checks_message_;
};

// Implements IsOkAndHolds() for one concrete StatusOr type.
template <typename StatusOrRef>
class IsOkAndHoldsImpl : public ::testing::MatcherInterface<StatusOrRef> {
 public:
  using StatusOrType = std::remove_cv_t<std::remove_reference_t<StatusOrRef>>;
  using ValueType = typename StatusOrType::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const ValueType&>(
            std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(
      StatusOrRef actual,
      ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "which is not OK";
      return false;
    }
    ::testing::StringMatchResultListener inner_listener;
    const bool matches = inner_.MatchAndExplain(*actual, &inner_listener);
    *listener << inner_listener.str();
    return matches;
  }

 private:
  const ::testing::Matcher<const ValueType&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT
    return ::testing::Matcher<StatusOrType>(
        new IsOkAndHoldsImpl<const StatusOrType&>(inner_));
  }

 private:
  InnerMatcher inner_;
};

}  // namespace internal_status

// Matches a status (absl::Status, absl::StatusOr<T> or grpc::Status) whose
// code is `code`, whatever its message.
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    absl::StatusCode code) {
  return ::testing::MakePolymorphicMatcher(
      internal_status::StatusIsMatcher(code, ::testing::_, false));
}

// As above, and the message must match `message`: a string for equality, or
// a matcher such as HasSubstr("email").
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    absl::StatusCode code, ::testing::Matcher<const std::string&> message) {
  return ::testing::MakePolymorphicMatcher(
      internal_status::StatusIsMatcher(code, std::move(message), true));
}

// The same, spelled with gRPC's code enum.
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    grpc::StatusCode code) {
  return StatusIs(static_cast<absl::StatusCode>(code));
}
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    grpc::StatusCode code, ::testing::Matcher<const std::string&> message) {
  return StatusIs(static_cast<absl::StatusCode>(code), std::move(message));
}

// Matches an OK status of any of the three types.
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal_status::StatusIsMatcher(
      absl::StatusCode::kOk, ::testing::_, false));
}

// Matches an OK absl::StatusOr<T> whose value matches `inner` (a value for
// equality, or any matcher of T).
template <typename InnerMatcher>
internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& inner) {
  return internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner));
}

}  // namespace rapport::testing

// Readable values in gtest's "Actual:" lines; otherwise gtest dumps the bytes.
// grpc::Status has no printer; Abseil added one for StatusOr after 20220623.
namespace grpc {
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << ::rapport::testing::internal_status::Describe(
      ::rapport::testing::internal_status::ToAbslStatus(status));
}
}  // namespace grpc

#if ABSL_LTS_RELEASE_VERSION <= 20220623
namespace absl {
ABSL_NAMESPACE_BEGIN
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "OK holding " << ::testing::PrintToString(*status_or);
  } else {
    *os << ::rapport::testing::internal_status::Describe(status_or.status());
  }
}
ABSL_NAMESPACE_END
}  // namespace absl
#endif

// ASSERT_OK(expr) / EXPECT_OK(expr): `expr` (any of the three status types)
// is OK; on failure the message shows the code and the status message.
#ifndef ASSERT_OK
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::rapport::testing::IsOk())
#endif
#ifndef EXPECT_OK
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::rapport::testing::IsOk())
#endif

#endif  // RAPPORT_TESTS_SUPPORT_STATUS_MATCHERS_H_
