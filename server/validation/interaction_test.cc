#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/time_util.h"
#include "server/validation/validation.h"
#include "tests/support/status_matchers.h"

namespace rapport::validation {
namespace {

using ::rapport::testing::IsOk;
using ::rapport::testing::StatusIs;
using ::rapport::v1::Interaction;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2024, 5, 1, 12, 0, 0),
                                        absl::UTCTimeZone());

Interaction Note() {
  Interaction i;
  i.set_contact_id("42");
  i.set_type(rapport::v1::NOTE);
  return i;
}

Interaction Purchase(int64_t minor, const std::string& currency = "EUR") {
  Interaction i = Note();
  i.set_type(rapport::v1::PURCHASE);
  i.mutable_amount()->set_currency_code(currency);
  i.mutable_amount()->set_amount_minor(minor);
  return i;
}

TEST(NormalizeInteraction, MinimalNoteGetsOccurTimeNow) {
  Interaction i = Note();
  ASSERT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  EXPECT_EQ(ToAbslTime(i.occur_time()), kNow);
}

TEST(NormalizeInteraction, ContactIdIsRequiredAndNumeric) {
  Interaction i = Note();
  i.clear_contact_id();
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, ::testing::Eq("interaction.contact_id: "
                                               "required")));
  i.set_contact_id("abc");
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.contact_id: \"abc\" "
                                           "is not a valid id")));
  i.set_contact_id("-5");
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("is not a valid id")));
}

TEST(NormalizeInteraction, TypeIsRequiredAndKnown) {
  Interaction i = Note();
  i.set_type(rapport::v1::INTERACTION_TYPE_UNSPECIFIED);
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.type: required; one "
                                           "of PURCHASE")));
  i.set_type(static_cast<rapport::v1::InteractionType>(99));
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.type: unknown value "
                                           "99")));
}

TEST(NormalizeInteraction, DirectionMustBeKnown) {
  Interaction i = Note();
  i.set_direction(rapport::v1::INBOUND);
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  i.set_direction(static_cast<rapport::v1::Direction>(3));
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.direction: unknown "
                                           "value 3")));
}

TEST(NormalizeInteraction, Channel) {
  Interaction i = Note();
  i.set_channel(" Web.Shop-EU_1 ");
  ASSERT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  EXPECT_EQ(i.channel(), "web.shop-eu_1");

  i.set_channel(std::string(64, 'a'));
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  for (const std::string& bad :
       {std::string(65, 'a'), std::string("in store"), std::string("web/app"),
        std::string("caf\xc3\xa9")}) {
    i.set_channel(bad);
    EXPECT_THAT(NormalizeInteraction(&i, kNow),
                StatusIs(kInvalid, HasSubstr("interaction.channel: \"")))
        << bad;
  }
}

TEST(NormalizeInteraction, OccurTimeAtMostADayAhead) {
  Interaction i = Note();
  *i.mutable_occur_time() = ToTimestamp(kNow + absl::Hours(24));
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  *i.mutable_occur_time() =
      ToTimestamp(kNow + absl::Hours(24) + absl::Nanoseconds(1));
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.occur_time: at most "
                                           "24 hours in the future")));
  i.mutable_occur_time()->set_seconds(INT64_MAX);
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("24 hours in the future")));
}

TEST(NormalizeInteraction, OccurTimeNotBefore1900) {
  const absl::Time y1900 = absl::FromCivil(
      absl::CivilSecond(1900, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  Interaction i = Note();
  *i.mutable_occur_time() = ToTimestamp(y1900);
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  *i.mutable_occur_time() = ToTimestamp(y1900 - absl::Seconds(1));
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.occur_time: must not "
                                           "be before 1900-01-01")));
  i.mutable_occur_time()->set_seconds(INT64_MIN);
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("before 1900-01-01")));
}

TEST(NormalizeInteraction, OccurTimeNanosInRange) {
  Interaction i = Note();
  *i.mutable_occur_time() = ToTimestamp(kNow);
  i.mutable_occur_time()->set_nanos(999999999);
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  for (int nanos : {-1, 1000000000}) {
    i.mutable_occur_time()->set_nanos(nanos);
    EXPECT_THAT(NormalizeInteraction(&i, kNow),
                StatusIs(kInvalid, HasSubstr("interaction.occur_time: nanos "
                                             "must be in [0, 999999999]")));
  }
}

TEST(NormalizeInteraction, TextLimits) {
  Interaction i = Note();
  i.set_subject(" " + std::string(500, 's') + " ");
  i.set_body(std::string(65536, 'b'));
  i.set_actor(std::string(200, 'a'));
  ASSERT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  EXPECT_EQ(i.subject().size(), 500u);

  Interaction subject = Note();
  subject.set_subject(std::string(501, 's'));
  EXPECT_THAT(NormalizeInteraction(&subject, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.subject: at most 500 "
                                           "characters (got 501)")));
  Interaction body = Note();
  body.set_body(std::string(65537, 'b'));
  EXPECT_THAT(NormalizeInteraction(&body, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.body: at most 65536 "
                                           "bytes (got 65537)")));
  Interaction actor = Note();
  actor.set_actor(std::string(201, 'a'));
  EXPECT_THAT(NormalizeInteraction(&actor, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.actor: at most 200 "
                                           "characters (got 201)")));
}

TEST(NormalizeInteraction, BodyMayHaveLinesButNoOtherControls) {
  Interaction i = Note();
  i.set_body("line 1\r\nline 2\ttabbed\n");
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  EXPECT_EQ(i.body(), "line 1\r\nline 2\ttabbed\n");
  i.set_body("nul\0", 4);
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.body: contains the "
                                           "control character U+0000")));
  i.set_body("bad \xff");
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.body: not valid "
                                           "UTF-8")));
  Interaction subject = Note();
  subject.set_subject("two\nlines");
  EXPECT_THAT(NormalizeInteraction(&subject, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.subject: contains the "
                                           "control character")));
}

TEST(NormalizeInteraction, PurchaseNeedsAPositiveAmount) {
  Interaction ok = Purchase(1999, " eur ");
  ASSERT_THAT(NormalizeInteraction(&ok, kNow), IsOk());
  EXPECT_EQ(ok.amount().currency_code(), "EUR");
  EXPECT_EQ(ok.amount().amount_minor(), 1999);

  Interaction none = Note();
  none.set_type(rapport::v1::PURCHASE);
  EXPECT_THAT(NormalizeInteraction(&none, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.amount: required for "
                                           "PURCHASE")));
  for (int64_t minor : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    Interaction bad = Purchase(minor);
    EXPECT_THAT(NormalizeInteraction(&bad, kNow),
                StatusIs(kInvalid, HasSubstr("interaction.amount.amount_minor: "
                                             "must be positive for PURCHASE")))
        << minor;
  }
}

TEST(NormalizeInteraction, RefundIsStoredAsAPositiveAmount) {
  Interaction positive = Purchase(500);
  positive.set_type(rapport::v1::REFUND);
  ASSERT_THAT(NormalizeInteraction(&positive, kNow), IsOk());
  EXPECT_EQ(positive.amount().amount_minor(), 500);

  Interaction negative = Purchase(-500);
  negative.set_type(rapport::v1::REFUND);
  ASSERT_THAT(NormalizeInteraction(&negative, kNow), IsOk());
  EXPECT_EQ(negative.amount().amount_minor(), 500);

  Interaction zero = Purchase(0);
  zero.set_type(rapport::v1::REFUND);
  EXPECT_THAT(NormalizeInteraction(&zero, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.amount.amount_minor: "
                                           "must not be zero for REFUND")));
  Interaction min = Purchase(INT64_MIN);
  min.set_type(rapport::v1::REFUND);
  EXPECT_THAT(NormalizeInteraction(&min, kNow),
              StatusIs(kInvalid, HasSubstr("out of range")));

  Interaction none = Note();
  none.set_type(rapport::v1::REFUND);
  EXPECT_THAT(NormalizeInteraction(&none, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.amount: required for "
                                           "REFUND")));
}

TEST(NormalizeInteraction, OtherTypesAcceptAnyAmount) {
  Interaction i = Purchase(-250);
  i.set_type(rapport::v1::OTHER);
  ASSERT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  EXPECT_EQ(i.amount().amount_minor(), -250);
}

TEST(NormalizeInteraction, CurrencyCodes) {
  for (const char* good :
       {"EUR", "usd", "JPY", "GBP", "CHF", "XAU", "ZWG", "VES", "SLE"}) {
    Interaction i = Purchase(1, good);
    EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk()) << good;
  }
  for (const char* bad :
       {"EU", "EURO", "ABC", "XXX", "XTS", "HRK", "DEM", "E1R", "€"}) {
    Interaction i = Purchase(1, bad);
    EXPECT_THAT(NormalizeInteraction(&i, kNow),
                StatusIs(kInvalid, HasSubstr("interaction.amount.currency_code"
                                             ": \"")))
        << bad;
  }
  Interaction empty = Purchase(1, "");
  EXPECT_THAT(NormalizeInteraction(&empty, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.amount.currency_code: "
                                           "required")));
}

TEST(NormalizeInteraction, AttributesFollowTheContactRules) {
  Interaction i = Note();
  (*i.mutable_attributes())["order_id"] = "A-1";
  EXPECT_THAT(NormalizeInteraction(&i, kNow), IsOk());
  (*i.mutable_attributes())["Order"] = "A-1";
  EXPECT_THAT(NormalizeInteraction(&i, kNow),
              StatusIs(kInvalid, HasSubstr("interaction.attributes: key "
                                           "\"Order\" is not valid")));
}

TEST(NormalizeInteraction, UsesTheFieldPathPrefix) {
  Interaction i = Note();
  i.clear_contact_id();
  EXPECT_THAT(
      NormalizeInteraction(&i, kNow, "events[3]"),
      StatusIs(kInvalid, ::testing::Eq("events[3].contact_id: required")));
}

TEST(CodeLists, Sizes) {
  EXPECT_TRUE(IsCurrencyCode("EUR"));
  EXPECT_FALSE(IsCurrencyCode("eur"));
  EXPECT_TRUE(IsCountryCode("DE"));
  EXPECT_TRUE(IsCountryCode("ZW"));
  EXPECT_TRUE(IsCountryCode("AD"));
  EXPECT_FALSE(IsCountryCode("UK"));
}

}  // namespace
}  // namespace rapport::validation
