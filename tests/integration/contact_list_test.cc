// Integration tests of ContactService.ListContacts over real gRPC against a
// real database: page sizes, AIP-160 filters, free-text query, order_by,
// show_deleted, total_size, page tokens (also under concurrent inserts) and
// hostile input that must stay plain data.
#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

class ContactListTest : public ServerFixture {
 protected:
  grpc::Status List(const v1::ListContactsRequest& request,
                    v1::ListContactsResponse* response) {
    return contacts().ListContacts(Context().get(), request, response);
  }

  // The ids of the contacts matching `filter` (one page of up to 1000).
  std::vector<std::string> Ids(const std::string& filter,
                               const std::string& query = "",
                               const std::string& order_by = "") {
    v1::ListContactsRequest request;
    request.set_filter(filter);
    request.set_query(query);
    request.set_order_by(order_by);
    request.set_page_size(1000);
    v1::ListContactsResponse response;
    grpc::Status status = List(request, &response);
    EXPECT_OK(status) << "filter: " << filter << " query: " << query;
    std::vector<std::string> ids;
    for (const v1::Contact& c : response.contacts()) ids.push_back(c.id());
    EXPECT_EQ(response.total_size(), static_cast<int64_t>(ids.size()));
    return ids;
  }

  grpc::Status FilterStatus(const std::string& filter) {
    v1::ListContactsRequest request;
    request.set_filter(filter);
    v1::ListContactsResponse response;
    return List(request, &response);
  }

  // Walks every page of `request` with `page_size`; returns the ids in order.
  std::vector<std::string> WalkIds(v1::ListContactsRequest request,
                                   int page_size) {
    request.set_page_size(page_size);
    request.clear_page_token();
    std::vector<std::string> ids;
    for (int pages = 0; pages < 10000; ++pages) {
      v1::ListContactsResponse response;
      grpc::Status status = List(request, &response);
      EXPECT_OK(status);
      if (!status.ok()) break;
      EXPECT_LE(response.contacts_size(), page_size);
      for (const v1::Contact& c : response.contacts()) ids.push_back(c.id());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  // Imports `rows` through the ImportContacts stream, 500 per message; all
  // must succeed.
  void Import(const std::vector<v1::Contact>& rows) {
    auto context = Context();
    v1::ImportContactsResponse response;
    auto writer = contacts().ImportContacts(context.get(), &response);
    for (size_t i = 0; i < rows.size(); i += 500) {
      v1::ImportContactsRequest batch;
      for (size_t j = i; j < std::min(rows.size(), i + 500); ++j) {
        *batch.add_contacts() = rows[j];
      }
      ASSERT_TRUE(writer->Write(batch));
    }
    ASSERT_TRUE(writer->WritesDone());
    ASSERT_OK(writer->Finish());
    ASSERT_EQ(response.failed_count(), 0)
        << (response.errors_size() ? response.errors(0).message() : "");
    ASSERT_EQ(response.created_count() + response.updated_count(),
              static_cast<int64_t>(rows.size()));
  }

  // `n` contacts "Given<i> Family<i>" with no e-mail.
  void ImportNumbered(int n, const std::string& prefix = "") {
    std::vector<v1::Contact> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back(MakeContact(absl::StrCat(prefix, "Given", i),
                                 absl::StrCat(prefix, "Family", i), ""));
    }
    Import(rows);
  }

  void Exec(const std::string& sql) { ASSERT_OK(db().Execute(sql)); }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  void ExpectKeysetStableUnderInserts(const std::vector<std::string>& before,
                                      const std::string& order_by);

  std::vector<std::string> AllIds() {
    v1::ListContactsRequest request;
    request.set_show_deleted(true);
    return WalkIds(request, 1000);
  }
};

// ---------------------------------------------------------------- page_size

TEST_F(ContactListTest, PageSizeDefaultsTo50) {
  ImportNumbered(60);
  v1::ListContactsRequest request;
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.contacts_size(), 50);
  EXPECT_FALSE(response.next_page_token().empty());
  EXPECT_EQ(response.total_size(), 60);
}

TEST_F(ContactListTest, PageSizeAbove1000IsClampedTo1000) {
  ImportNumbered(1100);
  v1::ListContactsRequest request;
  request.set_page_size(5000);
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.contacts_size(), 1000);
  EXPECT_FALSE(response.next_page_token().empty());

  request.set_page_token(response.next_page_token());
  v1::ListContactsResponse rest;
  ASSERT_OK(List(request, &rest));
  EXPECT_EQ(rest.contacts_size(), 100);
  EXPECT_TRUE(rest.next_page_token().empty());
}

TEST_F(ContactListTest, NegativePageSizeIsInvalidArgument) {
  v1::ListContactsRequest request;
  request.set_page_size(-1);
  v1::ListContactsResponse response;
  EXPECT_THAT(
      List(request, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_size")));
}

TEST_F(ContactListTest, LastPageHasNoNextPageToken) {
  ImportNumbered(3);
  v1::ListContactsRequest request;
  request.set_page_size(3);
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.contacts_size(), 3);
  EXPECT_TRUE(response.next_page_token().empty());
}

// ---------------------------------------------------------------- filter

TEST_F(ContactListTest, FilterByLifecycleStage) {
  v1::Contact lead = MakeContact("Lead", "", "");
  v1::Contact customer = MakeContact("Customer", "", "");
  customer.set_lifecycle_stage(v1::CUSTOMER);
  v1::Contact churned = MakeContact("Churned", "", "");
  churned.set_lifecycle_stage(v1::CHURNED);
  const std::string lead_id = MustCreate(lead).id();
  const std::string customer_id = MustCreate(customer).id();
  const std::string churned_id = MustCreate(churned).id();

  EXPECT_THAT(Ids("lifecycle_stage = CUSTOMER"), ElementsAre(customer_id));
  EXPECT_THAT(Ids("lifecycle_stage = LEAD"), ElementsAre(lead_id));
  EXPECT_THAT(Ids("lifecycle_stage != CUSTOMER"),
              ElementsAre(lead_id, churned_id));
  EXPECT_THAT(FilterStatus("lifecycle_stage = VIP"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("lifecycle_stage")));
  EXPECT_THAT(FilterStatus("lifecycle_stage > LEAD"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("lifecycle_stage")));
}

TEST_F(ContactListTest, FilterByTags) {
  v1::Contact vip = MakeContact("Vip", "", "");
  vip.add_tags("vip");
  vip.add_tags("newsletter");
  v1::Contact news = MakeContact("News", "", "");
  news.add_tags("newsletter");
  const std::string vip_id = MustCreate(vip).id();
  const std::string news_id = MustCreate(news).id();
  const std::string none_id = MustCreate(MakeContact("None", "", "")).id();

  EXPECT_THAT(Ids("tags:\"vip\""), ElementsAre(vip_id));
  EXPECT_THAT(Ids("tags:\"VIP\""), ElementsAre(vip_id));  // tags are lower
  EXPECT_THAT(Ids("tags = \"newsletter\""), ElementsAre(vip_id, news_id));
  EXPECT_THAT(Ids("tags:\"news*\""), ElementsAre(vip_id, news_id));
  EXPECT_THAT(Ids("tags:*"), ElementsAre(vip_id, news_id));
  EXPECT_THAT(Ids("NOT tags:\"vip\""), ElementsAre(news_id, none_id));
  EXPECT_THAT(Ids("tags:\"vip\" AND tags:\"newsletter\""), ElementsAre(vip_id));
}

TEST_F(ContactListTest, FilterByEmails) {
  const std::string ada =
      MustCreate(MakeContact("Ada", "", "ada@example.com")).id();
  v1::Contact grace_contact = MakeContact("Grace", "", "grace@navy.example");
  grace_contact.add_emails("grace@example.com");
  const std::string grace = MustCreate(grace_contact).id();
  MustCreate(MakeContact("Nobody", "", ""));

  EXPECT_THAT(Ids("emails:\"ada@example.com\""), ElementsAre(ada));
  EXPECT_THAT(Ids("emails = \"ADA@Example.com\""), ElementsAre(ada));
  EXPECT_THAT(Ids("emails:\"grace@example.com\""), ElementsAre(grace));
  EXPECT_THAT(Ids("emails:\"*@example.com\""), ElementsAre(ada, grace));
  EXPECT_THAT(Ids("emails:\"*@navy.example\""), ElementsAre(grace));
  EXPECT_THAT(Ids("emails:*"), ElementsAre(ada, grace));
}

TEST_F(ContactListTest, FilterByCompanyWithWildcards) {
  v1::Contact a = MakeContact("A", "", "");
  a.set_company("Acme Corp");
  v1::Contact b = MakeContact("B", "", "");
  b.set_company("Acme Labs");
  v1::Contact c = MakeContact("C", "", "");
  c.set_company("Globex");
  const std::string a_id = MustCreate(a).id();
  const std::string b_id = MustCreate(b).id();
  const std::string c_id = MustCreate(c).id();

  EXPECT_THAT(Ids("company = \"Acme Corp\""), ElementsAre(a_id));
  EXPECT_THAT(Ids("company = \"Acme*\""), ElementsAre(a_id, b_id));
  EXPECT_THAT(Ids("company = \"*Labs\""), ElementsAre(b_id));
  EXPECT_THAT(Ids("company != \"Acme*\""), ElementsAre(c_id));
  EXPECT_THAT(Ids("company = \"Acme\""), IsEmpty());  // no implicit prefix
}

TEST_F(ContactListTest, FilterByOwner) {
  v1::Contact a = MakeContact("A", "", "");
  a.set_owner("team-north");
  v1::Contact b = MakeContact("B", "", "");
  b.set_owner("team-south");
  const std::string a_id = MustCreate(a).id();
  const std::string b_id = MustCreate(b).id();
  const std::string none = MustCreate(MakeContact("C", "", "")).id();

  EXPECT_THAT(Ids("owner = \"team-north\""), ElementsAre(a_id));
  EXPECT_THAT(Ids("owner = \"team-*\""), ElementsAre(a_id, b_id));
  EXPECT_THAT(Ids("owner = \"\""), ElementsAre(none));
}

TEST_F(ContactListTest, FilterByAttributes) {
  v1::Contact gold = MakeContact("Gold", "", "");
  (*gold.mutable_attributes())["plan"] = "gold";
  (*gold.mutable_attributes())["seats"] = "10";
  v1::Contact silver = MakeContact("Silver", "", "");
  (*silver.mutable_attributes())["plan"] = "silver";
  const std::string gold_id = MustCreate(gold).id();
  const std::string silver_id = MustCreate(silver).id();
  const std::string none_id = MustCreate(MakeContact("None", "", "")).id();

  EXPECT_THAT(Ids("attributes.plan = \"gold\""), ElementsAre(gold_id));
  EXPECT_THAT(Ids("attributes.plan = \"s*\""), ElementsAre(silver_id));
  EXPECT_THAT(Ids("attributes:plan"), ElementsAre(gold_id, silver_id));
  EXPECT_THAT(Ids("attributes:seats"), ElementsAre(gold_id));
  EXPECT_THAT(Ids("attributes.seats:*"), ElementsAre(gold_id));
  EXPECT_THAT(Ids("NOT attributes.plan = \"gold\""),
              ElementsAre(silver_id, none_id));
  EXPECT_THAT(Ids("attributes.plan = \"GOLD\""), ElementsAre(gold_id));
  EXPECT_THAT(
      FilterStatus("attributes.Bad-Key = \"x\""),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("position")));
  EXPECT_THAT(
      FilterStatus("attributes = \"gold\""),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("attributes")));
}

TEST_F(ContactListTest, FilterByCreateTimeRange) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(MustCreate(MakeContact(absl::StrCat("C", i), "", "")).id());
    Exec(absl::StrCat("UPDATE contacts SET create_time = '2024-0", i + 1,
                      "-15 12:00:00' WHERE id = ", ids.back()));
  }
  EXPECT_THAT(Ids("create_time >= \"2024-02-15T12:00:00Z\" AND "
                  "create_time < \"2024-04-01T00:00:00Z\""),
              ElementsAre(ids[1], ids[2]));
  EXPECT_THAT(Ids("create_time > \"2024-02-15T12:00:00Z\""),
              ElementsAre(ids[2], ids[3]));
  EXPECT_THAT(Ids("create_time <= \"2024-02-15T12:00:00Z\""),
              ElementsAre(ids[0], ids[1]));
  // An offset is honoured: 14:00+02:00 is 12:00Z.
  EXPECT_THAT(Ids("create_time = \"2024-03-15T14:00:00+02:00\""),
              ElementsAre(ids[2]));
  // Fractions are allowed.
  EXPECT_THAT(Ids("create_time < 2024-01-15T12:00:00.000001Z"),
              ElementsAre(ids[0]));
  EXPECT_THAT(
      FilterStatus("create_time > \"last tuesday\""),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("create_time")));
}

TEST_F(ContactListTest, FilterByLastInteractionTimeRange) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(MustCreate(MakeContact(absl::StrCat("C", i), "", "")).id());
  }
  const std::string never = MustCreate(MakeContact("Never", "", "")).id();
  for (int i = 0; i < 3; ++i) {
    v1::LogInteractionRequest log;
    log.mutable_interaction()->set_contact_id(ids[i]);
    log.mutable_interaction()->set_type(v1::CALL);
    log.mutable_interaction()->mutable_occur_time()->set_seconds(
        absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(2024, i + 1, 10),
                                            absl::UTCTimeZone())));
    v1::Interaction out;
    ASSERT_OK(interactions().LogInteraction(Context().get(), log, &out));
  }
  EXPECT_THAT(Ids("last_interaction_time >= \"2024-02-01T00:00:00Z\""),
              ElementsAre(ids[1], ids[2]));
  EXPECT_THAT(Ids("last_interaction_time >= \"2024-01-01T00:00:00Z\" AND "
                  "last_interaction_time < \"2024-02-10T00:00:00Z\""),
              ElementsAre(ids[0]));
  EXPECT_THAT(Ids("last_interaction_time < \"2030-01-01T00:00:00Z\""),
              ElementsAre(ids[0], ids[1], ids[2]));  // NULL never matches
  EXPECT_THAT(Ids("last_interaction_time = null"), ElementsAre(never));
  EXPECT_THAT(Ids("last_interaction_time:*"),
              ElementsAre(ids[0], ids[1], ids[2]));
}

TEST_F(ContactListTest, FilterByConsent) {
  v1::Contact email = MakeContact("Email", "", "");
  email.mutable_consent()->set_email_opt_in(true);
  v1::Contact sms = MakeContact("Sms", "", "");
  sms.mutable_consent()->set_sms_opt_in(true);
  v1::Contact dnc = MakeContact("Dnc", "", "");
  dnc.mutable_consent()->set_email_opt_in(true);
  dnc.mutable_consent()->set_do_not_contact(true);
  const std::string email_id = MustCreate(email).id();
  const std::string sms_id = MustCreate(sms).id();
  const std::string dnc_id = MustCreate(dnc).id();

  EXPECT_THAT(Ids("consent.email_opt_in = true"),
              ElementsAre(email_id, dnc_id));
  EXPECT_THAT(Ids("consent.sms_opt_in = true"), ElementsAre(sms_id));
  EXPECT_THAT(Ids("consent.do_not_contact = true"), ElementsAre(dnc_id));
  EXPECT_THAT(Ids("consent.email_opt_in = true AND "
                  "consent.do_not_contact = false"),
              ElementsAre(email_id));
  EXPECT_THAT(FilterStatus("consent.sms_opt_in = yes"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("consent.sms_opt_in")));
}

TEST_F(ContactListTest, FilterCombinesAndOrNotWithParentheses) {
  auto make = [&](const std::string& name, v1::LifecycleStage stage,
                  const std::string& tag) {
    v1::Contact c = MakeContact(name, "", "");
    c.set_lifecycle_stage(stage);
    if (!tag.empty()) c.add_tags(tag);
    return MustCreate(c).id();
  };
  const std::string c_vip = make("c_vip", v1::CUSTOMER, "vip");
  const std::string c_plain = make("c_plain", v1::CUSTOMER, "");
  const std::string p_vip = make("p_vip", v1::PROSPECT, "vip");
  const std::string l_vip = make("l_vip", v1::LEAD, "vip");
  const std::string l_plain = make("l_plain", v1::LEAD, "");

  EXPECT_THAT(Ids("(lifecycle_stage = CUSTOMER OR lifecycle_stage = PROSPECT)"
                  " AND tags:\"vip\""),
              ElementsAre(c_vip, p_vip));
  EXPECT_THAT(Ids("NOT (lifecycle_stage = LEAD OR tags:\"vip\")"),
              ElementsAre(c_plain));
  EXPECT_THAT(Ids("-tags:\"vip\" AND NOT lifecycle_stage = CUSTOMER"),
              ElementsAre(l_plain));
  EXPECT_THAT(Ids("given_name = \"l_vip\" OR (given_name = \"c_plain\")"),
              ElementsAre(c_plain, l_vip));
}

TEST_F(ContactListTest, FilterOperatorPrecedenceFollowsAip160) {
  // AIP-160: OR binds tighter than AND, so `a AND b OR c` is `a AND (b OR c)`.
  v1::Contact x = MakeContact("x", "", "");
  x.set_lifecycle_stage(v1::CUSTOMER);
  const std::string customer = MustCreate(x).id();
  v1::Contact y = MakeContact("y", "", "");
  y.add_tags("vip");
  const std::string lead_vip = MustCreate(y).id();
  EXPECT_THAT(Ids("lifecycle_stage = LEAD AND tags:\"vip\" OR "
                  "lifecycle_stage = CUSTOMER"),
              ElementsAre(lead_vip));
  EXPECT_THAT(Ids("lifecycle_stage = CUSTOMER OR tags:\"vip\" AND "
                  "lifecycle_stage = LEAD"),
              ElementsAre(lead_vip));
  (void)customer;
}

TEST_F(ContactListTest, FilterThatDoesNotParseIsInvalidArgumentWithPosition) {
  for (const std::string filter :
       {"lifecycle_stage = ", "(tags:\"vip\"", "tags:\"vip\")",
        "lifecycle_stage = CUSTOMER AND", "company = \"unterminated", "AND OR",
        "= 3"}) {
    EXPECT_THAT(
        FilterStatus(filter),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                 ::testing::AllOf(HasSubstr("filter"), HasSubstr("position"))))
        << filter;
  }
}

TEST_F(ContactListTest, FilterOnUnknownFieldIsInvalidArgument) {
  EXPECT_THAT(FilterStatus("shoe_size = 42"),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       ::testing::AllOf(HasSubstr("shoe_size"),
                                        HasSubstr("position"))));
  EXPECT_THAT(
      FilterStatus("search_text:\"x\""),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("search_text")));
}

// ---------------------------------------------------------------- query

TEST_F(ContactListTest, QueryMatchesSubstringsOfNamesEmailsPhonesCompany) {
  v1::Contact ada = MakeContact("Ada", "Lovelace", "countess@engines.example");
  ada.add_phones("+1 650-253-0000");
  ada.set_company("Analytical Engines");
  const std::string ada_id = MustCreate(ada).id();
  v1::Contact grace = MakeContact("Grace", "Hopper", "grace@navy.example");
  grace.set_company("US Navy");
  grace.set_job_title("Lovelace fan");  // job title is not searched
  const std::string grace_id = MustCreate(grace).id();

  EXPECT_THAT(Ids("", "love"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "LOVELACE"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "ENGINES.example"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "2530000"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "+16502530000"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "analytical"), ElementsAre(ada_id));
  EXPECT_THAT(Ids("", "navy"), ElementsAre(grace_id));
  EXPECT_THAT(Ids("", ".example"), ElementsAre(ada_id, grace_id));
  EXPECT_THAT(Ids("", "nobody"), IsEmpty());
}

TEST_F(ContactListTest, QueryWordsAreAllRequired) {
  const std::string ada_l = MustCreate(MakeContact("Ada", "Lovelace", "")).id();
  const std::string ada_b = MustCreate(MakeContact("Ada", "Byron", "")).id();
  MustCreate(MakeContact("Grace", "Lovelace-Hopper", ""));

  EXPECT_THAT(Ids("", "ada love"), ElementsAre(ada_l));
  EXPECT_THAT(Ids("", "  ada   "), ElementsAre(ada_l, ada_b));
  EXPECT_THAT(Ids("", "ada hopper"), IsEmpty());
}

TEST_F(ContactListTest, QueryCombinesWithFilter) {
  v1::Contact a = MakeContact("Ada", "Lovelace", "");
  a.set_lifecycle_stage(v1::CUSTOMER);
  const std::string customer = MustCreate(a).id();
  MustCreate(MakeContact("Ada", "Byron", ""));
  EXPECT_THAT(Ids("lifecycle_stage = CUSTOMER", "ada"), ElementsAre(customer));
}

// ---------------------------------------------------------------- order_by

TEST_F(ContactListTest, OrderByCreateTimeDesc) {
  std::vector<std::string> ids;
  const char* days[] = {"2024-03-01", "2024-01-01", "2024-02-01", "2024-02-01"};
  for (int i = 0; i < 4; ++i) {
    ids.push_back(MustCreate(MakeContact(absl::StrCat("C", i), "", "")).id());
    Exec(absl::StrCat("UPDATE contacts SET create_time = '", days[i],
                      " 00:00:00' WHERE id = ", ids.back()));
  }
  // Ties (ids[2], ids[3]) break by id, in the direction of the last key.
  EXPECT_THAT(Ids("", "", "create_time desc"),
              ElementsAre(ids[0], ids[3], ids[2], ids[1]));
  EXPECT_THAT(Ids("", "", "create_time"),
              ElementsAre(ids[1], ids[2], ids[3], ids[0]));
  v1::ListContactsRequest request;
  request.set_order_by("create_time desc");
  EXPECT_THAT(WalkIds(request, 1), ElementsAre(ids[0], ids[3], ids[2], ids[1]));
}

TEST_F(ContactListTest, OrderByFamilyNameBreaksTiesById) {
  const std::string a = MustCreate(MakeContact("A", "Turing", "")).id();
  const std::string b = MustCreate(MakeContact("B", "Hopper", "")).id();
  const std::string c = MustCreate(MakeContact("C", "Turing", "")).id();
  const std::string d = MustCreate(MakeContact("D", "Babbage", "")).id();
  EXPECT_THAT(Ids("", "", "family_name"), ElementsAre(d, b, a, c));
  // The implicit id tie-breaker follows the direction of the last key.
  EXPECT_THAT(Ids("", "", "family_name desc"), ElementsAre(c, a, b, d));
  EXPECT_THAT(Ids("", "", "family_name desc, id"), ElementsAre(a, c, b, d));
  EXPECT_THAT(Ids("", "", "family_name asc, id desc"), ElementsAre(d, b, c, a));
  v1::ListContactsRequest request;
  request.set_order_by("family_name");
  EXPECT_THAT(WalkIds(request, 1), ElementsAre(d, b, a, c));
  request.set_order_by("family_name desc, id");
  EXPECT_THAT(WalkIds(request, 1), ElementsAre(a, c, b, d));
}

TEST_F(ContactListTest, OrderByLastInteractionTimeHandlesNulls) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(MustCreate(MakeContact(absl::StrCat("C", i), "", "")).id());
  }
  // ids[1] and ids[3] never interacted; ids[4] earliest, ids[0] latest.
  const std::map<int, int> month = {{0, 5}, {2, 3}, {4, 1}};
  for (const auto& [index, m] : month) {
    v1::LogInteractionRequest log;
    log.mutable_interaction()->set_contact_id(ids[index]);
    log.mutable_interaction()->set_type(v1::NOTE);
    log.mutable_interaction()->mutable_occur_time()->set_seconds(
        absl::ToUnixSeconds(
            absl::FromCivil(absl::CivilDay(2024, m, 1), absl::UTCTimeZone())));
    v1::Interaction out;
    ASSERT_OK(interactions().LogInteraction(Context().get(), log, &out));
  }
  const std::vector<std::string> ascending = {ids[1], ids[3], ids[4], ids[2],
                                              ids[0]};
  const std::vector<std::string> descending = {ids[0], ids[2], ids[4], ids[3],
                                               ids[1]};
  EXPECT_THAT(Ids("", "", "last_interaction_time"),
              ElementsAreArray(ascending));
  EXPECT_THAT(Ids("", "", "last_interaction_time desc"),
              ElementsAreArray(descending));
  // Page by page the NULLs must neither repeat nor go missing.
  v1::ListContactsRequest request;
  request.set_order_by("last_interaction_time");
  EXPECT_THAT(WalkIds(request, 1), ElementsAreArray(ascending));
  request.set_order_by("last_interaction_time desc");
  EXPECT_THAT(WalkIds(request, 1), ElementsAreArray(descending));
  request.set_order_by("last_interaction_time desc");
  EXPECT_THAT(WalkIds(request, 2), ElementsAreArray(descending));
}

TEST_F(ContactListTest, OrderByUnknownFieldIsInvalidArgument) {
  v1::ListContactsRequest request;
  v1::ListContactsResponse response;
  for (const std::string order :
       {"shoe_size", "create_time sideways", "id; DROP TABLE contacts",
        "given_name,,id", "emails"}) {
    request.set_order_by(order);
    EXPECT_THAT(
        List(request, &response),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("order_by")))
        << order;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM information_schema.tables WHERE "
                  "table_schema = DATABASE() AND table_name = 'contacts'"),
            1);
}

// ---------------------------------------------------------------- deleted

TEST_F(ContactListTest, ShowDeletedIncludesSoftDeletedContacts) {
  const std::string live = MustCreate(MakeContact("Live", "", "")).id();
  const std::string gone = MustCreate(MakeContact("Gone", "", "")).id();
  v1::DeleteContactRequest del;
  del.set_id(gone);
  v1::Contact deleted;
  ASSERT_OK(contacts().DeleteContact(Context().get(), del, &deleted));

  v1::ListContactsRequest request;
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  ASSERT_EQ(response.contacts_size(), 1);
  EXPECT_EQ(response.contacts(0).id(), live);
  EXPECT_EQ(response.total_size(), 1);

  request.set_show_deleted(true);
  response.Clear();
  ASSERT_OK(List(request, &response));
  ASSERT_EQ(response.contacts_size(), 2);
  EXPECT_EQ(response.contacts(1).id(), gone);
  EXPECT_TRUE(response.contacts(1).has_delete_time());
  EXPECT_EQ(response.total_size(), 2);
}

TEST_F(ContactListTest, TotalSizeIsCountedOncePerListing) {
  std::vector<v1::Contact> rows;
  for (int i = 0; i < 75; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("G", i), "", "");
    if (i % 3 == 0) c.add_tags("third");
    rows.push_back(c);
  }
  Import(rows);
  v1::ListContactsRequest request;
  request.set_filter("tags:\"third\"");
  request.set_page_size(10);
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.contacts_size(), 10);
  EXPECT_EQ(response.total_size(), 25);
  request.set_page_token(response.next_page_token());
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.total_size(), 25);

  // The total is counted on the first page and carried in the token: later
  // pages of the same listing repeat it, a new listing counts again.
  std::vector<v1::Contact> more;
  for (int i = 0; i < 5; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("H", i), "", "");
    c.add_tags("third");
    more.push_back(c);
  }
  Import(more);
  request.set_page_token(response.next_page_token());
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.total_size(), 25);
  request.clear_page_token();
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.total_size(), 30);
  // A first page that holds every match needs no count: still exact.
  request.set_page_size(100);
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.contacts_size(), 30);
  EXPECT_EQ(response.total_size(), 30);
  EXPECT_TRUE(response.next_page_token().empty());
}

TEST_F(ContactListTest, TotalSizeStopsCountingAtTheLimitUnlessExact) {
  ImportNumbered(1100);
  // The first two pages of `request` report the same total: later pages
  // carry the first page's on.
  auto expect_two_pages = [&](v1::ListContactsRequest request, int64_t total,
                              bool capped) {
    for (int page = 1; page <= 2; ++page) {
      v1::ListContactsResponse response;
      ASSERT_OK(List(request, &response));
      EXPECT_EQ(response.total_size(), total) << "page " << page;
      EXPECT_EQ(response.total_size_capped(), capped) << "page " << page;
      request.set_page_token(response.next_page_token());
    }
  };
  v1::ListContactsRequest request;
  request.set_page_size(10);
  expect_two_pages(request, 1000, true);

  // The option belongs to the listing: a page token of a capped listing is
  // refused for an exact one.
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  request.set_page_token(response.next_page_token());
  request.set_exact_total_size(true);
  EXPECT_EQ(List(request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  request.clear_page_token();
  expect_two_pages(request, 1100, false);

  // Below the limit the default count is exact.
  v1::ListContactsRequest few;
  few.set_filter("given_name = \"Given7\" OR given_name = \"Given8\"");
  few.set_page_size(1);
  ASSERT_OK(List(few, &response));
  EXPECT_EQ(response.total_size(), 2);
  EXPECT_FALSE(response.total_size_capped());
}

// ---------------------------------------------------------------- page tokens

TEST_F(ContactListTest, WalkingAllPagesReturnsEveryContactOnceInStableOrder) {
  std::vector<v1::Contact> rows;
  const char* families[] = {"Turing", "Hopper", "Babbage", "Lovelace"};
  for (int i = 0; i < 237; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("G", i), families[i % 4], "");
    c.set_company(absl::StrCat("Company ", i % 7));
    rows.push_back(c);
  }
  Import(rows);
  const std::vector<std::string> all = AllIds();
  ASSERT_EQ(all.size(), 237u);

  for (const std::string order :
       {"", "id desc", "family_name", "family_name desc, given_name",
        "company, create_time desc", "create_time desc",
        "last_interaction_time", "display_name desc"}) {
    v1::ListContactsRequest request;
    request.set_order_by(order);
    const std::vector<std::string> one_page = Ids("", "", order);
    ASSERT_EQ(one_page.size(), 237u) << order;
    for (int page_size : {1, 10, 50}) {
      const std::vector<std::string> walked = WalkIds(request, page_size);
      EXPECT_THAT(walked, ElementsAreArray(one_page))
          << "order_by \"" << order << "\" page_size " << page_size;
    }
    EXPECT_THAT(one_page, UnorderedElementsAreArray(all)) << order;
  }
}

TEST_F(ContactListTest, PageTokenWithDifferentFilterIsInvalidArgument) {
  ImportNumbered(5);
  v1::ListContactsRequest request;
  request.set_page_size(2);
  request.set_filter("lifecycle_stage = LEAD");
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  ASSERT_FALSE(response.next_page_token().empty());

  v1::ListContactsRequest changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_filter("lifecycle_stage = CUSTOMER");
  EXPECT_THAT(
      List(changed, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
  changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_order_by("create_time");
  EXPECT_THAT(
      List(changed, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
  changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_query("given");
  EXPECT_THAT(
      List(changed, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
  changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_show_deleted(true);
  EXPECT_THAT(
      List(changed, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
  // A different page size is fine.
  changed = request;
  changed.set_page_token(response.next_page_token());
  changed.set_page_size(3);
  EXPECT_OK(List(changed, &response));
}

TEST_F(ContactListTest, GarbagePageTokenIsInvalidArgument) {
  ImportNumbered(5);
  v1::ListContactsRequest request;
  request.set_page_size(2);
  v1::ListContactsResponse response;
  ASSERT_OK(List(request, &response));
  const std::string token = response.next_page_token();
  ASSERT_FALSE(token.empty());

  std::string tampered = token;
  tampered[tampered.size() / 2] =
      tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {std::string("garbage"), std::string("!!!!"), std::string("' OR 1=1 --"),
        tampered, token.substr(0, token.size() - 3), token + "AAAA",
        std::string(5000, 'A')}) {
    request.set_page_token(bad);
    EXPECT_THAT(
        List(request, &response),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")))
        << bad;
  }
}

// Walks the listing ordered by `order_by` while a background thread keeps
// creating contacts; every contact that existed before the walk must be
// returned exactly once and nothing may repeat.
void ContactListTest::ExpectKeysetStableUnderInserts(
    const std::vector<std::string>& before, const std::string& order_by) {
  v1::ContactService::Stub& stub = contacts();
  auto context = [] { return Context(); };
  absl::Mutex mu;
  int created = 0;                  // guarded by mu
  std::vector<std::string> errors;  // guarded by mu
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 2000; ++i) {
      v1::CreateContactRequest request;
      request.mutable_contact()->set_given_name(absl::StrCat("Concurrent", i));
      request.mutable_contact()->set_family_name("Aaron");  // sorts early
      v1::Contact out;
      grpc::Status s = stub.CreateContact(context().get(), request, &out);
      absl::MutexLock lock(&mu);
      if (!s.ok()) {
        errors.push_back(s.error_message());
        return;
      }
      ++created;
    }
  });

  // Each page waits until the writer has created at least one more contact,
  // so inserts really interleave with the walk.
  auto wait_for_insert = [&](int seen) {
    absl::MutexLock lock(&mu);
    auto progressed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return created > seen || !errors.empty();
    };
    mu.AwaitWithTimeout(absl::Condition(&progressed), absl::Seconds(10));
    return created;
  };

  std::vector<std::string> walked;
  v1::ListContactsRequest request;
  request.set_order_by(order_by);
  request.set_page_size(20);
  int seen = wait_for_insert(0);
  int pages = 0;
  while (pages++ < 1000) {
    v1::ListContactsResponse response;
    grpc::Status s = stub.ListContacts(context().get(), request, &response);
    EXPECT_OK(s);  // not ASSERT: the writer must still be joined
    if (!s.ok()) break;
    for (const v1::Contact& c : response.contacts()) walked.push_back(c.id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
    seen = wait_for_insert(seen);
  }
  stop = true;
  writer.join();
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_GT(seen, 5) << "the writer did not run concurrently";

  std::map<std::string, int> times;
  for (const std::string& id : walked) ++times[id];
  for (const auto& [id, n] : times) {
    EXPECT_EQ(n, 1) << "contact " << id << " returned " << n << " times ("
                    << order_by << ")";
  }
  for (const std::string& id : before) {
    EXPECT_EQ(times.count(id), 1u)
        << "contact " << id << " missing (" << order_by << ")";
  }
}

TEST_F(ContactListTest, KeysetPagingByIdIsStableUnderConcurrentInserts) {
  ImportNumbered(300);
  const std::vector<std::string> before = AllIds();
  ExpectKeysetStableUnderInserts(before, "id");
}

TEST_F(ContactListTest,
       KeysetPagingByCreateTimeIsStableUnderConcurrentInserts) {
  ImportNumbered(300);
  const std::vector<std::string> before = AllIds();
  ExpectKeysetStableUnderInserts(before, "create_time desc");
  ExpectKeysetStableUnderInserts(before, "create_time");
}

TEST_F(ContactListTest, KeysetPagingByNameIsStableUnderConcurrentInserts) {
  ImportNumbered(300);
  const std::vector<std::string> before = AllIds();
  ExpectKeysetStableUnderInserts(before, "family_name");
}

// ---------------------------------------------------------------- injection

class ContactListInjectionTest : public ContactListTest {
 protected:
  void SetUp() override {
    ContactListTest::SetUp();
    if (HasFatalFailure()) return;  // no server to talk to
    auto make = [&](const std::string& given, const std::string& family,
                    const std::string& company) {
      v1::Contact c = MakeContact(given, family, "");
      c.set_company(company);
      (*c.mutable_attributes())["note"] = company;
      return MustCreate(c).id();
    };
    or_id_ = make("Robert", "Tables", "' OR 1=1 --");
    drop_id_ = make("Bobby", "\"; DROP TABLE contacts; --", "Little");
    backslash_id_ = make("Back", "Slash", "C:\\path\\x");
    percent_id_ = make("Per", "Cent", "100% sure");
    percent_plain_id_ = make("Per", "Plain", "1000 sure");
    underscore_id_ = make("Under", "Score", "a_b");
    underscore_plain_id_ = make("Under", "Plain", "axb");
    unicode_id_ = make("Zo\xC3\xAB", "\xE6\x9D\xB1\xE4\xBA\xAC",
                       "\xF0\x9F\x8E\x89 Party GmbH");
    total_ = 8;
  }

  void ExpectTablesIntact() {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), total_);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_attributes"), total_);
  }

  std::string or_id_, drop_id_, backslash_id_, percent_id_, percent_plain_id_,
      underscore_id_, underscore_plain_id_, unicode_id_;
  int64_t total_ = 0;
};

TEST_F(ContactListInjectionTest, HostileFilterValuesAreData) {
  EXPECT_THAT(Ids("company = \"' OR 1=1 --\""), ElementsAre(or_id_));
  EXPECT_THAT(Ids("family_name = \"\\\"; DROP TABLE contacts; --\""),
              ElementsAre(drop_id_));
  EXPECT_THAT(Ids("company = 'C:\\\\path\\\\x'"), ElementsAre(backslash_id_));
  EXPECT_THAT(Ids("company = \"100% sure\""), ElementsAre(percent_id_));
  EXPECT_THAT(Ids("company = \"100%*\""), ElementsAre(percent_id_));
  EXPECT_THAT(Ids("company = \"a_b\""), ElementsAre(underscore_id_));
  EXPECT_THAT(Ids("company = \"a_*\""), ElementsAre(underscore_id_));
  EXPECT_THAT(Ids("company = \"C:\\\\*\""), ElementsAre(backslash_id_));
  EXPECT_THAT(Ids("attributes.note = \"' OR 1=1 --\""), ElementsAre(or_id_));
  EXPECT_THAT(Ids("attributes.note = \"100%*\""), ElementsAre(percent_id_));
  EXPECT_THAT(Ids("attributes.note = \"a_*\""), ElementsAre(underscore_id_));
  EXPECT_THAT(Ids("family_name = \"\xE6\x9D\xB1\xE4\xBA\xAC\""),
              ElementsAre(unicode_id_));
  EXPECT_THAT(Ids("given_name = \"ZO\xC3\x8B\""), ElementsAre(unicode_id_));
  EXPECT_THAT(Ids("company = \"\xF0\x9F\x8E\x89*\""), ElementsAre(unicode_id_));
  EXPECT_THAT(Ids("tags:\"' OR 1=1 --\""), IsEmpty());
  EXPECT_THAT(Ids("emails:\"%\""), IsEmpty());
  EXPECT_THAT(Ids("company = \"%\""), IsEmpty());
  EXPECT_THAT(Ids("company = \"_\""), IsEmpty());
  ExpectTablesIntact();
}

TEST_F(ContactListInjectionTest, HostileFilterSyntaxIsInvalidArgument) {
  for (const std::string filter :
       {"company = \"x\" OR 1=1", "\"; DROP TABLE contacts; --",
        "company = x'; DROP TABLE contacts; --", "company = \"x\" --",
        "id = 1 OR id = 1; DELETE FROM contacts",
        "attributes.note' OR '1'='1 = \"x\"", "c.id = 1", "(SELECT 1) = 1"}) {
    EXPECT_THAT(
        FilterStatus(filter),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("filter")))
        << filter;
  }
  ExpectTablesIntact();
}

TEST_F(ContactListInjectionTest, HostileQueryTextIsData) {
  EXPECT_THAT(Ids("", "' OR 1=1 --"), ElementsAre(or_id_));
  EXPECT_THAT(Ids("", "%"), ElementsAre(percent_id_));
  EXPECT_THAT(Ids("", "_"), ElementsAre(underscore_id_));
  EXPECT_THAT(Ids("", "\\"), ElementsAre(backslash_id_));
  EXPECT_THAT(Ids("", "\"; DROP TABLE contacts; --"), ElementsAre(drop_id_));
  EXPECT_THAT(Ids("", "!"), IsEmpty());  // the LIKE escape character
  EXPECT_THAT(Ids("", "\xE6\x9D\xB1\xE4\xBA\xAC"), ElementsAre(unicode_id_));
  EXPECT_THAT(Ids("", "zo\xC3\xAB"), ElementsAre(unicode_id_));
  EXPECT_THAT(Ids("", "\xF0\x9F\x8E\x89"), ElementsAre(unicode_id_));
  ExpectTablesIntact();
}

TEST_F(ContactListInjectionTest, QueryWithControlCharactersIsInvalidArgument) {
  v1::ListContactsRequest request;
  request.set_query(std::string("a\0b", 3));
  v1::ListContactsResponse response;
  EXPECT_THAT(List(request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("query")));
  ExpectTablesIntact();
}

TEST_F(ContactListInjectionTest, HostileTextFieldsRoundTripUnchanged) {
  v1::GetContactRequest get;
  get.set_id(drop_id_);
  v1::Contact got;
  ASSERT_OK(contacts().GetContact(Context().get(), get, &got));
  EXPECT_EQ(got.family_name(), "\"; DROP TABLE contacts; --");
  get.set_id(backslash_id_);
  ASSERT_OK(contacts().GetContact(Context().get(), get, &got));
  EXPECT_EQ(got.company(), "C:\\path\\x");
  EXPECT_EQ(got.attributes().at("note"), "C:\\path\\x");
  get.set_id(unicode_id_);
  ASSERT_OK(contacts().GetContact(Context().get(), get, &got));
  EXPECT_EQ(got.given_name(), "Zo\xC3\xAB");
  EXPECT_EQ(got.company(), "\xF0\x9F\x8E\x89 Party GmbH");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE company = '1000 sure'"),
            1);
  ExpectTablesIntact();
}

}  // namespace
}  // namespace rapport::testing
