#include "server/query/filter_compiler.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query/query_test_util.h"

namespace rapport::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

SqlFragment Contacts(absl::string_view filter) {
  absl::StatusOr<SqlFragment> f = CompileFilter(filter, ContactSchema());
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() ? *f : SqlFragment{};
}

SqlFragment Interactions(absl::string_view filter) {
  absl::StatusOr<SqlFragment> f = CompileFilter(filter, InteractionSchema());
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() ? *f : SqlFragment{};
}

absl::Status ContactsError(absl::string_view filter) {
  return CompileFilter(filter, ContactSchema()).status();
}

SqlParam S(const char* s) { return std::string(s); }
SqlParam I(int64_t n) { return n; }

TEST(CompileFilter, EmptyFilterGivesEmptySql) {
  SqlFragment f = Contacts("  ");
  EXPECT_EQ(f.sql, "");
  EXPECT_THAT(f.params, IsEmpty());
}

TEST(CompileFilter, StringFields) {
  for (const char* field : {"given_name", "family_name", "display_name",
                            "company", "job_title", "owner", "source"}) {
    SqlFragment f = Contacts(absl::StrCat(field, " = \"Acme\""));
    EXPECT_EQ(f.sql, absl::StrCat("(c.", field, " = ?)"));
    EXPECT_THAT(f.params, ElementsAre(S("Acme")));
  }
  EXPECT_EQ(Contacts("company != Acme").sql, "(c.company <> ?)");
  EXPECT_EQ(Contacts("company < M").sql, "(c.company < ?)");
  EXPECT_EQ(Contacts("company <= M").sql, "(c.company <= ?)");
  EXPECT_EQ(Contacts("company > M").sql, "(c.company > ?)");
  EXPECT_EQ(Contacts("company >= M").sql, "(c.company >= ?)");
  EXPECT_EQ(Contacts("company : Acme").sql, "(c.company = ?)");
  EXPECT_EQ(Contacts("company:*").sql, "(c.company <> '')");
}

TEST(CompileFilter, WildcardsBecomeEscapedLike) {
  SqlFragment f = Contacts(R"(company = "Ac*me_100%!\\*")");
  EXPECT_EQ(f.sql, "(c.company LIKE ? ESCAPE '!')");
  EXPECT_THAT(f.params, ElementsAre(S("Ac%me!_100!%!!!\\%")));
  f = Contacts("company != *corp");
  EXPECT_EQ(f.sql, "(c.company NOT LIKE ? ESCAPE '!')");
  EXPECT_THAT(f.params, ElementsAre(S("%corp")));
  // An escaped star is literal: plain equality.
  f = Contacts(R"(company = "A\*B")");
  EXPECT_EQ(f.sql, "(c.company = ?)");
  EXPECT_THAT(f.params, ElementsAre(S("A*B")));
  // Wildcards only apply to = and !=.
  f = Contacts("company > A*");
  EXPECT_EQ(f.sql, "(c.company > ?)");
  EXPECT_THAT(f.params, ElementsAre(S("A*")));
}

TEST(CompileFilter, ToLikePattern) {
  EXPECT_EQ(ToLikePattern("a%b_c!d\\e*", {9}), "a!%b!_c!!d!\\e%");
  EXPECT_EQ(ToLikePattern("**", {0, 1}), "%%");
  EXPECT_EQ(ToLikePattern("*", {}), "*");
}

TEST(CompileFilter, IdFields) {
  SqlFragment f = Contacts("id = 42");
  EXPECT_EQ(f.sql, "(c.id = ?)");
  EXPECT_THAT(f.params, ElementsAre(I(42)));
  f = Contacts("id > \"7\"");
  EXPECT_EQ(f.sql, "(c.id > ?)");
  EXPECT_THAT(f.params, ElementsAre(I(7)));
  EXPECT_THAT(ContactsError("id = abc"),
              StatusIs(kInvalid,
                       "filter: id expects a decimal id, got "
                       "\"abc\" at position 6"));
  EXPECT_THAT(ContactsError("id = 99999999999999999999"),
              StatusIs(kInvalid, "id expects a decimal id"));
  EXPECT_THAT(ContactsError("id = 4*"), StatusIs(kInvalid, "decimal id"));
}

TEST(CompileFilter, NullableInt64) {
  SqlFragment f = Contacts("merged_into = 5");
  EXPECT_EQ(f.sql, "((c.merged_into IS NOT NULL AND c.merged_into = ?))");
  f = Contacts("merged_into != 5");
  EXPECT_EQ(f.sql, "((c.merged_into IS NULL OR c.merged_into <> ?))");
  EXPECT_EQ(Contacts("merged_into = null").sql, "(c.merged_into IS NULL)");
  EXPECT_EQ(Contacts("merged_into != null").sql, "(c.merged_into IS NOT NULL)");
  EXPECT_EQ(Contacts("merged_into:*").sql, "(c.merged_into IS NOT NULL)");
  EXPECT_THAT(ContactsError("merged_into = \"null\""),
              StatusIs(kInvalid, "merged_into expects an integer"));
}

TEST(CompileFilter, Enums) {
  SqlFragment f = Contacts("lifecycle_stage = CUSTOMER");
  EXPECT_EQ(f.sql, "(c.lifecycle_stage = ?)");
  EXPECT_THAT(f.params, ElementsAre(I(3)));
  f = Contacts("lifecycle_stage != \"CHURNED\"");
  EXPECT_EQ(f.sql, "(c.lifecycle_stage <> ?)");
  EXPECT_THAT(f.params, ElementsAre(I(5)));
  EXPECT_THAT(
      ContactsError("lifecycle_stage = customer"),
      StatusIs(kInvalid,
               "filter: lifecycle_stage expects one of LEAD, PROSPECT, "
               "CUSTOMER, INACTIVE, CHURNED, got \"customer\" at position 19"));
  EXPECT_THAT(ContactsError("lifecycle_stage = LIFECYCLE_STAGE_UNSPECIFIED"),
              StatusIs(kInvalid, "lifecycle_stage expects one of"));
  EXPECT_THAT(ContactsError("lifecycle_stage = 3"),
              StatusIs(kInvalid, "lifecycle_stage expects one of"));
  EXPECT_THAT(ContactsError("lifecycle_stage > LEAD"),
              StatusIs(kInvalid,
                       "operator \">\" is not supported on "
                       "lifecycle_stage; use = or != at position "
                       "17"));

  f = Interactions("type = PURCHASE OR direction = INBOUND");
  EXPECT_EQ(f.sql, "(i.type = ? OR i.direction = ?)");
  EXPECT_THAT(f.params, ElementsAre(I(1), I(1)));
  EXPECT_THAT(
      CompileFilter("direction = DIRECTION_UNSPECIFIED", InteractionSchema()),
      StatusIs(kInvalid, "direction expects one of INBOUND, OUTBOUND"));
}

TEST(CompileFilter, Booleans) {
  SqlFragment f = Contacts("consent.email_opt_in = true");
  EXPECT_EQ(f.sql, "(c.email_opt_in = ?)");
  EXPECT_THAT(f.params, ElementsAre(SqlParam(true)));
  f = Contacts("consent.sms_opt_in != false consent.do_not_contact = false");
  EXPECT_EQ(f.sql, "(c.sms_opt_in <> ? AND c.do_not_contact = ?)");
  EXPECT_THAT(f.params, ElementsAre(SqlParam(false), SqlParam(false)));
  EXPECT_THAT(ContactsError("consent.email_opt_in = yes"),
              StatusIs(kInvalid,
                       "consent.email_opt_in expects true or "
                       "false, got \"yes\" at position 24"));
  EXPECT_THAT(ContactsError("consent.email_opt_in < true"),
              StatusIs(kInvalid, "operator \"<\" is not supported"));
  EXPECT_THAT(ContactsError("consent = true"),
              StatusIs(kInvalid, "unknown field \"consent\""));
}

TEST(CompileFilter, Timestamps) {
  SqlFragment f = Contacts(
      "create_time >= \"2024-05-01T12:00:00Z\" AND create_time < "
      "2024-06-01T00:00:00.5+02:00");
  EXPECT_EQ(f.sql, "(c.create_time >= ? AND c.create_time < ?)");
  EXPECT_THAT(f.params, ElementsAre(S("2024-05-01 12:00:00.000000"),
                                    S("2024-05-31 22:00:00.500000")));
  f = Contacts("last_interaction_time < 2024-01-01T00:00:00Z");
  EXPECT_EQ(f.sql,
            "((c.last_interaction_time IS NOT NULL AND "
            "c.last_interaction_time < ?))");
  EXPECT_EQ(Contacts("delete_time = null").sql, "(c.delete_time IS NULL)");
  EXPECT_EQ(Contacts("update_time > 2024-01-01T00:00:00Z").sql,
            "(c.update_time > ?)");
  EXPECT_THAT(ContactsError("create_time > yesterday"),
              StatusIs(kInvalid,
                       "filter: create_time expects an RFC 3339 "
                       "timestamp such as \"2024-05-01T12:00:00Z\", "
                       "got \"yesterday\" at position 15"));
  EXPECT_THAT(ContactsError("create_time > 2024-05-01"),
              StatusIs(kInvalid, "create_time expects an RFC 3339"));
  EXPECT_THAT(ContactsError("create_time > infinite-future"),
              StatusIs(kInvalid, "create_time expects a timestamp between"));
  EXPECT_THAT(ContactsError("create_time > 0001-01-01T00:00:00Z"),
              StatusIs(kInvalid, "create_time expects a timestamp between"));
  f = Interactions("occur_time > 2024-01-01T00:00:00Z");
  EXPECT_EQ(f.sql, "(i.occur_time > ?)");
}

TEST(CompileFilter, RepeatedFields) {
  SqlFragment f = Contacts("emails:\"Ann@Example.COM\"");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM contact_emails e1 WHERE e1.contact_id = "
            "c.id AND e1.email = ?))");
  EXPECT_THAT(f.params, ElementsAre(S("ann@example.com")));
  f = Contacts("emails = a@b.com");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM contact_emails e1 WHERE e1.contact_id = "
            "c.id AND e1.email = ?))");
  f = Contacts("tags != VIP");
  EXPECT_EQ(f.sql,
            "(NOT EXISTS (SELECT 1 FROM contact_tags t1 WHERE t1.contact_id = "
            "c.id AND t1.tag = ?))");
  EXPECT_THAT(f.params, ElementsAre(S("vip")));
  f = Contacts("phones:\"+4930*\"");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM contact_phones p1 WHERE p1.contact_id = "
            "c.id AND p1.phone LIKE ? ESCAPE '!'))");
  EXPECT_THAT(f.params, ElementsAre(S("+4930%")));
  f = Contacts("tags:*");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM contact_tags t1 WHERE t1.contact_id = "
            "c.id))");
  EXPECT_THAT(ContactsError("tags > a"),
              StatusIs(kInvalid, "operator \">\" is not supported on tags"));
}

TEST(CompileFilter, DistinctSubqueryAliases) {
  SqlFragment f =
      Contacts("tags:vip AND (emails:\"x@y.z\" OR tags:gold) attributes.a=1");
  EXPECT_THAT(f.sql, HasSubstr("contact_tags t1 WHERE t1.contact_id"));
  EXPECT_THAT(f.sql, HasSubstr("contact_emails e2 WHERE e2.contact_id"));
  EXPECT_THAT(f.sql, HasSubstr("contact_tags t3 WHERE t3.contact_id"));
  EXPECT_THAT(f.sql, HasSubstr("contact_attributes a4 WHERE a4.contact_id"));
  EXPECT_THAT(f.params,
              ElementsAre(S("vip"), S("x@y.z"), S("gold"), S("a"), S("1")));
}

TEST(CompileFilter, ContactAttributes) {
  SqlFragment f = Contacts("attributes.plan = \"gold\"");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM contact_attributes a1 WHERE a1.contact_id "
            "= c.id AND a1.name = ? AND a1.value = ?))");
  EXPECT_THAT(f.params, ElementsAre(S("plan"), S("gold")));
  f = Contacts("attributes.plan != gold");
  EXPECT_EQ(f.sql,
            "(NOT EXISTS (SELECT 1 FROM contact_attributes a1 WHERE "
            "a1.contact_id = c.id AND a1.name = ? AND a1.value = ?))");
  f = Contacts("attributes.score >= 10");
  EXPECT_THAT(f.sql, HasSubstr("a1.name = ? AND a1.value >= ?"));
  f = Contacts("attributes.plan = go*");
  EXPECT_THAT(f.sql, HasSubstr("a1.value LIKE ? ESCAPE '!'"));
  EXPECT_THAT(f.params, ElementsAre(S("plan"), S("go%")));
  for (const char* presence :
       {"attributes:plan", "attributes:\"plan\"", "attributes.plan:*"}) {
    f = Contacts(presence);
    EXPECT_EQ(f.sql,
              "(EXISTS (SELECT 1 FROM contact_attributes a1 WHERE "
              "a1.contact_id = c.id AND a1.name = ?))")
        << presence;
    EXPECT_THAT(f.params, ElementsAre(S("plan")));
  }
  EXPECT_THAT(ContactsError("attributes.Plan = x"),
              StatusIs(kInvalid,
                       "attribute key \"Plan\" must match "
                       "[a-z][a-z0-9_]{0,63} at position 12"));
  EXPECT_THAT(ContactsError("attributes:\"bad key\""),
              StatusIs(kInvalid, "attribute key \"bad key\" must match"));
  EXPECT_THAT(
      ContactsError(absl::StrCat("attributes.a", std::string(64, 'b'), " = x")),
      StatusIs(kInvalid, "must match [a-z][a-z0-9_]{0,63}"));
  EXPECT_THAT(ContactsError("attributes = x"),
              StatusIs(kInvalid, "attributes needs a key"));
}

TEST(CompileFilter, InteractionFields) {
  SqlFragment f = Interactions(
      "contact_id = 9 channel = web actor = \"bob\" "
      "amount.currency_code = EUR amount.amount_minor > 1000");
  EXPECT_EQ(f.sql,
            "(i.contact_id = ? AND i.channel = ? AND i.actor = ? AND "
            "(i.amount_currency IS NOT NULL AND i.amount_currency = ?) AND "
            "(i.amount_minor IS NOT NULL AND i.amount_minor > ?))");
  EXPECT_THAT(f.params,
              ElementsAre(I(9), S("web"), S("bob"), S("EUR"), I(1000)));
  EXPECT_EQ(Interactions("amount.currency_code = null").sql,
            "(i.amount_currency IS NULL)");
  EXPECT_THAT(CompileFilter("tags:vip", InteractionSchema()),
              StatusIs(kInvalid,
                       "unknown field \"tags\" at position 1; "
                       "known fields of interactions: id, type,"));
}

TEST(CompileFilter, InteractionJsonAttributes) {
  SqlFragment f = Interactions("attributes.sku = \"A-1\"");
  EXPECT_EQ(f.sql,
            "(COALESCE(JSON_UNQUOTE(JSON_EXTRACT(i.attributes, ?)) = ?, "
            "FALSE))");
  EXPECT_THAT(f.params, ElementsAre(S("$.\"sku\""), S("A-1")));
  f = Interactions("attributes.sku != \"A-1\"");
  EXPECT_EQ(f.sql,
            "(NOT COALESCE(JSON_UNQUOTE(JSON_EXTRACT(i.attributes, ?)) = ?, "
            "FALSE))");
  f = Interactions("attributes.sku = A*");
  EXPECT_EQ(f.sql,
            "(COALESCE(JSON_UNQUOTE(JSON_EXTRACT(i.attributes, ?)) LIKE ? "
            "ESCAPE '!', FALSE))");
  EXPECT_THAT(f.params, ElementsAre(S("$.\"sku\""), S("A%")));
  f = Interactions("attributes:sku");
  EXPECT_EQ(f.sql, "(JSON_EXTRACT(i.attributes, ?) IS NOT NULL)");
  EXPECT_THAT(f.params, ElementsAre(S("$.\"sku\"")));
  EXPECT_EQ(Interactions("attributes:*").sql, "(i.attributes IS NOT NULL)");
}

TEST(CompileFilter, BooleanStructure) {
  SqlFragment f =
      Contacts("company = a AND owner = b OR NOT source = c -job_title = d");
  EXPECT_EQ(f.sql,
            "(c.company = ? AND (c.owner = ? OR NOT (c.source = ?)) AND NOT "
            "(c.job_title = ?))");
  EXPECT_THAT(f.params, ElementsAre(S("a"), S("b"), S("c"), S("d")));
  EXPECT_EQ(Contacts("NOT (company = a OR company = b)").sql,
            "(NOT ((c.company = ? OR c.company = ?)))");
}

TEST(CompileFilter, UnknownFieldListsKnownOnes) {
  EXPECT_THAT(
      ContactsError("lifecyle_stage = LEAD"),
      StatusIs(kInvalid,
               "filter: unknown field \"lifecyle_stage\" at position 1; known "
               "fields of contacts: id, given_name, family_name, "
               "display_name, company, job_title, owner, source, "
               "lifecycle_stage, consent.email_opt_in, consent.sms_opt_in, "
               "consent.do_not_contact, create_time, update_time, "
               "last_interaction_time, delete_time, merged_into, emails, "
               "phones, tags, attributes.<key>"));
  EXPECT_THAT(ContactsError("company = a AND bogus.x = 1"),
              StatusIs(kInvalid, "unknown field \"bogus.x\" at position 17"));
}

TEST(CompileFilter, InjectionStaysInParams) {
  const std::vector<std::string> evil = {
      "x' OR '1'='1", "1; DROP TABLE contacts; --", "\\' OR 1=1 -- ",
      "Robert'); DROP TABLE contacts;--", "a\" OR \"1\"=\"1"};
  for (const std::string& v : evil) {
    std::string quoted = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    quoted += "\"";
    for (const std::string& filter :
         {absl::StrCat("company = ", quoted), absl::StrCat("tags:", quoted),
          absl::StrCat("attributes.k = ", quoted),
          absl::StrCat("company = ", quoted, " OR owner != ", quoted)}) {
      SqlFragment f = Contacts(filter);
      EXPECT_THAT(f.sql, Not(HasSubstr(v))) << filter;
      EXPECT_THAT(f.sql, Not(HasSubstr("DROP"))) << filter;
      EXPECT_THAT(f.sql, Not(HasSubstr("'1'"))) << filter;
      bool found = false;
      for (const SqlParam& p : f.params) {
        if (std::holds_alternative<std::string>(p) &&
            absl::AsciiStrToLower(std::get<std::string>(p)) ==
                absl::AsciiStrToLower(v)) {
          found = true;
        }
      }
      EXPECT_TRUE(found) << filter;
    }
  }
  // Keys can't smuggle SQL either: they must match the key pattern.
  EXPECT_THAT(ContactsError("attributes:\"a') OR 1=1 --\""),
              StatusIs(kInvalid, "attribute key"));
  EXPECT_THAT(CompileFilter("attributes:\"a\\\"]'\"", InteractionSchema()),
              StatusIs(kInvalid, "attribute key"));
}

TEST(CompileFilter, DeepButAllowedNestingCompiles) {
  std::string f;
  for (int i = 0; i < 30; ++i) f += "NOT (";
  f += "company = a";
  for (int i = 0; i < 30; ++i) f += ")";
  SqlFragment out = Contacts(f);
  EXPECT_THAT(out.params, ElementsAre(S("a")));
}

}  // namespace
}  // namespace rapport::query
