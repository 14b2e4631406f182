#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/validation/validation.h"
#include "tests/support/status_matchers.h"

namespace rapport::validation {
namespace {

using ::rapport::testing::IsOk;
using ::rapport::testing::StatusIs;
using ::rapport::v1::Contact;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// `n` copies of a two-byte character, so code points and bytes differ.
std::string Chars(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "\xc3\xa9";  // é
  return s;
}

absl::Status Normalize(Contact* c) { return NormalizeContact(c, {}); }

TEST(NormalizeContact, EmptyContactBecomesALead) {
  Contact c;
  EXPECT_THAT(Normalize(&c), IsOk());
  EXPECT_EQ(c.lifecycle_stage(), rapport::v1::LEAD);
  EXPECT_EQ(c.display_name(), "");
}

TEST(NormalizeContact, TrimsSingleLineFields) {
  Contact c;
  c.set_given_name("  Ada ");
  c.set_family_name("\tLovelace\n");
  c.set_company(" Analytical Engines ");
  c.set_job_title(" Programmer ");
  c.set_owner(" team-7 ");
  c.set_source(" web-form ");
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_EQ(c.given_name(), "Ada");
  EXPECT_EQ(c.family_name(), "Lovelace");
  EXPECT_EQ(c.company(), "Analytical Engines");
  EXPECT_EQ(c.job_title(), "Programmer");
  EXPECT_EQ(c.owner(), "team-7");
  EXPECT_EQ(c.source(), "web-form");
  EXPECT_EQ(c.display_name(), "Ada Lovelace");
}

using StringSetter = void (Contact::*)(const std::string&);
struct LengthCase {
  const char* field;
  StringSetter set;
  size_t max;
};

TEST(NormalizeContact, LengthLimitsCountCharactersNotBytes) {
  const LengthCase cases[] = {
      {"given_name", &Contact::set_given_name, 200},
      {"family_name", &Contact::set_family_name, 200},
      {"display_name", &Contact::set_display_name, 400},
      {"company", &Contact::set_company, 200},
      {"job_title", &Contact::set_job_title, 200},
      {"owner", &Contact::set_owner, 200},
      {"source", &Contact::set_source, 200},
  };
  for (const LengthCase& lc : cases) {
    Contact ok;
    (ok.*lc.set)(Chars(lc.max));
    EXPECT_THAT(Normalize(&ok), IsOk()) << lc.field;

    Contact bad;
    (bad.*lc.set)(Chars(lc.max + 1));
    EXPECT_THAT(
        Normalize(&bad),
        StatusIs(kInvalid, HasSubstr(absl::StrCat(
                               "contact.", lc.field, ": at most ", lc.max,
                               " characters (got ", lc.max + 1, ")"))))
        << lc.field;
  }
}

TEST(NormalizeContact, RejectsControlCharactersAndBadUtf8) {
  Contact c;
  c.set_given_name("Ada\nLovelace");
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.given_name: contains the "
                                           "control character U+000A")));
  c.set_given_name("Ada\xc2\x85");  // U+0085, a C1 control
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("control character U+0085")));
  c.set_given_name("Ada\xff");
  EXPECT_THAT(Normalize(&c), StatusIs(kInvalid, HasSubstr("contact.given_name: "
                                                          "not valid UTF-8")));
  c.set_given_name("\xed\xa0\x80");  // a UTF-16 surrogate
  EXPECT_THAT(Normalize(&c), StatusIs(kInvalid, HasSubstr("not valid UTF-8")));
  c.set_given_name("\xc0\xaf");  // overlong '/'
  EXPECT_THAT(Normalize(&c), StatusIs(kInvalid, HasSubstr("not valid UTF-8")));
}

TEST(NormalizeContact, UsesTheFieldPathPrefix) {
  Contact c;
  c.add_emails("ok@example.com");
  c.add_emails("bob@");
  EXPECT_THAT(NormalizeContact(&c, {}, "contacts[17]"),
              StatusIs(kInvalid, HasSubstr("contacts[17].emails[1]: \"bob@\" "
                                           "is not a valid e-mail address")));
}

TEST(NormalizeContact, NormalisesAndDedupesEmails) {
  Contact c;
  c.add_emails(" Bob@Example.com");
  c.add_emails("alice@example.com");
  c.add_emails("bob@example.COM ");
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_THAT(c.emails(), ElementsAre("bob@example.com", "alice@example.com"));
  EXPECT_EQ(c.display_name(), "bob@example.com");
}

TEST(NormalizeContact, AtMostTenDistinctEmails) {
  Contact c;
  for (int i = 0; i < 10; ++i) c.add_emails(absl::StrCat("u", i, "@x.com"));
  c.add_emails("U0@x.com");  // duplicate: does not count
  Contact ok = c;
  ASSERT_THAT(Normalize(&ok), IsOk());
  EXPECT_EQ(ok.emails_size(), 10);
  c.add_emails("u10@x.com");
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.emails: at most 10 e-mail "
                                           "addresses (got 11 distinct)")));
}

TEST(NormalizeContact, RejectsEmptyEmailEntry) {
  Contact c;
  c.add_emails("  ");
  EXPECT_THAT(Normalize(&c), StatusIs(kInvalid, HasSubstr("contact.emails[0]: "
                                                          "an e-mail address "
                                                          "must not be "
                                                          "empty")));
}

TEST(NormalizeContact, NormalisesAndDedupesPhonesInTheDefaultRegion) {
  Contact c;
  c.add_phones("030 123456");
  c.add_phones("+49 30 123456");
  c.add_phones("+1 650 253 0000");
  ASSERT_THAT(NormalizeContact(&c, {.default_region = "DE"}), IsOk());
  EXPECT_THAT(c.phones(), ElementsAre("+4930123456", "+16502530000"));

  Contact us;
  us.add_phones("030 123456");
  EXPECT_THAT(Normalize(&us),
              StatusIs(kInvalid, HasSubstr("contact.phones[0]: \"030 123456\" "
                                           "is not a valid phone number")));
}

TEST(NormalizeContact, AtMostTenDistinctPhones) {
  Contact c;
  for (int i = 0; i < 10; ++i) {
    c.add_phones(absl::StrCat("+1 650 253 00", 10 + i));
  }
  c.add_phones("(650) 253-0010");  // duplicate of the first
  Contact ok = c;
  ASSERT_THAT(Normalize(&ok), IsOk());
  EXPECT_EQ(ok.phones_size(), 10);
  c.add_phones("+1 650 253 0099");
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.phones: at most 10 phone "
                                           "numbers (got 11 distinct)")));
}

TEST(NormalizeContact, NormalisesTags) {
  Contact c;
  c.add_tags(" VIP ");
  c.add_tags("vip");
  c.add_tags("Newsletter");
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_THAT(c.tags(), ElementsAre("vip", "newsletter"));
}

TEST(NormalizeContact, TagRules) {
  Contact c;
  c.add_tags(Chars(64));
  EXPECT_THAT(Normalize(&c), IsOk());
  c.add_tags(Chars(65));
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.tags[1]: at most 64 "
                                           "characters (got 65)")));
  Contact empty;
  empty.add_tags("  ");
  EXPECT_THAT(Normalize(&empty),
              StatusIs(kInvalid, HasSubstr("contact.tags[0]: a tag must not "
                                           "be empty")));
  Contact control;
  control.add_tags("a\tb");
  EXPECT_THAT(Normalize(&control),
              StatusIs(kInvalid, HasSubstr("contact.tags[0]: contains the "
                                           "control character")));
}

TEST(NormalizeContact, AtMostFiftyDistinctTags) {
  Contact c;
  for (int i = 0; i < 50; ++i) c.add_tags(absl::StrCat("t", i));
  c.add_tags("T0");
  Contact ok = c;
  ASSERT_THAT(Normalize(&ok), IsOk());
  EXPECT_EQ(ok.tags_size(), 50);
  c.add_tags("t50");
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.tags: at most 50 tags "
                                           "(got 51 distinct)")));
}

TEST(NormalizeContact, AttributeKeys) {
  for (const std::string& key :
       {std::string("a"), std::string("plan"), std::string("loyalty_tier_2"),
        std::string("a") + std::string(63, 'z')}) {
    Contact c;
    (*c.mutable_attributes())[key] = "x";
    EXPECT_THAT(Normalize(&c), IsOk()) << key;
  }
  for (const std::string& key :
       {std::string(""), std::string("Plan"), std::string("1plan"),
        std::string("_plan"), std::string("plan-b"), std::string("plan.b"),
        std::string("a") + std::string(64, 'z'), std::string("pl\xc3\xa9")}) {
    Contact c;
    (*c.mutable_attributes())[key] = "x";
    EXPECT_THAT(Normalize(&c),
                StatusIs(kInvalid, HasSubstr("contact.attributes: key")))
        << key;
  }
}

TEST(NormalizeContact, AttributeValues) {
  Contact c;
  (*c.mutable_attributes())["note"] = Chars(1024);
  (*c.mutable_attributes())["multi"] = "line 1\nline 2\ttab";
  EXPECT_THAT(Normalize(&c), IsOk());
  (*c.mutable_attributes())["note"] = Chars(1025);
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.attributes.note: at most "
                                           "1024 characters (got 1025)")));
  (*c.mutable_attributes())["note"] = "bell\x07";
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.attributes.note: contains "
                                           "the control character U+0007")));
}

TEST(NormalizeContact, AtMostHundredAttributes) {
  Contact c;
  for (int i = 0; i < 100; ++i) {
    (*c.mutable_attributes())[absl::StrCat("k", i)] = "v";
  }
  EXPECT_THAT(Normalize(&c), IsOk());
  (*c.mutable_attributes())["k100"] = "v";
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.attributes: at most 100 "
                                           "entries (got 101)")));
}

TEST(NormalizeContact, Address) {
  Contact c;
  auto* a = c.mutable_address();
  a->add_lines(" 1 Main St ");
  a->add_lines("   ");  // dropped
  a->add_lines("Apt 2");
  a->set_locality(" Berlin ");
  a->set_region(" BE ");
  a->set_postal_code(" 10115 ");
  a->set_country_code(" de ");
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_THAT(c.address().lines(), ElementsAre("1 Main St", "Apt 2"));
  EXPECT_EQ(c.address().locality(), "Berlin");
  EXPECT_EQ(c.address().region(), "BE");
  EXPECT_EQ(c.address().postal_code(), "10115");
  EXPECT_EQ(c.address().country_code(), "DE");
}

TEST(NormalizeContact, AddressLimits) {
  Contact c;
  for (int i = 0; i < 5; ++i) c.mutable_address()->add_lines(Chars(200));
  EXPECT_THAT(Normalize(&c), IsOk());
  c.mutable_address()->add_lines("x");
  EXPECT_THAT(Normalize(&c),
              StatusIs(kInvalid, HasSubstr("contact.address.lines: at most 5 "
                                           "lines (got 6)")));
  Contact long_line;
  long_line.mutable_address()->add_lines(Chars(201));
  EXPECT_THAT(Normalize(&long_line),
              StatusIs(kInvalid, HasSubstr("contact.address.lines[0]: at most "
                                           "200 characters")));
  Contact locality;
  locality.mutable_address()->set_locality(Chars(201));
  EXPECT_THAT(Normalize(&locality),
              StatusIs(kInvalid, HasSubstr("contact.address.locality: at most "
                                           "200")));
}

TEST(NormalizeContact, CountryCode) {
  for (const char* bad : {"XX", "D", "DEU", "1A", "d e"}) {
    Contact c;
    c.mutable_address()->set_country_code(bad);
    EXPECT_THAT(Normalize(&c),
                StatusIs(kInvalid, HasSubstr("contact.address.country_code: "
                                             "\"")))
        << bad;
  }
  Contact gb;
  gb.mutable_address()->set_country_code("gb");
  ASSERT_THAT(Normalize(&gb), IsOk());
  EXPECT_EQ(gb.address().country_code(), "GB");
}

TEST(NormalizeContact, LifecycleStage) {
  Contact c;
  c.set_lifecycle_stage(rapport::v1::CUSTOMER);
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_EQ(c.lifecycle_stage(), rapport::v1::CUSTOMER);

  Contact unknown;
  unknown.set_lifecycle_stage(static_cast<rapport::v1::LifecycleStage>(42));
  EXPECT_THAT(Normalize(&unknown),
              StatusIs(kInvalid, HasSubstr("contact.lifecycle_stage: unknown "
                                           "value 42")));
  unknown.set_lifecycle_stage(static_cast<rapport::v1::LifecycleStage>(-1));
  EXPECT_THAT(Normalize(&unknown),
              StatusIs(kInvalid, HasSubstr("unknown value -1")));
}

TEST(NormalizeContact, DerivesDisplayName) {
  Contact both;
  both.set_given_name("Ada");
  both.set_family_name("Lovelace");
  both.add_emails("ada@example.com");
  ASSERT_THAT(Normalize(&both), IsOk());
  EXPECT_EQ(both.display_name(), "Ada Lovelace");

  Contact family_only;
  family_only.set_family_name("Lovelace");
  ASSERT_THAT(Normalize(&family_only), IsOk());
  EXPECT_EQ(family_only.display_name(), "Lovelace");

  Contact email;
  email.add_emails("ADA@example.com");
  email.set_company("Engines");
  ASSERT_THAT(Normalize(&email), IsOk());
  EXPECT_EQ(email.display_name(), "ada@example.com");

  Contact company;
  company.set_company(" Engines ");
  ASSERT_THAT(Normalize(&company), IsOk());
  EXPECT_EQ(company.display_name(), "Engines");

  Contact chosen;
  chosen.set_given_name("Ada");
  chosen.set_display_name(" Countess ");
  ASSERT_THAT(Normalize(&chosen), IsOk());
  EXPECT_EQ(chosen.display_name(), "Countess");
}

TEST(NormalizeContact, DerivedDisplayNameIsCutTo400Characters) {
  Contact c;
  c.set_given_name(Chars(200));
  c.set_family_name(Chars(200));
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_EQ(c.display_name(), Chars(200) + " " + Chars(199));
}

TEST(NormalizeContact, LeavesOutputOnlyFieldsAlone) {
  Contact c;
  c.set_id("not-an-id");
  c.set_etag("e");
  c.set_merged_into("7");
  c.mutable_create_time()->set_seconds(-1);
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_EQ(c.id(), "not-an-id");
  EXPECT_EQ(c.etag(), "e");
  EXPECT_EQ(c.merged_into(), "7");
  EXPECT_EQ(c.create_time().seconds(), -1);
}

TEST(NormalizeContact, ConsentIsKept) {
  Contact c;
  c.mutable_consent()->set_email_opt_in(true);
  c.mutable_consent()->set_do_not_contact(true);
  ASSERT_THAT(Normalize(&c), IsOk());
  EXPECT_TRUE(c.consent().email_opt_in());
  EXPECT_FALSE(c.consent().sms_opt_in());
  EXPECT_TRUE(c.consent().do_not_contact());
}

}  // namespace
}  // namespace rapport::validation
