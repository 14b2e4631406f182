#include <string>

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
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask mask;
  for (const char* p : paths) mask.add_paths(p);
  return mask;
}

// A stored (normalised) contact.
Contact Existing() {
  Contact c;
  c.set_id("7");
  c.set_etag("e1");
  c.set_given_name("Ada");
  c.set_family_name("Lovelace");
  c.set_display_name("Ada Lovelace");
  c.add_emails("ada@example.com");
  c.add_phones("+4930123456");
  c.set_company("Engines");
  c.set_job_title("Programmer");
  c.mutable_address()->add_lines("1 Main St");
  c.mutable_address()->set_locality("London");
  c.mutable_address()->set_country_code("GB");
  c.add_tags("vip");
  (*c.mutable_attributes())["plan"] = "gold";
  (*c.mutable_attributes())["tier"] = "2";
  c.set_lifecycle_stage(rapport::v1::CUSTOMER);
  c.set_owner("team-1");
  c.set_source("import");
  c.mutable_consent()->set_email_opt_in(true);
  c.mutable_create_time()->set_seconds(1000);
  return c;
}

TEST(ApplyContactUpdate, EmptyMaskIsRejected) {
  EXPECT_THAT(ApplyContactUpdate(Existing(), Contact(), Mask({})),
              StatusIs(kInvalid, HasSubstr("update_mask: required; name the "
                                           "fields to change")));
}

TEST(ApplyContactUpdate, OutputOnlyPathsAreRejected) {
  for (const char* path :
       {"id", "etag", "create_time", "update_time", "delete_time",
        "last_interaction_time", "merged_into", "create_time.seconds"}) {
    EXPECT_THAT(
        ApplyContactUpdate(Existing(), Contact(), Mask({path})),
        StatusIs(kInvalid, HasSubstr(absl::StrCat("update_mask: \"", path,
                                                  "\" is output only"))))
        << path;
  }
}

TEST(ApplyContactUpdate, UnknownPathsListTheValidOnes) {
  for (const char* path :
       {"nickname", "address.street", "consent.phone", "given_name.first",
        "emails.0", "", "GivenName", "*.x"}) {
    EXPECT_THAT(ApplyContactUpdate(Existing(), Contact(), Mask({path})),
                StatusIs(kInvalid, HasSubstr("update_mask: unknown field")))
        << path;
  }
  EXPECT_THAT(ApplyContactUpdate(Existing(), Contact(), Mask({"nickname"})),
              StatusIs(kInvalid, HasSubstr("valid paths: given_name, "
                                           "family_name")));
}

TEST(ApplyContactUpdate, CopiesOnlyTheNamedFields) {
  Contact patch;
  patch.set_company("Babbage & Co");
  patch.set_job_title("ignored");
  patch.add_tags("new");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch, Mask({"company", "tags"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->company(), "Babbage & Co");
  EXPECT_EQ(got->job_title(), "Programmer");
  EXPECT_THAT(got->tags(), ElementsAre("new"));
  EXPECT_EQ(got->id(), "7");
  EXPECT_EQ(got->create_time().seconds(), 1000);
}

TEST(ApplyContactUpdate, UnsetInPatchClearsTheField) {
  absl::StatusOr<Contact> got = ApplyContactUpdate(
      Existing(), Contact(),
      Mask({"emails", "phones", "address", "consent", "lifecycle_stage"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->emails_size(), 0);
  EXPECT_EQ(got->phones_size(), 0);
  EXPECT_FALSE(got->has_address());
  EXPECT_FALSE(got->has_consent());
  EXPECT_EQ(got->lifecycle_stage(), rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED);
}

TEST(ApplyContactUpdate, RepeatedFieldsAreReplacedWhole) {
  Contact patch;
  patch.add_emails("new@example.com");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch, Mask({"emails"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(got->emails(), ElementsAre("new@example.com"));
}

TEST(ApplyContactUpdate, AddressSubfields) {
  Contact patch;
  patch.mutable_address()->set_locality("Paris");
  patch.mutable_address()->set_country_code("FR");
  patch.mutable_address()->add_lines("ignored");
  absl::StatusOr<Contact> got = ApplyContactUpdate(
      Existing(), patch, Mask({"address.locality", "address.country_code"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(got->address().lines(), ElementsAre("1 Main St"));
  EXPECT_EQ(got->address().locality(), "Paris");
  EXPECT_EQ(got->address().country_code(), "FR");

  got = ApplyContactUpdate(
      Existing(), Contact(),
      Mask({"address.lines", "address.region", "address.postal_code"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->address().lines_size(), 0);
  EXPECT_EQ(got->address().locality(), "London");
}

TEST(ApplyContactUpdate, ConsentSubfields) {
  Contact patch;
  patch.mutable_consent()->set_sms_opt_in(true);
  patch.mutable_consent()->set_do_not_contact(true);
  absl::StatusOr<Contact> got = ApplyContactUpdate(
      Existing(), patch, Mask({"consent.sms_opt_in", "consent.email_opt_in"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(got->consent().email_opt_in());
  EXPECT_TRUE(got->consent().sms_opt_in());
  EXPECT_FALSE(got->consent().do_not_contact());

  got = ApplyContactUpdate(Existing(), patch, Mask({"consent.do_not_contact"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->consent().email_opt_in());
  EXPECT_TRUE(got->consent().do_not_contact());
}

TEST(ApplyContactUpdate, AttributeKeysAreSetOrRemoved) {
  Contact patch;
  (*patch.mutable_attributes())["plan"] = "platinum";
  (*patch.mutable_attributes())["region"] = "emea";
  (*patch.mutable_attributes())["ignored"] = "x";
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch,
                         Mask({"attributes.plan", "attributes.region",
                               "attributes.tier", "attributes.absent"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(got->attributes(), UnorderedElementsAre(Pair("plan", "platinum"),
                                                      Pair("region", "emea")));
}

TEST(ApplyContactUpdate, WholeAttributesMapIsReplaced) {
  Contact patch;
  (*patch.mutable_attributes())["region"] = "emea";
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch, Mask({"attributes"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(got->attributes(), UnorderedElementsAre(Pair("region", "emea")));
}

TEST(ApplyContactUpdate, AttributePathNeedsAValidKey) {
  for (const char* path :
       {"attributes.", "attributes.Plan", "attributes.a.b", "attributes.1x"}) {
    EXPECT_THAT(ApplyContactUpdate(Existing(), Contact(), Mask({path})),
                StatusIs(kInvalid, HasSubstr("names an invalid attribute key")))
        << path;
  }
}

TEST(ApplyContactUpdate, StarReplacesEveryUpdatableField) {
  Contact patch;
  patch.set_id("999");
  patch.set_etag("other");
  patch.set_given_name("Charles");
  patch.add_tags("engineer");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch, Mask({"*"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->given_name(), "Charles");
  EXPECT_EQ(got->family_name(), "");
  EXPECT_EQ(got->display_name(), "");  // re-derived by NormalizeContact
  EXPECT_EQ(got->emails_size(), 0);
  EXPECT_FALSE(got->has_address());
  EXPECT_THAT(got->tags(), ElementsAre("engineer"));
  EXPECT_EQ(got->attributes_size(), 0);
  EXPECT_EQ(got->id(), "7");  // output only: kept
  EXPECT_EQ(got->etag(), "e1");
  EXPECT_EQ(got->create_time().seconds(), 1000);
}

TEST(ApplyContactUpdate, DerivedDisplayNameFollowsTheNames) {
  Contact patch;
  patch.set_given_name("Augusta");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(Existing(), patch, Mask({"given_name"}));
  ASSERT_THAT(got, IsOk());
  ASSERT_THAT(NormalizeContact(&*got, {}), IsOk());
  EXPECT_EQ(got->display_name(), "Augusta Lovelace");
}

TEST(ApplyContactUpdate, ChosenDisplayNameIsKept) {
  Contact existing = Existing();
  existing.set_display_name("The Countess");
  Contact patch;
  patch.set_given_name("Augusta");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(existing, patch, Mask({"given_name"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->display_name(), "The Countess");
}

TEST(ApplyContactUpdate, DisplayNameInMaskWins) {
  Contact patch;
  patch.set_given_name("Augusta");
  patch.set_display_name("Gus");
  absl::StatusOr<Contact> got = ApplyContactUpdate(
      Existing(), patch, Mask({"given_name", "display_name"}));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->display_name(), "Gus");

  // Clearing it through the mask asks for a derived one.
  got = ApplyContactUpdate(Existing(), Contact(), Mask({"display_name"}));
  ASSERT_THAT(got, IsOk());
  ASSERT_THAT(NormalizeContact(&*got, {}), IsOk());
  EXPECT_EQ(got->display_name(), "Ada Lovelace");
}

TEST(ApplyContactUpdate, EmailDerivedDisplayNameFollowsThePrimaryEmail) {
  Contact existing;
  existing.add_emails("old@example.com");
  ASSERT_THAT(NormalizeContact(&existing, {}), IsOk());
  ASSERT_EQ(existing.display_name(), "old@example.com");
  Contact patch;
  patch.add_emails("new@example.com");
  absl::StatusOr<Contact> got =
      ApplyContactUpdate(existing, patch, Mask({"emails"}));
  ASSERT_THAT(got, IsOk());
  ASSERT_THAT(NormalizeContact(&*got, {}), IsOk());
  EXPECT_EQ(got->display_name(), "new@example.com");
}

}  // namespace
}  // namespace rapport::validation
