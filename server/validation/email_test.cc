#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/validation/validation.h"
#include "tests/support/status_matchers.h"

namespace rapport::validation {
namespace {

using ::rapport::testing::StatusIs;
using ::testing::HasSubstr;

struct GoodCase {
  const char* input;
  const char* want;
};

TEST(NormalizeEmail, AcceptsAndNormalisesGoodAddresses) {
  const GoodCase cases[] = {
      {"bob@example.com", "bob@example.com"},
      {"  Bob@Example.COM \t", "bob@example.com"},
      {"first.last@example.co.uk", "first.last@example.co.uk"},
      {"user+tag@example.com", "user+tag@example.com"},
      {"o'brien@example.ie", "o'brien@example.ie"},
      {"a@b.co", "a@b.co"},
      {"x!#$%&'*+-/=?^_`{|}~@example.org", "x!#$%&'*+-/=?^_`{|}~@example.org"},
      {"user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de"},
      {"user@sub-domain.example-1.com", "user@sub-domain.example-1.com"},
      {"user@123.example.com", "user@123.example.com"},
      {"user@example.c0m", "user@example.c0m"},
      {"bob@example.com\n", "bob@example.com"},
  };
  for (const GoodCase& c : cases) {
    absl::StatusOr<std::string> got = NormalizeEmail(c.input);
    ASSERT_TRUE(got.ok()) << c.input << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.input;
  }
}

struct BadCase {
  std::string input;
  const char* message;
};

TEST(NormalizeEmail, RejectsBadAddressesWithAReason) {
  const BadCase cases[] = {
      {"", "must not be empty"},
      {"   ", "must not be empty"},
      {"bob", "has no '@'"},
      {"bob@", "the domain after '@' is missing"},
      {"@example.com", "the part before '@' is empty"},
      {"a@b@example.com", "more than one '@'"},
      {"\"bob smith\"@example.com", "quoted local parts"},
      {".bob@example.com", "must not start or end with '.'"},
      {"bob.@example.com", "must not start or end with '.'"},
      {"bo..b@example.com", "must not contain \"..\""},
      {"bo(b@example.com", "is not allowed before '@'"},
      {"bob smith@example.com", "spaces or control characters"},
      {"bob@localhost", "at least two labels"},
      {"bob@example..com", "empty label"},
      {"bob@.example.com", "empty label"},
      {"bob@example.com.", "empty label"},
      {"bob@-example.com", "must not start or end with '-'"},
      {"bob@example-.com", "must not start or end with '-'"},
      {"bob@exa_mple.com", "is not allowed in the domain"},
      {"bob@192.168.0.1", "must not be all digits"},
      {"bob@[192.168.0.1]", "IP address literals"},
      {"josé@example.com", "punycode"},
      {"bob@münchen.de", "punycode"},
      {std::string(65, 'a') + "@example.com", "more than 64 characters"},
      {"bob@" + std::string(64, 'a') + ".com", "more than 63 characters"},
      {"bob\x01@example.com", "control characters"},
      {std::string("bob\0@example.com", 16), "control characters"},
  };
  for (const BadCase& c : cases) {
    EXPECT_THAT(
        NormalizeEmail(c.input),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.input;
  }
}

TEST(NormalizeEmail, MessageQuotesTheInput) {
  EXPECT_THAT(NormalizeEmail("bob@"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"bob@\" is not a valid e-mail address")));
}

TEST(NormalizeEmail, LocalPartOf64IsTheLimit) {
  EXPECT_TRUE(NormalizeEmail(std::string(64, 'a') + "@example.com").ok());
}

TEST(NormalizeEmail, LabelOf63IsTheLimit) {
  EXPECT_TRUE(NormalizeEmail("bob@" + std::string(63, 'a') + ".com").ok());
}

// Builds a domain of exactly `length` characters from 63-character labels.
std::string DomainOfLength(size_t length) {
  std::string domain;
  while (domain.size() < length) {
    if (!domain.empty()) domain += '.';
    const size_t left = length - domain.size();
    domain += std::string(std::min<size_t>(63, left), 'a');
  }
  domain.back() = 'c';  // last label is letters
  return domain;
}

TEST(NormalizeEmail, DomainOf253IsTheLimit) {
  // 253 domain + "a@" = 255 > 254, so the total limit bites first; check the
  // domain limit on its own with a 1-character local part and 252 domain.
  const std::string ok = "a@" + DomainOfLength(252);
  ASSERT_EQ(ok.size(), 254u);
  EXPECT_TRUE(NormalizeEmail(ok).ok()) << NormalizeEmail(ok).status();
  EXPECT_THAT(NormalizeEmail("a@" + DomainOfLength(253)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 254 characters (got 255)")));
}

TEST(NormalizeEmail, TotalOf254IsTheLimit) {
  const std::string local(64, 'a');
  const std::string ok = local + "@" + DomainOfLength(254 - 65);
  ASSERT_EQ(ok.size(), 254u);
  EXPECT_TRUE(NormalizeEmail(ok).ok());
  const std::string bad = local + "@" + DomainOfLength(255 - 65);
  EXPECT_THAT(NormalizeEmail(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 254 characters")));
}

}  // namespace
}  // namespace rapport::validation
