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

struct GoodCase {
  const char* region;
  const char* input;
  const char* want;
};

TEST(NormalizePhone, NormalisesToE164) {
  const GoodCase cases[] = {
      {"US", "(650) 253-0000", "+16502530000"},
      {"US", "650 253 0000", "+16502530000"},
      {"US", "650.253.0000", "+16502530000"},
      {"US", "+1 650 253 0000", "+16502530000"},
      {"US", "  +1-650-253-0000  ", "+16502530000"},
      {"US", "011 49 30 12345678", "+493012345678"},  // US exit code
      {"US", "+49 30 12345678", "+493012345678"},
      {"DE", "030 123456", "+4930123456"},
      {"DE", "030/12345678", "+493012345678"},
      {"DE", "0151 12345678", "+4915112345678"},
      {"DE", "+49 (0)30 123456", "+4930123456"},
      {"DE", "0049 30 12345678", "+493012345678"},
      {"DE", "+1 650 253 0000", "+16502530000"},
      {"GB", "020 7946 0018", "+442079460018"},
      {"GB", "07911 123456", "+447911123456"},
      {"GB", "+44 20 7946 0018", "+442079460018"},
      {"GB", "+44 (0)20 7946 0018", "+442079460018"},
      {"de", "030 123456", "+4930123456"},   // region case does not matter
      {"XX", "+4930123456", "+4930123456"},  // region unused with '+'
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<std::string> got = NormalizePhone(c.input, c.region);
    ASSERT_TRUE(got.ok()) << c.region << " " << c.input << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.region << " " << c.input;
  }
}

struct BadCase {
  const char* region;
  std::string input;
  const char* message;
};

TEST(NormalizePhone, RejectsBadNumbersWithAReason) {
  const BadCase cases[] = {
      {"US", "", "must not be empty"},
      {"US", "   ", "must not be empty"},
      {"US", "abc", "does not look like a phone number"},
      {"US", "hello world", "does not look like a phone number"},
      {"US", "123", "too short"},
      {"US", "1234567890123456789012", "too long"},
      {"US", "+999 123456", "unknown country code"},
      {"US", "555-0100", "not a valid phone number for region US"},
      {"US", "+1 200 555 0100", "not a valid number for country code +1"},
      {"DE", "030 1", "not a valid phone number for region DE"},
      {"DE", "12", "not a valid phone number for region DE"},
      {"GB", "020 7946 001", "not a valid phone number for region GB"},
      {"XX", "030 123456", "default region \"XX\" is not known"},
      {"", "030 123456", "no country code"},
      {"US", "+1 650 253 0000 ext. 123", "extensions (\"123\")"},
      {"US", std::string(101, '1'), "at most 100 characters"},
      {"US", "650\xff 253 0000", "not valid UTF-8"},
  };
  for (const BadCase& c : cases) {
    EXPECT_THAT(
        NormalizePhone(c.input, c.region),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.region << " " << c.input;
  }
}

TEST(NormalizePhone, MessageSuggestsTheInternationalForm) {
  EXPECT_THAT(NormalizePhone("030 1", "DE"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("use the international form +<country "
                                 "code>")));
}

TEST(ValidatePhoneRegion, KnowsRealRegions) {
  EXPECT_THAT(ValidatePhoneRegion("US"), IsOk());
  EXPECT_THAT(ValidatePhoneRegion("DE"), IsOk());
  EXPECT_THAT(ValidatePhoneRegion("XX"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a phone region")));
  EXPECT_THAT(ValidatePhoneRegion(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"\"")));
}

}  // namespace
}  // namespace rapport::validation
