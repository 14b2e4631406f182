#include "tests/support/status_matchers.h"

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::testing {
namespace {

using ::testing::DescribeMatcher;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::StringMatchResultListener;

// What a failing EXPECT_THAT would print after "Actual: ...".
template <typename T>
std::string Explain(const Matcher<T>& matcher, const T& value) {
  StringMatchResultListener listener;
  matcher.MatchAndExplain(value, &listener);
  return listener.str();
}

TEST(StatusIs, MatchesAbslStatusCode) {
  absl::Status status = absl::NotFoundError("contact 42 does not exist");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInvalidArgument)));
}

TEST(StatusIs, MatchesMessage) {
  absl::Status status = absl::NotFoundError("contact 42 does not exist");
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("contact 42")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound,
                               "contact 42 does not exist"));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kNotFound,
                                   HasSubstr("interaction"))));
}

TEST(StatusIs, MatchesStatusOr) {
  absl::StatusOr<int> error = absl::AbortedError("deadlock");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kAborted, "deadlock"));
  absl::StatusOr<int> value = 7;
  EXPECT_THAT(value, StatusIs(absl::StatusCode::kOk));
  EXPECT_OK(value);
}

TEST(StatusIs, MatchesGrpcStatusThroughSharedNumbering) {
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT, "email is malformed");
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("email")));
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_OK(grpc::Status::OK);
}

TEST(StatusIs, DescribesItself) {
  EXPECT_EQ(
      DescribeMatcher<absl::Status>(StatusIs(absl::StatusCode::kNotFound)),
      "has status code NOT_FOUND");
  EXPECT_EQ(
      DescribeMatcher<absl::Status>(
          StatusIs(absl::StatusCode::kNotFound, HasSubstr("42"))),
      "has status code NOT_FOUND and a message that has substring \"42\"");
  EXPECT_EQ(DescribeMatcher<absl::Status>(IsOk()), "is OK");
}

TEST(StatusIs, ExplainsMismatchWithCodeAndMessage) {
  Matcher<absl::Status> matcher = StatusIs(absl::StatusCode::kNotFound);
  EXPECT_EQ(Explain(matcher, absl::InvalidArgumentError("page_size < 0")),
            "whose code is INVALID_ARGUMENT");
  Matcher<grpc::Status> grpc_matcher =
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("42"));
  EXPECT_EQ(Explain(grpc_matcher,
                    grpc::Status(grpc::StatusCode::NOT_FOUND, "contact 7")),
            "whose message doesn't match");
}

TEST(StatusIs, PrintsValuesReadably) {
  EXPECT_EQ(::testing::PrintToString(
                grpc::Status(grpc::StatusCode::ABORTED, "lock wait")),
            "ABORTED: lock wait");
  EXPECT_EQ(::testing::PrintToString(absl::StatusOr<int>(3)), "OK holding 3");
  EXPECT_EQ(::testing::PrintToString(
                absl::StatusOr<int>(absl::UnavailableError("db down"))),
            "UNAVAILABLE: db down");
}

TEST(IsOk, RejectsErrors) {
  EXPECT_THAT(absl::InternalError("boom"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::InternalError("boom")), Not(IsOk()));
  EXPECT_THAT(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), Not(IsOk()));
  EXPECT_OK(absl::OkStatus());
}

TEST(IsOkAndHolds, MatchesValue) {
  absl::StatusOr<int> value = 3;
  EXPECT_THAT(value, IsOkAndHolds(3));
  EXPECT_THAT(value, IsOkAndHolds(Gt(2)));
  EXPECT_THAT(value, Not(IsOkAndHolds(4)));
  EXPECT_THAT(absl::StatusOr<std::string>("ada"), IsOkAndHolds(HasSubstr("d")));
}

TEST(IsOkAndHolds, ExplainsError) {
  Matcher<const absl::StatusOr<int>&> matcher = IsOkAndHolds(3);
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("gone")), Not(matcher));
  EXPECT_EQ(DescribeMatcher<const absl::StatusOr<int>&>(IsOkAndHolds(3)),
            "is OK and has a value that is equal to 3");
  StringMatchResultListener listener;
  matcher.MatchAndExplain(absl::StatusOr<int>(absl::NotFoundError("gone")),
                          &listener);
  EXPECT_EQ(listener.str(), "which is not OK");
}

}  // namespace
}  // namespace rapport::testing
