// Integration tests of the contacts row's copy of its e-mails, phones, tags
// and attributes (migration 0006, server/storage/contact_rows.cc): every
// write through the API keeps the copy equal to the child tables, and rows
// an older rapportd wrote (copy missing or stale) are read from the child
// tables instead.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;

class ContactListsCopyTest : public ServerFixture {
 protected:
  v1::Contact MustUpdate(const v1::Contact& patch,
                         const std::vector<std::string>& paths) {
    v1::UpdateContactRequest request;
    *request.mutable_contact() = patch;
    for (const std::string& p : paths) {
      request.mutable_update_mask()->add_paths(p);
    }
    v1::Contact out;
    EXPECT_OK(contacts().UpdateContact(Context().get(), request, &out));
    return out;
  }

  void MustUndelete(const std::string& id) {
    v1::UndeleteContactRequest request;
    request.set_id(id);
    v1::Contact out;
    EXPECT_OK(contacts().UndeleteContact(Context().get(), request, &out));
  }

  void MustMerge(const std::string& primary, const std::string& duplicate) {
    v1::MergeContactsRequest request;
    request.set_primary_id(primary);
    request.add_duplicate_ids(duplicate);
    v1::Contact out;
    EXPECT_OK(contacts().MergeContacts(Context().get(), request, &out));
  }

  void MustImport(const std::vector<v1::Contact>& rows) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::ImportContactsResponse response;
    auto writer = contacts().ImportContacts(&context, &response);
    v1::ImportContactsRequest batch;
    for (const v1::Contact& row : rows) *batch.add_contacts() = row;
    ASSERT_TRUE(writer->Write(batch));
    writer->WritesDone();
    ASSERT_OK(writer->Finish());
    ASSERT_EQ(response.failed_count(), 0)
        << (response.errors_size() ? response.errors(0).message() : "");
  }

  // Every contact, deleted ones too, by id: through GetContact, and checked
  // against what ListContacts says of each.
  std::map<std::string, v1::Contact> ReadAll() {
    std::map<std::string, v1::Contact> by_id;
    v1::ListContactsRequest request;
    request.set_page_size(1000);
    request.set_show_deleted(true);
    v1::ListContactsResponse response;
    EXPECT_OK(contacts().ListContacts(Context().get(), request, &response));
    for (const v1::Contact& listed : response.contacts()) {
      const v1::Contact got = MustGet(listed.id());
      EXPECT_TRUE(MessageDifferencer::Equals(listed, got))
          << "listed:\n"
          << listed.DebugString() << "got:\n"
          << got.DebugString();
      by_id[listed.id()] = got;
    }
    return by_id;
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_OK(n.status());
    return n.ok() ? *n : -1;
  }

  // Tags whose code point order differs from the column collation's
  // (utf8mb4_unicode_ci: "Émile" sorts with "e"), and attribute values that
  // need JSON escapes.
  static v1::Contact Rich(const std::string& given, const std::string& email) {
    v1::Contact c = MakeContact(given, "Rich", email);
    c.add_emails(absl::StrCat("second.", email));
    c.add_phones("+442071234567");
    c.add_phones("+14155550100");
    for (const char* tag : {"zeta", "Émile", "alpha", "b-tag"}) c.add_tags(tag);
    (*c.mutable_attributes())["plan"] = "gold";
    (*c.mutable_attributes())["note"] =
        "said \"hi\", back\\slash <&> \xc3\xbcnic\xc3\xb6"
        "de";
    return c;
  }

  // Contacts whose copy is not current.
  int64_t StaleCopies() {
    return Count(
        "SELECT COUNT(*) FROM contacts WHERE NOT (lists_version <=> version)");
  }
};

TEST_F(ContactListsCopyTest, EveryApiWriteKeepsTheCopyEqualToTheChildTables) {
  const v1::Contact a = MustCreate(Rich("Ann", "ann@example.com"));
  const v1::Contact b = MustCreate(MakeContact("Bob", "Bare", ""));
  v1::Contact c_in = MakeContact("Cy", "Tags", "cy@example.com");
  c_in.add_tags("only");
  const v1::Contact c = MustCreate(c_in);
  const v1::Contact d = MustCreate(Rich("Dee", "dee@example.com"));
  const v1::Contact g = MustCreate(MakeContact("Gil", "Tags", ""));
  MustCreate(Rich("Hal", "hal@example.com"));  // never written again

  // Each list alone, none of them, then the tags.
  v1::Contact patch;
  patch.set_id(a.id());
  patch.add_emails("ann.new@example.com");
  MustUpdate(patch, {"emails"});
  patch.Clear();
  patch.set_id(a.id());
  (*patch.mutable_attributes())["tier"] = "2";
  MustUpdate(patch, {"attributes"});
  patch.Clear();
  patch.set_id(a.id());
  patch.set_given_name("Anne");
  MustUpdate(patch, {"given_name"});
  patch.Clear();
  patch.set_id(a.id());
  patch.add_tags("Ångström");  // not in the order they are listed in
  patch.add_tags("new");
  MustUpdate(patch, {"tags"});
  patch.Clear();
  patch.set_id(g.id());  // as a's, but nothing writes g after this
  patch.add_tags("Ångström");
  patch.add_tags("new");
  MustUpdate(patch, {"tags"});
  patch.Clear();
  patch.set_id(d.id());
  MustUpdate(patch, {"tags", "phones"});  // cleared

  MustDelete(c.id());
  MustUndelete(c.id());
  MustDelete(b.id());
  MustMerge(a.id(), d.id());

  // Two new rows (the multi-row path) and one that updates `c` by e-mail.
  v1::Contact row1 = Rich("Eve", "eve@example.com");
  v1::Contact row2 = MakeContact("Fay", "Plain", "fay@example.com");
  row2.add_tags("imported");
  v1::Contact row3 = MakeContact("Cy", "Updated", "cy@example.com");
  row3.add_tags("from-import");
  MustImport({row1, row2, row3});

  ASSERT_EQ(StaleCopies(), 0);
  const std::map<std::string, v1::Contact> from_copy = ReadAll();
  ASSERT_EQ(from_copy.size(), 8u);
  EXPECT_THAT(from_copy.at(d.id()).tags(), ElementsAre())
      << "d was merged after its tags were cleared";
  // Code point order (not the collation's, where "Å" sorts with "a").
  EXPECT_THAT(from_copy.at(a.id()).tags(), ElementsAre("new", "Ångström"));
  EXPECT_THAT(from_copy.at(g.id()).tags(), ElementsAre("new", "Ångström"));
  EXPECT_THAT(from_copy.at(c.id()).tags(), ElementsAre("from-import", "only"));

  // The same contacts read from the child tables.
  ASSERT_OK(db().Execute("UPDATE contacts SET lists_version = NULL"));
  const std::map<std::string, v1::Contact> from_tables = ReadAll();
  ASSERT_EQ(from_tables.size(), from_copy.size());
  for (const auto& [id, contact] : from_copy) {
    EXPECT_TRUE(MessageDifferencer::Equals(contact, from_tables.at(id)))
        << "copy:\n"
        << contact.DebugString() << "tables:\n"
        << from_tables.at(id).DebugString();
  }
}

TEST_F(ContactListsCopyTest, RowsAnOlderRapportdWroteAreReadFromTheTables) {
  const v1::Contact a = MustCreate(Rich("Ann", "ann@example.com"));
  const std::string id = a.id();
  // What a rapportd from before migration 0006 does on UpdateContact of the
  // tags: new child rows and a version bump, leaving the copy as it was.
  ASSERT_OK(db().Execute(
      absl::StrCat("DELETE FROM contact_tags WHERE contact_id = ", id)));
  ASSERT_OK(db().Execute(
      absl::StrCat("INSERT INTO contact_tags (contact_id, tag) VALUES (", id,
                   ", 'gold'), (", id, ", 'new')")));
  ASSERT_OK(db().Execute(absl::StrCat(
      "UPDATE contacts SET version = version + 1 WHERE id = ", id)));
  // ... and its CreateContact: no copy at all.
  ASSERT_OK(db().Execute(
      "INSERT INTO contacts (given_name, family_name, display_name, "
      "search_text, create_time, update_time) VALUES ('Old', 'Binary', "
      "'Old Binary', '', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"));
  const std::string old_id = absl::StrCat(
      *db().QueryInt("SELECT id FROM contacts WHERE given_name = 'Old'"));
  ASSERT_OK(db().Execute(absl::StrCat(
      "INSERT INTO contact_emails (contact_id, position, email, live) VALUES (",
      old_id, ", 0, 'old@example.com', 1)")));
  ASSERT_OK(db().Execute(
      absl::StrCat("INSERT INTO contact_tags (contact_id, tag) VALUES (",
                   old_id, ", 'legacy')")));
  ASSERT_EQ(StaleCopies(), 2);

  std::map<std::string, v1::Contact> all = ReadAll();
  EXPECT_THAT(all.at(id).tags(), ElementsAre("gold", "new"));
  EXPECT_THAT(all.at(id).emails(),
              ElementsAre("ann@example.com", "second.ann@example.com"));
  EXPECT_EQ(all.at(id).attributes().at("plan"), "gold");
  EXPECT_THAT(all.at(old_id).emails(), ElementsAre("old@example.com"));
  EXPECT_THAT(all.at(old_id).tags(), ElementsAre("legacy"));

  // A delete leaves a stale copy stale; the next write of the whole contact
  // makes it current from what the tables held.
  MustDelete(id);
  EXPECT_THAT(MustGet(id).tags(), ElementsAre("gold", "new"));
  MustUndelete(id);
  ASSERT_EQ(StaleCopies(), 2);
  v1::Contact patch;
  patch.set_id(id);
  patch.set_given_name("Anne");
  MustUpdate(patch, {"given_name"});
  patch.set_id(old_id);
  patch.set_given_name("Older");
  MustUpdate(patch, {"given_name"});
  ASSERT_EQ(StaleCopies(), 0);
  all = ReadAll();
  EXPECT_THAT(all.at(id).tags(), ElementsAre("gold", "new"));
  EXPECT_THAT(all.at(old_id).emails(), ElementsAre("old@example.com"));
  EXPECT_THAT(all.at(old_id).tags(), ElementsAre("legacy"));
  EXPECT_EQ(*db().QueryInt(
                absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ", id,
                             " AND tags_list = 'gold\\nnew' AND emails_list = "
                             "'ann@example.com\\nsecond.ann@example.com'")),
            1);
}

}  // namespace
}  // namespace rapport::testing
