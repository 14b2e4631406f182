#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/validation/validation.h"
#include "tests/support/status_matchers.h"

namespace rapport::validation {
namespace {

using ::rapport::testing::IsOk;
using ::rapport::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseId, AcceptsPositiveDecimals) {
  EXPECT_EQ(*ParseId("1", "id"), 1);
  EXPECT_EQ(*ParseId("42", "id"), 42);
  EXPECT_EQ(*ParseId("9223372036854775807", "id"), INT64_MAX);
}

TEST(ParseId, EmptyIsRequired) {
  EXPECT_THAT(ParseId("", "contact.id"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::Eq("contact.id: required")));
}

TEST(ParseId, RejectsEverythingElse) {
  const std::string cases[] = {
      "abc",
      "0",
      "-1",
      "+1",
      " 1",
      "1 ",
      "01",
      "1.0",
      "1e3",
      "0x10",
      "١٢٣",
      "12a",
      "9223372036854775808",
      "99999999999999999999",
      std::string("1\0", 2),
  };
  for (const std::string& text : cases) {
    EXPECT_THAT(ParseId(text, "id"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is not a valid id")))
        << text;
  }
  EXPECT_THAT(ParseId("abc", "interaction.contact_id"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("interaction.contact_id: \"abc\" is not a "
                                 "valid id")));
}

TEST(ValidateRequestId, EmptyIsFine) {
  EXPECT_THAT(ValidateRequestId(""), IsOk());
}

TEST(ValidateRequestId, PrintableAsciiUpTo128) {
  EXPECT_THAT(ValidateRequestId("3f2b8c1e-1c4a-4d5e-9f00-0123456789ab"),
              IsOk());
  EXPECT_THAT(ValidateRequestId("!~"), IsOk());
  EXPECT_THAT(ValidateRequestId(std::string(128, 'x')), IsOk());
  EXPECT_THAT(ValidateRequestId(std::string(129, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("request_id: at most 128 characters")));
}

TEST(ValidateRequestId, RejectsSpacesControlsAndNonAscii) {
  for (const std::string& text :
       {std::string("a b"), std::string("a\tb"), std::string("a\x7f"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_THAT(ValidateRequestId(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("request_id: must be printable ASCII")))
        << text;
  }
}

}  // namespace
}  // namespace rapport::validation
