#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

class SmokeTest : public ServerFixture {};

TEST_F(SmokeTest, CreateGetList) {
  v1::Contact c = MakeContact("Ada", "Lovelace", "Ada@Example.com");
  c.add_phones("+44 20 7946 0958");
  c.add_tags("VIP");
  (*c.mutable_attributes())["plan"] = "gold";
  v1::Contact created = MustCreate(c);
  ASSERT_FALSE(created.id().empty());
  EXPECT_EQ(created.emails(0), "ada@example.com");
  EXPECT_EQ(created.tags(0), "vip");
  EXPECT_EQ(created.display_name(), "Ada Lovelace");
  EXPECT_EQ(created.attributes().at("plan"), "gold");

  v1::GetContactRequest get;
  get.set_id(created.id());
  v1::Contact got;
  ASSERT_TRUE(contacts().GetContact(Context().get(), get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  v1::ListContactsRequest list;
  list.set_filter("tags:\"vip\" AND attributes.plan = \"gold\"");
  v1::ListContactsResponse page;
  grpc::Status s = contacts().ListContacts(Context().get(), list, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(page.contacts_size(), 1);
  EXPECT_EQ(page.total_size(), 1);
}

}  // namespace
}  // namespace rapport::testing
