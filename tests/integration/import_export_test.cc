// Integration tests of ContactService.ImportContacts (client stream) and
// ExportContacts (server stream) over real gRPC against a real database:
// per-row errors, upsert by e-mail, batch limits, filtered export and the
// export -> import round trip.
#include <cppconn/resultset.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "rapport/v1/event.pb.h"
#include "server/storage/database.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
namespace storage = rapport::storage;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class ImportExportTest : public ServerFixture {
 protected:
  // Streams `rows` in messages of `batch_size`; returns the final status.
  grpc::Status Import(const std::vector<v1::Contact>& rows,
                      v1::ImportContactsResponse* response,
                      size_t batch_size = 500) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    auto writer = contacts().ImportContacts(&context, response);
    for (size_t i = 0; i < rows.size(); i += batch_size) {
      v1::ImportContactsRequest batch;
      for (size_t j = i; j < std::min(rows.size(), i + batch_size); ++j) {
        *batch.add_contacts() = rows[j];
      }
      if (!writer->Write(batch)) break;  // the server ended the call
    }
    writer->WritesDone();
    return writer->Finish();
  }

  // Imports and expects every row to be stored.
  v1::ImportContactsResponse MustImport(const std::vector<v1::Contact>& rows) {
    v1::ImportContactsResponse response;
    grpc::Status status = Import(rows, &response);
    EXPECT_OK(status);
    EXPECT_EQ(response.failed_count(), 0)
        << (response.errors_size() ? response.errors(0).message() : "");
    return response;
  }

  // Exports with `request`; returns every batch.
  grpc::Status Export(const v1::ExportContactsRequest& request,
                      std::vector<v1::ExportContactsResponse>* batches) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    auto reader = contacts().ExportContacts(&context, request);
    v1::ExportContactsResponse batch;
    while (reader->Read(&batch)) batches->push_back(batch);
    return reader->Finish();
  }

  std::vector<v1::Contact> ExportAll(const std::string& filter,
                                     bool show_deleted = false) {
    v1::ExportContactsRequest request;
    request.set_filter(filter);
    request.set_show_deleted(show_deleted);
    std::vector<v1::ExportContactsResponse> batches;
    EXPECT_OK(Export(request, &batches));
    std::vector<v1::Contact> out;
    for (const auto& b : batches) {
      for (const v1::Contact& c : b.contacts()) out.push_back(c);
    }
    return out;
  }

  v1::Contact GetByEmail(const std::string& email) {
    v1::ListContactsRequest request;
    request.set_filter(absl::StrCat("emails:\"", email, "\""));
    v1::ListContactsResponse response;
    EXPECT_OK(contacts().ListContacts(Context().get(), request, &response));
    EXPECT_EQ(response.contacts_size(), 1) << email;
    return response.contacts_size() ? response.contacts(0) : v1::Contact();
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }
};

// A row that fails validation in a known field.
struct BadRow {
  const char* field;  // ImportError.field expected
  void (*spoil)(v1::Contact*);
};

const BadRow kBadRows[] = {
    {"emails[0]", [](v1::Contact* c) { c->set_emails(0, "not-an-email"); }},
    {"phones[0]", [](v1::Contact* c) { c->add_phones("12"); }},
    {"given_name",
     [](v1::Contact* c) { c->set_given_name(std::string(201, 'x')); }},
    {"lifecycle_stage",
     [](v1::Contact* c) {
       c->set_lifecycle_stage(static_cast<v1::LifecycleStage>(99));
     }},
    {"tags[1]", [](v1::Contact* c) { c->add_tags(std::string(65, 't')); }},
    {"company", [](v1::Contact* c) { c->set_company(std::string(201, 'c')); }},
    {"address.country_code",
     [](v1::Contact* c) { c->mutable_address()->set_country_code("XX"); }},
};

TEST_F(ImportExportTest, ImportReportsBadRowsAndStoresTheGoodOnes) {
  constexpr int kRows = 10000;
  // 37 distinct bad indexes spread over the stream, incl. both ends and
  // batch boundaries.
  std::set<int> bad = {0, 499, 500, 9999};
  for (int i = 1; bad.size() < 37; ++i) bad.insert((i * 7919) % kRows);
  ASSERT_EQ(bad.size(), 37u);

  std::vector<v1::Contact> rows;
  rows.reserve(kRows);
  std::map<int, std::string> expected_field;
  int k = 0;
  for (int i = 0; i < kRows; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("Imp", i), absl::StrCat("Row", i),
                                absl::StrCat("row", i, "@import.example"));
    c.add_tags("imported");
    if (bad.count(i)) {
      const BadRow& b = kBadRows[k++ % std::size(kBadRows)];
      b.spoil(&c);
      expected_field[i] = b.field;
    }
    rows.push_back(std::move(c));
  }

  v1::ImportContactsResponse response;
  ASSERT_OK(Import(rows, &response, 500));
  EXPECT_EQ(response.received_count(), kRows);
  EXPECT_EQ(response.created_count(), kRows - 37);
  EXPECT_EQ(response.updated_count(), 0);
  EXPECT_EQ(response.failed_count(), 37);
  ASSERT_EQ(response.errors_size(), 37);
  std::vector<int64_t> indexes;
  for (const v1::ImportError& e : response.errors()) {
    indexes.push_back(e.index());
    EXPECT_EQ(e.field(), expected_field[e.index()]) << "row " << e.index();
    EXPECT_FALSE(e.message().empty()) << "row " << e.index();
    EXPECT_THAT(e.message(), ::testing::Not(HasSubstr("contacts[")))
        << "the field belongs in `field`, row " << e.index();
  }
  EXPECT_EQ(indexes, std::vector<int64_t>(bad.begin(), bad.end()));

  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), kRows - 37);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), kRows - 37);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_tags WHERE tag = 'imported'"),
            kRows - 37);
  for (int i : bad) {
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE "
                                 "family_name = 'Row",
                                 i, "'")),
              0)
        << "bad row " << i << " was stored";
  }
  for (int i : {1, 498, 501, 5000, 9998}) {
    ASSERT_EQ(bad.count(i), 0u);
    EXPECT_EQ(Count(absl::StrCat(
                  "SELECT COUNT(*) FROM contacts c JOIN contact_emails e ON "
                  "e.contact_id = c.id WHERE c.family_name = 'Row",
                  i, "' AND e.email = 'row", i, "@import.example'")),
              1)
        << "good row " << i;
  }
}

TEST_F(ImportExportTest, ImportUpsertsByEmail) {
  std::vector<v1::Contact> first;
  for (int i = 0; i < 3; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("Old", i), "Family",
                                absl::StrCat("p", i, "@upsert.example"));
    c.set_company("Old Co");
    c.set_job_title("Keeps");
    c.add_tags("first");
    (*c.mutable_attributes())["plan"] = "bronze";
    (*c.mutable_attributes())["keep"] = "yes";
    first.push_back(c);
  }
  v1::ImportContactsResponse r1 = MustImport(first);
  EXPECT_EQ(r1.created_count(), 3);
  const v1::Contact before = GetByEmail("p1@upsert.example");

  std::vector<v1::Contact> second;
  for (int i = 0; i < 3; ++i) {
    // Upper case: e-mails match after normalisation.
    v1::Contact c = MakeContact(absl::StrCat("New", i), "",
                                absl::StrCat("P", i, "@UPSERT.example"));
    c.set_company("New Co");
    c.add_tags("Second");
    c.add_phones("+1 650 253 000" + std::to_string(i));
    (*c.mutable_attributes())["plan"] = "gold";
    second.push_back(c);
  }
  v1::ImportContactsResponse r2 = MustImport(second);
  EXPECT_EQ(r2.received_count(), 3);
  EXPECT_EQ(r2.created_count(), 0);
  EXPECT_EQ(r2.updated_count(), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 3);

  const v1::Contact after = GetByEmail("p1@upsert.example");
  EXPECT_EQ(after.id(), before.id());
  EXPECT_EQ(after.given_name(), "New1");     // set: replaced
  EXPECT_EQ(after.family_name(), "Family");  // unset: kept
  EXPECT_EQ(after.company(), "New Co");
  EXPECT_EQ(after.job_title(), "Keeps");
  EXPECT_THAT(after.tags(), UnorderedElementsAre("first", "second"));
  EXPECT_THAT(after.phones(), ElementsAre("+16502530001"));
  EXPECT_THAT(after.attributes(),
              UnorderedElementsAre(Pair("plan", "gold"), Pair("keep", "yes")));
  EXPECT_THAT(after.emails(), ElementsAre("p1@upsert.example"));
  EXPECT_NE(after.etag(), before.etag());
}

// Imported new contacts are stored with multi-row statements, and their
// CONTACT_CREATED events are built from the input rather than read back. The
// events must still carry exactly what GetContact returns: ids, times cut to
// microseconds, etag, and tags in code point order (which is not the column
// collation's order: there '_' sorts before '-' and "é" with "e").
TEST_F(ImportExportTest, ImportedContactEventsCarryTheContactsAsStored) {
  std::vector<v1::Contact> rows;
  for (int i = 0; i < 6; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("Zoë", i), "Ångström",
                                absl::StrCat("ev", i, "@events.example"));
    if (i % 2 == 0) {
      for (const char* tag : {"b-2", "b_1", "a10", "a9", "zz", "échec", "Mix"})
        c.add_tags(tag);
    }
    if (i == 1) c.clear_emails();  // rows without e-mails are new too
    if (i == 2) c.add_emails(absl::StrCat("second", i, "@events.example"));
    c.add_phones("+1 650 253 0000");
    c.set_company("Acme 株式会社");
    c.set_lifecycle_stage(i == 3 ? v1::CUSTOMER
                                 : v1::LIFECYCLE_STAGE_UNSPECIFIED);
    c.mutable_consent()->set_email_opt_in(i % 3 == 0);
    if (i != 4) {
      c.mutable_address()->set_locality("Zürich");
      c.mutable_address()->set_country_code("CH");
    }
    (*c.mutable_attributes())["plan"] = absl::StrCat("tier ", i);
    (*c.mutable_attributes())["note"] = "côde \"quoted\" ünï";
    rows.push_back(std::move(c));
  }
  // The last row comes alone: a batch of one is stored row by row
  // (InsertContact), not with the multi-row statements.
  v1::Contact alone = rows.back();
  rows.pop_back();
  v1::ImportContactsResponse response = MustImport(rows);
  ASSERT_EQ(response.created_count(), 5);
  ASSERT_EQ(MustImport({alone}).created_count(), 1);

  storage::Database database(db().options(), 1);
  absl::StatusOr<storage::Connection> conn = database.Acquire(true);
  ASSERT_OK(conn);
  auto rs = conn->Query(
      "SELECT contact_id, payload FROM outbox_events WHERE type = ? "
      "ORDER BY id",
      {static_cast<int64_t>(v1::CONTACT_CREATED)});
  int events = 0;
  while (rs->next()) {
    ++events;
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(rs->getString(2)));
    EXPECT_EQ(event.contact_id(), absl::StrCat(rs->getInt64(1)));
    v1::GetContactRequest request;
    request.set_id(event.contact_id());
    v1::Contact got;
    ASSERT_OK(contacts().GetContact(Context().get(), request, &got));
    EXPECT_TRUE(MessageDifferencer::Equals(event.contact(), got))
        << "event:  " << event.contact().ShortDebugString()
        << "\nstored: " << got.ShortDebugString();
  }
  EXPECT_EQ(events, 6);
  // The comparison saw the case it is most about.
  EXPECT_THAT(GetByEmail("ev0@events.example").tags(),
              ElementsAre("a10", "a9", "b-2", "b_1", "mix", "zz", "échec"));
}

TEST_F(ImportExportTest, ImportRowWithoutStageDoesNotDemoteCustomer) {
  v1::Contact customer = MakeContact("Ada", "", "ada@example.com");
  customer.set_lifecycle_stage(v1::CUSTOMER);
  MustCreate(customer);
  v1::Contact row = MakeContact("Ada", "Lovelace", "ada@example.com");
  v1::ImportContactsResponse response = MustImport({row});
  EXPECT_EQ(response.updated_count(), 1);
  const v1::Contact after = GetByEmail("ada@example.com");
  EXPECT_EQ(after.lifecycle_stage(), v1::CUSTOMER);
  EXPECT_EQ(after.family_name(), "Lovelace");
  EXPECT_EQ(Count("SELECT lifecycle_stage FROM contacts"), v1::CUSTOMER);

  row.set_lifecycle_stage(v1::CHURNED);  // an explicit stage does replace
  MustImport({row});
  EXPECT_EQ(GetByEmail("ada@example.com").lifecycle_stage(), v1::CHURNED);
}

TEST_F(ImportExportTest, ImportKeepsChosenDisplayNameWhenRowHasNone) {
  v1::Contact c = MakeContact("Ada", "", "ada@example.com");
  c.set_display_name("The Countess");
  MustCreate(c);
  MustImport({MakeContact("Ada", "", "ada@example.com")});
  EXPECT_EQ(GetByEmail("ada@example.com").display_name(), "The Countess");
}

TEST_F(ImportExportTest, ImportRowsWithoutEmailAreAlwaysCreated) {
  const v1::Contact row = MakeContact("Same", "Name", "");
  v1::ImportContactsResponse response = MustImport({row, row});
  EXPECT_EQ(response.created_count(), 2);
  response = MustImport({row});
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 3);
}

TEST_F(ImportExportTest, ImportDoesNotUpdateDeletedContacts) {
  v1::Contact gone = MustCreate(MakeContact("Gone", "", "gone@example.com"));
  v1::DeleteContactRequest del;
  del.set_id(gone.id());
  v1::Contact out;
  ASSERT_OK(contacts().DeleteContact(Context().get(), del, &out));
  v1::ImportContactsResponse response =
      MustImport({MakeContact("Back", "", "gone@example.com")});
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_EQ(response.updated_count(), 0);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               gone.id(), " AND given_name = 'Gone'")),
            1);
}

TEST_F(ImportExportTest, ImportBatchOver1000IsInvalidArgument) {
  std::vector<v1::Contact> rows;
  for (int i = 0; i < 1001; ++i) {
    rows.push_back(MakeContact(absl::StrCat("G", i), "", ""));
  }
  v1::ImportContactsResponse response;
  EXPECT_THAT(
      Import(rows, &response, /*batch_size=*/1001),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
               ::testing::AllOf(HasSubstr("1000"), HasSubstr("contacts"))));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 0);
}

// The server reads and normalises the next message while it stores the one
// before. When storing a message fails as a whole (here a trigger reports a
// deadlock for one row, so every retry fails too), the call ends with that
// error and the index to resend from; messages read after it are not stored,
// and those before it all are.
TEST_F(ImportExportTest,
       ImportFailingMidStreamNamesWhereToResumeAndStoresNoMore) {
  ASSERT_OK(db().Execute(
      "CREATE TRIGGER import_boom BEFORE INSERT ON contacts FOR EACH ROW "
      "BEGIN IF NEW.given_name = 'boom' THEN SIGNAL SQLSTATE '40001' SET "
      "MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'test deadlock'; END IF; END"));
  std::vector<v1::Contact> rows;
  for (int i = 0; i < 500; ++i) {
    rows.push_back(MakeContact(i == 250 ? "boom" : absl::StrCat("R", i), "",
                               absl::StrCat("mid", i, "@stream.example")));
  }
  rows[120].set_emails(0, "not-an-email");  // an invalid row before it
  v1::ImportContactsResponse response;
  EXPECT_THAT(Import(rows, &response, /*batch_size=*/100),
              StatusIs(grpc::StatusCode::ABORTED,
                       HasSubstr("rows before index 200 were stored: 199 "
                                 "created, 0 updated; resend from that "
                                 "index")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 199);
  EXPECT_EQ(Count("SELECT MAX(id) FROM contacts"), 199);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE email IN "
                  "('mid199@stream.example', 'mid200@stream.example', "
                  "'mid499@stream.example')"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_events"), 199);
}

TEST_F(ImportExportTest, ImportBatchOfExactly1000IsAccepted) {
  std::vector<v1::Contact> rows;
  for (int i = 0; i < 1000; ++i) {
    rows.push_back(MakeContact(absl::StrCat("G", i), "", ""));
  }
  v1::ImportContactsResponse response;
  ASSERT_OK(Import(rows, &response, /*batch_size=*/1000));
  EXPECT_EQ(response.created_count(), 1000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 1000);
}

TEST_F(ImportExportTest, ImportSameEmailTwiceInOneBatchUpdatesTheFirst) {
  v1::Contact a = MakeContact("First", "", "dup@example.com");
  a.set_company("First Co");
  a.add_tags("a");
  v1::Contact b = MakeContact("Second", "", "DUP@example.com");
  b.add_tags("b");
  v1::ImportContactsResponse response = MustImport({a, b});
  EXPECT_EQ(response.received_count(), 2);
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_EQ(response.updated_count(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 1);
  const v1::Contact c = GetByEmail("dup@example.com");
  EXPECT_EQ(c.given_name(), "Second");
  EXPECT_EQ(c.company(), "First Co");
  EXPECT_THAT(c.tags(), UnorderedElementsAre("a", "b"));
}

TEST_F(ImportExportTest, ImportRowWhoseOtherEmailIsTakenFailsAlone) {
  MustCreate(MakeContact("Owner", "", "taken@example.com"));
  v1::Contact bad = MakeContact("Bad", "", "fresh@example.com");
  bad.add_emails("taken@example.com");
  const v1::Contact good = MakeContact("Good", "", "good@example.com");
  v1::ImportContactsResponse response;
  ASSERT_OK(Import({good, bad, good}, &response));
  EXPECT_EQ(response.received_count(), 3);
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_EQ(response.updated_count(), 1);
  EXPECT_EQ(response.failed_count(), 1);
  ASSERT_EQ(response.errors_size(), 1);
  EXPECT_EQ(response.errors(0).index(), 1);
  EXPECT_EQ(response.errors(0).field(), "emails");
  EXPECT_THAT(response.errors(0).message(), HasSubstr("taken@example.com"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE email = "
                  "'fresh@example.com'"),
            0);
}

TEST_F(ImportExportTest, EmptyImportReportsZeroCounts) {
  v1::ImportContactsResponse response;
  ASSERT_OK(Import({}, &response));
  EXPECT_EQ(response.received_count(), 0);
  EXPECT_EQ(response.created_count(), 0);
  EXPECT_EQ(response.failed_count(), 0);
}

// ---------------------------------------------------------------- export

TEST_F(ImportExportTest, ExportStreamsEveryMatchingContactOnce) {
  constexpr int kRows = 3000;
  constexpr int kPicked = 1234;
  std::vector<v1::Contact> rows;
  std::set<std::string> picked_emails;
  for (int i = 0; i < kRows; ++i) {
    const std::string email = absl::StrCat("e", i, "@export.example");
    v1::Contact c = MakeContact(absl::StrCat("G", i), "", email);
    // 7919 is coprime with 3000: a permutation, so exactly kPicked rows.
    if ((i * 7919) % kRows < kPicked) {
      c.add_tags("pick");
      picked_emails.insert(email);
    }
    rows.push_back(std::move(c));
  }
  ASSERT_EQ(picked_emails.size(), static_cast<size_t>(kPicked));
  ASSERT_EQ(MustImport(rows).created_count(), kRows);

  v1::ExportContactsRequest request;
  request.set_filter("tags:\"pick\"");
  std::vector<v1::ExportContactsResponse> batches;
  ASSERT_OK(Export(request, &batches));
  std::vector<int64_t> ids;
  std::set<std::string> emails;
  for (const auto& batch : batches) {
    EXPECT_GT(batch.contacts_size(), 0);
    EXPECT_LE(batch.contacts_size(), 500);
    for (const v1::Contact& c : batch.contacts()) {
      ids.push_back(std::stoll(c.id()));
      emails.insert(c.emails(0));
      EXPECT_THAT(c.tags(), ElementsAre("pick"));
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kPicked));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(emails, picked_emails);
}

TEST_F(ImportExportTest, ExportHonoursQueryAndShowDeleted) {
  const v1::Contact live = MustCreate(MakeContact("Ada", "Lovelace", ""));
  const v1::Contact gone = MustCreate(MakeContact("Ada", "Byron", ""));
  MustCreate(MakeContact("Grace", "Hopper", ""));
  v1::DeleteContactRequest del;
  del.set_id(gone.id());
  v1::Contact out;
  ASSERT_OK(contacts().DeleteContact(Context().get(), del, &out));

  v1::ExportContactsRequest request;
  request.set_query("ada");
  std::vector<v1::ExportContactsResponse> batches;
  ASSERT_OK(Export(request, &batches));
  std::vector<std::string> ids;
  for (const auto& b : batches) {
    for (const auto& c : b.contacts()) ids.push_back(c.id());
  }
  EXPECT_THAT(ids, ElementsAre(live.id()));

  request.set_show_deleted(true);
  batches.clear();
  ids.clear();
  ASSERT_OK(Export(request, &batches));
  for (const auto& b : batches) {
    for (const auto& c : b.contacts()) ids.push_back(c.id());
  }
  EXPECT_THAT(ids, ElementsAre(live.id(), gone.id()));
}

TEST_F(ImportExportTest, ExportWithBadFilterIsInvalidArgument) {
  MustCreate(MakeContact("Ada", "", ""));
  v1::ExportContactsRequest request;
  request.set_filter("shoe_size = 42");
  std::vector<v1::ExportContactsResponse> batches;
  EXPECT_THAT(
      Export(request, &batches),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("shoe_size")));
  EXPECT_THAT(batches, IsEmpty());
  request.set_filter("(");
  EXPECT_THAT(
      Export(request, &batches),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("position")));
}

TEST_F(ImportExportTest, ExportOfNothingStreamsNoContacts) {
  v1::ExportContactsRequest request;
  std::vector<v1::ExportContactsResponse> batches;
  ASSERT_OK(Export(request, &batches));
  int total = 0;
  for (const auto& b : batches) total += b.contacts_size();
  EXPECT_EQ(total, 0);
}

TEST_F(ImportExportTest, ExportThenImportRoundTripsAsUpdates) {
  constexpr int kRows = 1200;
  std::vector<v1::Contact> rows;
  for (int i = 0; i < kRows; ++i) {
    v1::Contact c = MakeContact(absl::StrCat("G", i), absl::StrCat("F", i),
                                absl::StrCat("rt", i, "@roundtrip.example"));
    if (i % 2) c.add_emails(absl::StrCat("alt", i, "@roundtrip.example"));
    if (i % 3 == 0) c.add_phones("+44 20 7946 0958");
    c.add_tags(absl::StrCat("t", i % 5));
    (*c.mutable_attributes())["n"] = absl::StrCat(i);
    c.set_lifecycle_stage(static_cast<v1::LifecycleStage>(1 + i % 5));
    c.set_company(absl::StrCat("Co ", i % 11));
    c.mutable_consent()->set_email_opt_in(i % 2 == 0);
    if (i % 4 == 0) {
      c.mutable_address()->add_lines("1 Main St");
      c.mutable_address()->set_country_code("GB");
    }
    if (i % 7 == 0) c.set_display_name(absl::StrCat("Chosen ", i));
    rows.push_back(std::move(c));
  }
  ASSERT_EQ(MustImport(rows).created_count(), kRows);

  const std::vector<v1::Contact> exported = ExportAll("");
  ASSERT_EQ(exported.size(), static_cast<size_t>(kRows));
  const v1::ImportContactsResponse response = MustImport(exported);
  EXPECT_EQ(response.received_count(), kRows);
  EXPECT_EQ(response.created_count(), 0);
  EXPECT_EQ(response.updated_count(), kRows);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), kRows);

  // Nothing but the bookkeeping changed.
  const std::vector<v1::Contact> again = ExportAll("");
  ASSERT_EQ(again.size(), exported.size());
  for (size_t i = 0; i < again.size(); ++i) {
    v1::Contact a = exported[i];
    v1::Contact b = again[i];
    for (v1::Contact* c : {&a, &b}) {
      c->clear_update_time();
      c->clear_etag();
    }
    EXPECT_EQ(a.DebugString(), b.DebugString()) << "contact " << a.id();
  }
}

}  // namespace
}  // namespace rapport::testing
