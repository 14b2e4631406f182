// Integration tests of the ContactService unary RPCs (create, get, update,
// delete, undelete) over real gRPC against a real database: normalisation,
// validation errors, idempotency, optimistic concurrency and soft deletion.
#include <cppconn/resultset.h>
#include <google/protobuf/util/message_differencer.h>

#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "rapport/v1/event.pb.h"
#include "server/storage/database.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class ContactServiceTest : public ServerFixture {
 protected:
  grpc::Status Create(const v1::Contact& contact, v1::Contact* out,
                      const std::string& request_id = "") {
    v1::CreateContactRequest request;
    *request.mutable_contact() = contact;
    request.set_request_id(request_id);
    return contacts().CreateContact(Context().get(), request, out);
  }

  grpc::Status Get(const std::string& id, v1::Contact* out,
                   bool show_deleted = false) {
    v1::GetContactRequest request;
    request.set_id(id);
    request.set_show_deleted(show_deleted);
    return contacts().GetContact(Context().get(), request, out);
  }

  // Updates `patch` (whose id names the contact) with the given mask paths.
  grpc::Status Update(const v1::Contact& patch,
                      const std::vector<std::string>& paths, v1::Contact* out) {
    v1::UpdateContactRequest request;
    *request.mutable_contact() = patch;
    for (const std::string& p : paths)
      request.mutable_update_mask()->add_paths(p);
    return contacts().UpdateContact(Context().get(), request, out);
  }

  grpc::Status Delete(const std::string& id, v1::Contact* out,
                      const std::string& etag = "") {
    v1::DeleteContactRequest request;
    request.set_id(id);
    request.set_etag(etag);
    return contacts().DeleteContact(Context().get(), request, out);
  }

  grpc::Status Undelete(const std::string& id, v1::Contact* out) {
    v1::UndeleteContactRequest request;
    request.set_id(id);
    return contacts().UndeleteContact(Context().get(), request, out);
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  int64_t ContactRows() { return Count("SELECT COUNT(*) FROM contacts"); }

  // Runs CreateContact with one request_id from 8 threads released together;
  // every call must answer with the same contact and only one row may exist.
  void ExpectConcurrentCreatesDeduplicated(const v1::Contact& contact) {
    constexpr int kThreads = 8;
    std::latch start(kThreads);
    std::vector<grpc::Status> statuses(kThreads);
    std::vector<v1::Contact> results(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        v1::CreateContactRequest request;
        *request.mutable_contact() = contact;
        request.set_request_id("8b2f6c1e-concurrent");
        auto context = Context();
        start.arrive_and_wait();
        statuses[i] =
            contacts().CreateContact(context.get(), request, &results[i]);
      });
    }
    for (std::thread& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_OK(statuses[i]) << "thread " << i;
      EXPECT_EQ(results[i].id(), results[0].id()) << "thread " << i;
    }
  }
};

// ---------------------------------------------------------------- Create

TEST_F(ContactServiceTest, CreateNormalizesEmailsPhonesAndTags) {
  v1::Contact c = MakeContact("  Ada ", " Lovelace  ", "  Ada@Example.COM ");
  c.add_emails("ada@example.com");  // the same address again
  c.add_emails("Second@Example.org");
  c.add_phones("(650) 253-0000");  // the default region is US
  c.add_phones("+44 20 7946 0958");
  c.add_tags(" VIP ");
  c.add_tags("vip");
  c.add_tags("Gold");
  v1::Contact created;
  ASSERT_OK(Create(c, &created));

  EXPECT_EQ(created.given_name(), "Ada");
  EXPECT_EQ(created.family_name(), "Lovelace");
  EXPECT_THAT(created.emails(),
              ElementsAre("ada@example.com", "second@example.org"));
  EXPECT_THAT(created.phones(), ElementsAre("+16502530000", "+442079460958"));
  EXPECT_THAT(created.tags(), UnorderedElementsAre("gold", "vip"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE email = "
                  "'ada@example.com' AND position = 0"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_tags"), 2);

  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(got.DebugString(), created.DebugString());
}

// CreateContact answers with the contact built from its input, not read
// back: it must be exactly what GetContact returns and what the
// CONTACT_CREATED event carries, every field set (times cut to
// microseconds, etag, tags in code point order, address, attributes).
TEST_F(ContactServiceTest, CreatedContactIsExactlyWhatGetAndItsEventRead) {
  v1::Contact c = MakeContact("Zoë", "Ångström", "zoe@events.example");
  c.add_emails("Second@Events.example");
  c.add_phones("+1 650 253 0000");
  c.add_phones("+44 20 7946 0958");
  for (const char* tag : {"b-2", "b_1", "a10", "a9", "zz", "échec", "Mix"}) {
    c.add_tags(tag);
  }
  c.set_company("Acme 株式会社");
  c.set_job_title("CTO");
  c.set_owner("sales-eu");
  c.set_source("web form");
  c.set_lifecycle_stage(v1::PROSPECT);
  c.mutable_consent()->set_email_opt_in(true);
  c.mutable_consent()->set_do_not_contact(true);
  v1::PostalAddress& address = *c.mutable_address();
  address.add_lines("Bahnhofstrasse 1");
  address.add_lines("c/o \"Müller\"");
  address.set_locality("Zürich");
  address.set_region("ZH");
  address.set_postal_code("8001");
  address.set_country_code("CH");
  (*c.mutable_attributes())["plan"] = "gold";
  (*c.mutable_attributes())["note"] = "côde \"quoted\" ünï\\";
  const v1::Contact created = MustCreate(c);

  const v1::Contact got = MustGet(created.id());
  EXPECT_TRUE(MessageDifferencer::Equals(created, got))
      << "created: " << created.ShortDebugString()
      << "\nstored:  " << got.ShortDebugString();
  EXPECT_THAT(got.tags(),
              ElementsAre("a10", "a9", "b-2", "b_1", "mix", "zz", "échec"));
  EXPECT_EQ(got.address().lines(1), "c/o \"Müller\"");

  storage::Database database(db().options(), 1);
  absl::StatusOr<storage::Connection> conn = database.Acquire(true);
  ASSERT_OK(conn);
  auto rs = conn->Query(
      "SELECT payload FROM outbox_events WHERE type = ? AND contact_id = ?",
      {static_cast<int64_t>(v1::CONTACT_CREATED), std::stoll(created.id())});
  ASSERT_TRUE(rs->next());
  v1::Event event;
  ASSERT_TRUE(event.ParseFromString(rs->getString(1)));
  EXPECT_TRUE(MessageDifferencer::Equals(event.contact(), got))
      << "event:  " << event.contact().ShortDebugString()
      << "\nstored: " << got.ShortDebugString();
  EXPECT_FALSE(rs->next());
}

TEST_F(ContactServiceTest, CreateDerivesDisplayNameFromNames) {
  EXPECT_EQ(MustCreate(MakeContact("Ada", "Lovelace", "")).display_name(),
            "Ada Lovelace");
  EXPECT_EQ(MustCreate(MakeContact("Ada", "", "")).display_name(), "Ada");
  EXPECT_EQ(MustCreate(MakeContact("", "Lovelace", "")).display_name(),
            "Lovelace");
}

TEST_F(ContactServiceTest, CreateDerivesDisplayNameFromEmailThenCompany) {
  EXPECT_EQ(MustCreate(MakeContact("", "", "Only@Mail.example")).display_name(),
            "only@mail.example");
  v1::Contact company_only;
  company_only.set_company("Acme Corp");
  EXPECT_EQ(MustCreate(company_only).display_name(), "Acme Corp");
}

TEST_F(ContactServiceTest, CreateKeepsExplicitDisplayName) {
  v1::Contact c = MakeContact("Ada", "Lovelace", "");
  c.set_display_name("Countess of Lovelace");
  EXPECT_EQ(MustCreate(c).display_name(), "Countess of Lovelace");
}

TEST_F(ContactServiceTest, CreateDefaultsLifecycleStageToLead) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  EXPECT_EQ(created.lifecycle_stage(), v1::LEAD);
  EXPECT_EQ(Count("SELECT lifecycle_stage FROM contacts"), v1::LEAD);
}

TEST_F(ContactServiceTest, CreateIgnoresOutputOnlyFields) {
  v1::Contact c = MakeContact("Ada", "", "");
  c.set_id("424242");
  c.set_etag("999");
  c.set_merged_into("7");
  *c.mutable_create_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(1000);
  *c.mutable_update_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(1000);
  *c.mutable_delete_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(1000);
  *c.mutable_last_interaction_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(1000);
  v1::Contact created;
  ASSERT_OK(Create(c, &created));

  EXPECT_NE(created.id(), "424242");
  EXPECT_NE(created.etag(), "999");
  EXPECT_THAT(created.merged_into(), IsEmpty());
  EXPECT_FALSE(created.has_delete_time());
  EXPECT_FALSE(created.has_last_interaction_time());
  EXPECT_GT(created.create_time().seconds(), 1000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE id = 424242"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL "
                  "AND merged_into IS NULL AND last_interaction_time IS NULL"),
            1);
  v1::Contact got;
  EXPECT_OK(Get(created.id(), &got));  // live, not deleted
}

TEST_F(ContactServiceTest, CreateRejectsInvalidEmailNamingTheField) {
  v1::Contact c = MakeContact("Ada", "", "ada@example.com");
  c.add_emails("not-an-email");
  v1::Contact created;
  EXPECT_THAT(Create(c, &created), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("contact.emails[1]")));
  EXPECT_EQ(ContactRows(), 0);
}

TEST_F(ContactServiceTest, CreateRejectsInvalidPhoneNamingTheField) {
  v1::Contact c = MakeContact("Ada", "", "");
  c.add_phones("12");
  v1::Contact created;
  EXPECT_THAT(Create(c, &created), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("contact.phones[0]")));
  EXPECT_EQ(ContactRows(), 0);
}

TEST_F(ContactServiceTest, CreateRejectsTooLongNamesNamingTheField) {
  v1::Contact created;
  EXPECT_THAT(Create(MakeContact(std::string(201, 'a'), "", ""), &created),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("contact.given_name")));
  EXPECT_THAT(Create(MakeContact("", std::string(201, 'b'), ""), &created),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("contact.family_name")));
  v1::Contact c;
  c.set_display_name(std::string(401, 'c'));
  EXPECT_THAT(Create(c, &created), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("contact.display_name")));
  c.Clear();
  c.set_company(std::string(201, 'd'));
  EXPECT_THAT(Create(c, &created), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("contact.company")));
  EXPECT_EQ(ContactRows(), 0);
}

TEST_F(ContactServiceTest, CreateCountsLengthsInCharactersNotBytes) {
  // 200 two-byte characters: at the limit, so accepted and stored whole.
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xC3\xA9";  // é
  v1::Contact created;
  ASSERT_OK(Create(MakeContact(name, "", ""), &created));
  EXPECT_EQ(created.given_name(), name);
  EXPECT_EQ(Count("SELECT CHAR_LENGTH(given_name) FROM contacts"), 200);
}

TEST_F(ContactServiceTest, CreateRejectsUnknownLifecycleStageNumber) {
  v1::Contact c = MakeContact("Ada", "", "");
  c.set_lifecycle_stage(static_cast<v1::LifecycleStage>(42));
  v1::Contact created;
  EXPECT_THAT(Create(c, &created),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("contact.lifecycle_stage")));
  EXPECT_EQ(ContactRows(), 0);
}

TEST_F(ContactServiceTest, CreateWithoutContactIsInvalidArgument) {
  v1::CreateContactRequest request;
  v1::Contact created;
  EXPECT_THAT(
      contacts().CreateContact(Context().get(), request, &created),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("contact")));
}

TEST_F(ContactServiceTest, CreateRejectsEmailOfAnotherLiveContact) {
  MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact created;
  EXPECT_THAT(
      Create(MakeContact("Imposter", "", "ADA@example.com"), &created),
      StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("ada@example.com")));
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 1);
}

TEST_F(ContactServiceTest, CreateWithSameRequestIdReturnsFirstContact) {
  v1::Contact first;
  ASSERT_OK(
      Create(MakeContact("Ada", "", "ada@example.com"), &first, "req-7f1c2b"));
  v1::Contact second;
  // Even a different body returns what the first call created.
  ASSERT_OK(Create(MakeContact("Grace", "", "grace@example.com"), &second,
                   "req-7f1c2b"));
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(second.given_name(), "Ada");
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM request_ids"), 1);
}

TEST_F(ContactServiceTest, CreateWithDifferentRequestIdsCreatesTwo) {
  v1::Contact a, b;
  ASSERT_OK(Create(MakeContact("Ada", "", ""), &a, "req-a"));
  ASSERT_OK(Create(MakeContact("Ada", "", ""), &b, "req-b"));
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(ContactRows(), 2);
}

TEST_F(ContactServiceTest, CreateRejectsMalformedRequestId) {
  v1::Contact created;
  EXPECT_THAT(
      Create(MakeContact("Ada", "", ""), &created, "has space"),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("request_id")));
  EXPECT_THAT(
      Create(MakeContact("Ada", "", ""), &created, std::string(129, 'x')),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("request_id")));
  EXPECT_EQ(ContactRows(), 0);
}

TEST_F(ContactServiceTest, ConcurrentCreatesWithOneRequestIdCreateOneRow) {
  ExpectConcurrentCreatesDeduplicated(MakeContact("Ada", "Lovelace", ""));
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM request_ids"), 1);
}

TEST_F(ContactServiceTest,
       ConcurrentCreatesWithOneRequestIdAndEmailCreateOneRow) {
  ExpectConcurrentCreatesDeduplicated(
      MakeContact("Ada", "Lovelace", "ada@example.com"));
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM request_ids"), 1);
}

// ---------------------------------------------------------------- Get

TEST_F(ContactServiceTest, GetMissingContactIsNotFound) {
  v1::Contact got;
  EXPECT_THAT(Get("987654", &got),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
}

TEST_F(ContactServiceTest, GetMalformedIdIsInvalidArgument) {
  v1::Contact got;
  for (const std::string id :
       {"", "abc", "-1", "0", "007", " 1", "1.5", "99999999999999999999",
        "1; DROP TABLE contacts"}) {
    EXPECT_THAT(Get(id, &got),
                StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("id")))
        << "id \"" << id << "\"";
  }
}

TEST_F(ContactServiceTest, GetDeletedContactIsNotFoundUnlessShowDeleted) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  v1::Contact got;
  EXPECT_THAT(Get(created.id(), &got),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(created.id())));
  ASSERT_OK(Get(created.id(), &got, /*show_deleted=*/true));
  EXPECT_EQ(got.id(), created.id());
  EXPECT_TRUE(got.has_delete_time());
}

// ---------------------------------------------------------------- Update

TEST_F(ContactServiceTest, UpdateChangesOnlyMaskedFields) {
  v1::Contact c = MakeContact("Ada", "Lovelace", "ada@example.com");
  c.set_company("Analytical Engines");
  c.set_job_title("Programmer");
  v1::Contact created = MustCreate(c);

  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_given_name("Augusta");
  patch.set_company("");            // masked: cleared
  patch.set_family_name("Byron");   // not masked: ignored
  patch.set_job_title("Countess");  // not masked: ignored
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"given_name", "company"}, &updated));
  EXPECT_EQ(updated.given_name(), "Augusta");
  EXPECT_EQ(updated.company(), "");
  EXPECT_EQ(updated.family_name(), "Lovelace");
  EXPECT_EQ(updated.job_title(), "Programmer");
  EXPECT_THAT(updated.emails(), ElementsAre("ada@example.com"));
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT COUNT(*) FROM contacts WHERE id = ", created.id(),
                " AND given_name = 'Augusta' AND company = '' "
                "AND family_name = 'Lovelace'")),
            1);
}

TEST_F(ContactServiceTest, UpdateRederivesDerivedDisplayName) {
  v1::Contact created = MustCreate(MakeContact("Ada", "Lovelace", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_family_name("King");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"family_name"}, &updated));
  EXPECT_EQ(updated.display_name(), "Ada King");
}

TEST_F(ContactServiceTest, UpdateKeepsChosenDisplayName) {
  v1::Contact c = MakeContact("Ada", "Lovelace", "");
  c.set_display_name("The Countess");
  v1::Contact created = MustCreate(c);
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_family_name("King");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"family_name"}, &updated));
  EXPECT_EQ(updated.display_name(), "The Countess");
}

TEST_F(ContactServiceTest, UpdateAttributeKeyPathSetsOneKey) {
  v1::Contact c = MakeContact("Ada", "", "");
  (*c.mutable_attributes())["plan"] = "gold";
  (*c.mutable_attributes())["tier"] = "1";
  v1::Contact created = MustCreate(c);

  v1::Contact patch;
  patch.set_id(created.id());
  (*patch.mutable_attributes())["plan"] = "silver";
  (*patch.mutable_attributes())["tier"] = "ignored";  // not in the mask
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"attributes.plan"}, &updated));
  EXPECT_THAT(updated.attributes(),
              UnorderedElementsAre(Pair("plan", "silver"), Pair("tier", "1")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_attributes WHERE name = "
                  "'plan' AND value = 'silver'"),
            1);
}

TEST_F(ContactServiceTest, UpdateAttributeKeyPathMissingInPatchRemovesKey) {
  v1::Contact c = MakeContact("Ada", "", "");
  (*c.mutable_attributes())["plan"] = "gold";
  (*c.mutable_attributes())["tier"] = "1";
  v1::Contact created = MustCreate(c);

  v1::Contact patch;
  patch.set_id(created.id());
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"attributes.tier"}, &updated));
  EXPECT_THAT(updated.attributes(), UnorderedElementsAre(Pair("plan", "gold")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_attributes"), 1);
}

TEST_F(ContactServiceTest, UpdateAttributeKeyPathWithBadKeyIsInvalidArgument) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  v1::Contact updated;
  EXPECT_THAT(
      Update(patch, {"attributes.Bad-Key"}, &updated),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("update_mask")));
}

TEST_F(ContactServiceTest, UpdateTagsReplacesTheListNormalized) {
  v1::Contact c = MakeContact("Ada", "", "");
  c.add_tags("old");
  c.add_tags("vip");
  v1::Contact created = MustCreate(c);

  v1::Contact patch;
  patch.set_id(created.id());
  patch.add_tags(" NEW ");
  patch.add_tags("VIP");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"tags"}, &updated));
  EXPECT_THAT(updated.tags(), UnorderedElementsAre("new", "vip"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_tags WHERE tag = 'old'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_tags"), 2);
}

TEST_F(ContactServiceTest, UpdateEmailsReplacesAndFreesTheOldAddress) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "old@example.com"));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.add_emails("New@Example.com");
  patch.add_emails("second@example.com");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"emails"}, &updated));
  EXPECT_THAT(updated.emails(),
              ElementsAre("new@example.com", "second@example.com"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE email = "
                  "'old@example.com'"),
            0);
  // The old address is free for someone else.
  v1::Contact other;
  EXPECT_OK(Create(MakeContact("Other", "", "old@example.com"), &other));
}

TEST_F(ContactServiceTest, UpdateValidatesTheNewValues) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.add_emails("ada@@example.com");
  v1::Contact updated;
  EXPECT_THAT(Update(patch, {"emails"}, &updated),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("contact.emails[0]")));
  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(got.DebugString(), created.DebugString());
}

TEST_F(ContactServiceTest, UpdateWithCurrentEtagSucceedsAndChangesEtag) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_etag(created.etag());
  patch.set_company("Acme");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"company"}, &updated));
  EXPECT_EQ(updated.company(), "Acme");
  EXPECT_NE(updated.etag(), created.etag());
  EXPECT_FALSE(updated.etag().empty());
  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(got.etag(), updated.etag());
}

TEST_F(ContactServiceTest, UpdateWithStaleEtagIsAborted) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_company("First");
  v1::Contact first;
  ASSERT_OK(Update(patch, {"company"}, &first));

  patch.set_etag(created.etag());  // stale now
  patch.set_company("Second");
  v1::Contact second;
  EXPECT_THAT(Update(patch, {"company"}, &second),
              StatusIs(grpc::StatusCode::ABORTED, HasSubstr("etag")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE company = 'First'"), 1);
}

TEST_F(ContactServiceTest, UpdateWithoutMaskIsInvalidArgument) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_company("Acme");
  v1::Contact updated;
  EXPECT_THAT(
      Update(patch, {}, &updated),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("update_mask")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE company = ''"), 1);
}

TEST_F(ContactServiceTest, UpdateOfOutputOnlyPathIsInvalidArgument) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  v1::Contact updated;
  for (const std::string path :
       {"create_time", "id", "etag", "delete_time", "merged_into",
        "last_interaction_time", "update_time"}) {
    EXPECT_THAT(
        Update(patch, {path}, &updated),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                 ::testing::AllOf(HasSubstr("update_mask"), HasSubstr(path))))
        << path;
  }
}

TEST_F(ContactServiceTest, UpdateOfUnknownPathIsInvalidArgument) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  v1::Contact updated;
  EXPECT_THAT(
      Update(patch, {"shoe_size"}, &updated),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("shoe_size")));
}

TEST_F(ContactServiceTest, UpdateWithMalformedIdIsInvalidArgument) {
  v1::Contact patch;
  patch.set_id("abc");
  v1::Contact updated;
  EXPECT_THAT(
      Update(patch, {"given_name"}, &updated),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("contact.id")));
}

TEST_F(ContactServiceTest, UpdateOfMissingContactIsNotFound) {
  v1::Contact patch;
  patch.set_id("987654");
  v1::Contact updated;
  EXPECT_THAT(Update(patch, {"given_name"}, &updated),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
}

TEST_F(ContactServiceTest, UpdateOfDeletedContactIsNotFound) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_given_name("Zombie");
  v1::Contact updated;
  EXPECT_THAT(Update(patch, {"given_name"}, &updated),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(created.id())));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE given_name = 'Ada'"), 1);
}

TEST_F(ContactServiceTest, UpdateToEmailOfAnotherContactIsAlreadyExists) {
  MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact grace = MustCreate(MakeContact("Grace", "", "grace@example.com"));
  v1::Contact patch;
  patch.set_id(grace.id());
  patch.add_emails("grace@example.com");
  patch.add_emails("ADA@example.com");
  v1::Contact updated;
  EXPECT_THAT(
      Update(patch, {"emails"}, &updated),
      StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("ada@example.com")));
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contact_emails WHERE "
                               "contact_id = ",
                               grace.id())),
            1);
}

// ---------------------------------------------------------------- Delete

TEST_F(ContactServiceTest, DeleteIsSoftAndKeepsInteractions) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::LogInteractionRequest log;
  log.mutable_interaction()->set_contact_id(created.id());
  log.mutable_interaction()->set_type(v1::NOTE);
  log.mutable_interaction()->set_subject("kept");
  v1::Interaction interaction;
  ASSERT_OK(interactions().LogInteraction(Context().get(), log, &interaction));

  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  EXPECT_TRUE(deleted.has_delete_time());
  EXPECT_NE(deleted.etag(), created.etag());
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               created.id(), " AND delete_time IS NOT NULL")),
            1);
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT COUNT(*) FROM interactions WHERE contact_id = ",
                created.id())),
            1);
  v1::GetInteractionRequest get;
  get.set_id(interaction.id());
  v1::Interaction got;
  EXPECT_OK(interactions().GetInteraction(Context().get(), get, &got));
}

TEST_F(ContactServiceTest, DeleteTwiceIsNotFound) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  EXPECT_THAT(Delete(created.id(), &deleted),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(created.id())));
}

TEST_F(ContactServiceTest, DeleteOfMissingContactIsNotFound) {
  v1::Contact deleted;
  EXPECT_THAT(Delete("987654", &deleted),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
  EXPECT_THAT(Delete("x", &deleted),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("id")));
}

TEST_F(ContactServiceTest, DeleteWithStaleEtagIsAborted) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact patch;
  patch.set_id(created.id());
  patch.set_company("Acme");
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"company"}, &updated));

  v1::Contact deleted;
  EXPECT_THAT(Delete(created.id(), &deleted, created.etag()),
              StatusIs(grpc::StatusCode::ABORTED, HasSubstr("etag")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"),
            1);
  EXPECT_OK(Delete(created.id(), &deleted, updated.etag()));
}

TEST_F(ContactServiceTest, DeleteFreesTheEmailForANewContact) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  v1::Contact replacement;
  ASSERT_OK(
      Create(MakeContact("New Ada", "", "ada@example.com"), &replacement));
  EXPECT_NE(replacement.id(), created.id());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE email = "
                  "'ada@example.com'"),
            2);
}

// ---------------------------------------------------------------- Undelete

TEST_F(ContactServiceTest, UndeleteRestoresTheContact) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  v1::Contact restored;
  ASSERT_OK(Undelete(created.id(), &restored));
  EXPECT_FALSE(restored.has_delete_time());
  EXPECT_THAT(restored.emails(), ElementsAre("ada@example.com"));
  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"),
            1);
  // Its e-mail is taken again.
  v1::Contact other;
  EXPECT_THAT(Create(MakeContact("Other", "", "ada@example.com"), &other),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));
}

TEST_F(ContactServiceTest, UndeleteOfLiveContactIsAlreadyExists) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact restored;
  EXPECT_THAT(
      Undelete(created.id(), &restored),
      StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("not deleted")));
}

TEST_F(ContactServiceTest, UndeleteOfMissingContactIsNotFound) {
  v1::Contact restored;
  EXPECT_THAT(Undelete("987654", &restored),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
}

TEST_F(ContactServiceTest, UndeleteWhenEmailWasRetakenIsAlreadyExists) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact deleted;
  ASSERT_OK(Delete(created.id(), &deleted));
  MustCreate(MakeContact("New Ada", "", "ada@example.com"));
  v1::Contact restored;
  EXPECT_THAT(
      Undelete(created.id(), &restored),
      StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("ada@example.com")));
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               created.id(), " AND delete_time IS NOT NULL")),
            1);
}

TEST_F(ContactServiceTest, UndeleteOfMergedContactIsFailedPrecondition) {
  v1::Contact primary = MustCreate(MakeContact("Ada", "", "ada@example.com"));
  v1::Contact duplicate = MustCreate(MakeContact("Ada", "L", "al@example.com"));
  v1::MergeContactsRequest merge;
  merge.set_primary_id(primary.id());
  merge.add_duplicate_ids(duplicate.id());
  v1::Contact merged;
  ASSERT_OK(contacts().MergeContacts(Context().get(), merge, &merged));

  v1::Contact restored;
  EXPECT_THAT(
      Undelete(duplicate.id(), &restored),
      StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("merged")));
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               duplicate.id(), " AND delete_time IS NOT NULL")),
            1);
}

// ---------------------------------------------------------------- Concurrency

TEST_F(ContactServiceTest, ConcurrentUpdatesWithOneEtagHaveExactlyOneWinner) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_id(created.id());
      request.mutable_contact()->set_etag(created.etag());
      request.mutable_contact()->set_company(absl::StrCat("writer-", i));
      request.mutable_update_mask()->add_paths("company");
      v1::Contact out;
      auto context = Context();
      start.arrive_and_wait();
      statuses[i] = contacts().UpdateContact(context.get(), request, &out);
    });
  }
  for (std::thread& t : threads) t.join();

  int winner = -1;
  for (int i = 0; i < kThreads; ++i) {
    if (statuses[i].ok()) {
      EXPECT_EQ(winner, -1)
          << "threads " << winner << " and " << i << " both won with one etag";
      winner = i;
    } else {
      EXPECT_THAT(statuses[i], StatusIs(grpc::StatusCode::ABORTED))
          << "thread " << i;
    }
  }
  ASSERT_NE(winner, -1);
  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(got.company(), absl::StrCat("writer-", winner));
}

TEST_F(ContactServiceTest, ConcurrentReadModifyWriteLosesNoUpdate) {
  v1::Contact c = MakeContact("Counter", "", "");
  (*c.mutable_attributes())["count"] = "0";
  v1::Contact created = MustCreate(c);

  constexpr int kThreads = 4;
  constexpr int kIncrementsPerThread = 10;
  absl::Mutex mu;
  std::vector<std::string> winning_etags;  // guarded by mu
  std::vector<std::string> errors;         // guarded by mu
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      int done = 0;
      int attempts = 0;
      while (done < kIncrementsPerThread && attempts++ < 1000) {
        v1::GetContactRequest get;
        get.set_id(created.id());
        v1::Contact current;
        grpc::Status s = contacts().GetContact(Context().get(), get, &current);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          errors.push_back(s.error_message());
          return;
        }
        const int value = std::stoi(current.attributes().at("count"));
        v1::UpdateContactRequest update;
        update.mutable_contact()->set_id(created.id());
        update.mutable_contact()->set_etag(current.etag());
        (*update.mutable_contact()->mutable_attributes())["count"] =
            std::to_string(value + 1);
        update.mutable_update_mask()->add_paths("attributes.count");
        v1::Contact out;
        s = contacts().UpdateContact(Context().get(), update, &out);
        if (s.ok()) {
          ++done;
          absl::MutexLock lock(&mu);
          winning_etags.push_back(current.etag());
        } else if (s.error_code() != grpc::StatusCode::ABORTED) {
          absl::MutexLock lock(&mu);
          errors.push_back(s.error_message());
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_THAT(errors, IsEmpty());
  ASSERT_EQ(winning_etags.size(),
            static_cast<size_t>(kThreads * kIncrementsPerThread));
  // One winner per etag: no two successful writes started from one version.
  EXPECT_EQ(
      std::set<std::string>(winning_etags.begin(), winning_etags.end()).size(),
      winning_etags.size());
  v1::Contact final_state;
  ASSERT_OK(Get(created.id(), &final_state));
  EXPECT_EQ(final_state.attributes().at("count"),
            std::to_string(kThreads * kIncrementsPerThread));
  EXPECT_EQ(Count("SELECT CAST(value AS SIGNED) FROM contact_attributes "
                  "WHERE name = 'count'"),
            kThreads * kIncrementsPerThread);
}

TEST_F(ContactServiceTest, ConcurrentUpdatesOfDifferentKeysLoseNothing) {
  v1::Contact created = MustCreate(MakeContact("Ada", "", ""));
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // No etag: each update reads the latest row under its lock.
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_id(created.id());
      const std::string key = absl::StrCat("k", i);
      (*request.mutable_contact()->mutable_attributes())[key] =
          absl::StrCat("v", i);
      request.mutable_update_mask()->add_paths(
          absl::StrCat("attributes.", key));
      v1::Contact out;
      auto context = Context();
      start.arrive_and_wait();
      statuses[i] = contacts().UpdateContact(context.get(), request, &out);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_OK(statuses[i]) << "thread " << i;
  v1::Contact got;
  ASSERT_OK(Get(created.id(), &got));
  EXPECT_EQ(got.attributes_size(), kThreads);
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(got.attributes().count(absl::StrCat("k", i)), 1u) << i;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_attributes"), kThreads);
}

TEST_F(ContactServiceTest, ConcurrentCreatesWithOneEmailHaveOneWinner) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateContactRequest request;
      *request.mutable_contact() =
          MakeContact(absl::StrCat("Racer", i), "", "race@example.com");
      v1::Contact out;
      auto context = Context();
      start.arrive_and_wait();
      statuses[i] = contacts().CreateContact(context.get(), request, &out);
    });
  }
  for (std::thread& t : threads) t.join();
  int winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (statuses[i].ok()) {
      ++winners;
    } else {
      EXPECT_THAT(statuses[i], StatusIs(grpc::StatusCode::ALREADY_EXISTS,
                                        HasSubstr("contact.emails")))
          << "thread " << i;
    }
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(ContactRows(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 1);
}

TEST_F(ContactServiceTest, UpdateWithStarMaskReplacesEveryUpdatableField) {
  v1::Contact c = MakeContact("Ada", "Lovelace", "ada@example.com");
  c.set_company("Acme");
  c.add_tags("vip");
  (*c.mutable_attributes())["plan"] = "gold";
  c.set_lifecycle_stage(v1::CUSTOMER);
  v1::Contact created = MustCreate(c);

  v1::Contact patch = MakeContact("Grace", "", "");
  patch.set_id(created.id());
  patch.mutable_consent()->set_sms_opt_in(true);
  v1::Contact updated;
  ASSERT_OK(Update(patch, {"*"}, &updated));
  EXPECT_EQ(updated.given_name(), "Grace");
  EXPECT_EQ(updated.family_name(), "");
  EXPECT_EQ(updated.display_name(), "Grace");
  EXPECT_THAT(updated.emails(), IsEmpty());
  EXPECT_THAT(updated.tags(), IsEmpty());
  EXPECT_THAT(updated.attributes(), IsEmpty());
  EXPECT_EQ(updated.company(), "");
  EXPECT_EQ(updated.lifecycle_stage(), v1::LEAD);
  EXPECT_TRUE(updated.consent().sms_opt_in());
  EXPECT_EQ(updated.create_time().DebugString(),
            created.create_time().DebugString());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 0);
}

TEST_F(ContactServiceTest, UpdateSubfieldPathsOfAddressAndConsent) {
  v1::Contact c = MakeContact("Ada", "", "");
  c.mutable_address()->add_lines("1 Old Road");
  c.mutable_address()->set_locality("London");
  c.mutable_consent()->set_email_opt_in(true);
  v1::Contact created = MustCreate(c);

  v1::Contact patch;
  patch.set_id(created.id());
  patch.mutable_address()->set_locality("Paris");
  patch.mutable_address()->set_country_code("fr");
  patch.mutable_consent()->set_do_not_contact(true);
  v1::Contact updated;
  ASSERT_OK(Update(
      patch,
      {"address.locality", "address.country_code", "consent.do_not_contact"},
      &updated));
  EXPECT_THAT(updated.address().lines(), ElementsAre("1 Old Road"));
  EXPECT_EQ(updated.address().locality(), "Paris");
  EXPECT_EQ(updated.address().country_code(), "FR");
  EXPECT_TRUE(updated.consent().email_opt_in());
  EXPECT_TRUE(updated.consent().do_not_contact());
}

}  // namespace
}  // namespace rapport::testing
