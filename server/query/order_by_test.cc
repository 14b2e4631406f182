#include "server/query/order_by.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query/query_test_util.h"

namespace rapport::query {
namespace {

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string Sql(absl::string_view order_by,
                const ResourceSchema& schema = ContactSchema()) {
  absl::StatusOr<OrderBy> o = ParseOrderBy(order_by, schema);
  if (!o.ok()) return absl::StrCat("ERROR: ", o.status().message());
  return o->sql;
}

TEST(ParseOrderBy, Defaults) {
  EXPECT_EQ(Sql(""), "ORDER BY c.id ASC");
  EXPECT_EQ(Sql("  "), "ORDER BY c.id ASC");
  EXPECT_EQ(Sql("", InteractionSchema()),
            "ORDER BY i.occur_time DESC, i.id DESC");
}

TEST(ParseOrderBy, DirectionsAndTieBreaker) {
  EXPECT_EQ(Sql("create_time desc, id"),
            "ORDER BY c.create_time DESC, c.id ASC");
  EXPECT_EQ(Sql("create_time desc"), "ORDER BY c.create_time DESC, c.id DESC");
  EXPECT_EQ(Sql("family_name, given_name desc"),
            "ORDER BY c.family_name ASC, c.given_name DESC, c.id DESC");
  EXPECT_EQ(Sql("company ASC"), "ORDER BY c.company ASC, c.id ASC");
  EXPECT_EQ(Sql("  company   DESC  ,display_name "),
            "ORDER BY c.company DESC, c.display_name ASC, c.id ASC");
  EXPECT_EQ(Sql("id desc"), "ORDER BY c.id DESC");
  // Keys after the unique id cannot matter and are dropped.
  EXPECT_EQ(Sql("id, company"), "ORDER BY c.id ASC");
  EXPECT_EQ(Sql("create_time", InteractionSchema()),
            "ORDER BY i.create_time ASC, i.id ASC");
}

TEST(ParseOrderBy, KeysDescribeColumns) {
  absl::StatusOr<OrderBy> o =
      ParseOrderBy("last_interaction_time desc, given_name", ContactSchema());
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->keys.size(), 3u);
  EXPECT_EQ(o->keys[0].field, "last_interaction_time");
  EXPECT_EQ(o->keys[0].column, "c.last_interaction_time");
  EXPECT_EQ(o->keys[0].type, SortType::kTimestamp);
  EXPECT_TRUE(o->keys[0].nullable);
  EXPECT_TRUE(o->keys[0].descending);
  EXPECT_EQ(o->keys[1].type, SortType::kString);
  EXPECT_FALSE(o->keys[1].nullable);
  EXPECT_FALSE(o->keys[1].descending);
  EXPECT_EQ(o->keys[2].field, "id");
  EXPECT_EQ(o->keys[2].type, SortType::kInt64);
  EXPECT_FALSE(o->keys[2].descending);
}

TEST(ParseOrderBy, Errors) {
  EXPECT_THAT(ParseOrderBy("tags", ContactSchema()),
              StatusIs(kInvalid,
                       "order_by: cannot sort contacts by \"tags\"; sortable "
                       "fields: id, create_time, update_time, "
                       "last_interaction_time, given_name, family_name, "
                       "display_name, company"));
  EXPECT_THAT(ParseOrderBy("company, company desc", ContactSchema()),
              StatusIs(kInvalid,
                       "order_by: \"company\" appears more than "
                       "once"));
  EXPECT_THAT(ParseOrderBy("company sideways", ContactSchema()),
              StatusIs(kInvalid, "order_by: unknown direction \"sideways\""));
  EXPECT_THAT(ParseOrderBy("company desc asc", ContactSchema()),
              StatusIs(kInvalid,
                       "order_by: cannot parse \"company desc "
                       "asc\""));
  EXPECT_THAT(ParseOrderBy("company,,id", ContactSchema()),
              StatusIs(kInvalid, "order_by: sort key 2 is empty"));
  EXPECT_THAT(ParseOrderBy("company,", ContactSchema()),
              StatusIs(kInvalid, "order_by: sort key 2 is empty"));
  EXPECT_THAT(ParseOrderBy("Company", ContactSchema()),
              StatusIs(kInvalid, "cannot sort contacts by \"Company\""));
  EXPECT_THAT(ParseOrderBy("c.id; DROP TABLE x", ContactSchema()),
              StatusIs(kInvalid, "order_by:"));
  EXPECT_THAT(ParseOrderBy(std::string(2000, 'a'), ContactSchema()),
              StatusIs(kInvalid, "order_by: too long"));
  EXPECT_THAT(ParseOrderBy("company", InteractionSchema()),
              StatusIs(kInvalid, "cannot sort interactions by \"company\""));
}

}  // namespace
}  // namespace rapport::query
