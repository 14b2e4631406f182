// Integration tests of ContactService.MergeContacts and EraseContact over
// real gRPC against a real database: what moves to the primary, atomicity,
// argument errors, and that a privacy erasure leaves no personal data in any
// column of any table.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class MergeEraseTest : public ServerFixture {
 protected:
  grpc::Status Merge(const std::string& primary,
                     const std::vector<std::string>& duplicates,
                     v1::Contact* out) {
    v1::MergeContactsRequest request;
    request.set_primary_id(primary);
    for (const std::string& d : duplicates) request.add_duplicate_ids(d);
    return contacts().MergeContacts(Context().get(), request, out);
  }

  grpc::Status Erase(const std::string& id, v1::EraseContactResponse* out) {
    v1::EraseContactRequest request;
    request.set_id(id);
    return contacts().EraseContact(Context().get(), request, out);
  }

  grpc::Status Get(const std::string& id, v1::Contact* out,
                   bool show_deleted = true) {
    v1::GetContactRequest request;
    request.set_id(id);
    request.set_show_deleted(show_deleted);
    return contacts().GetContact(Context().get(), request, out);
  }

  // Logs an interaction on `contact_id`; `day` of January 2024 is its time.
  v1::Interaction Log(const std::string& contact_id, int day,
                      const std::string& subject = "",
                      const std::string& body = "",
                      const std::string& request_id = "") {
    v1::LogInteractionRequest request;
    v1::Interaction* i = request.mutable_interaction();
    i->set_contact_id(contact_id);
    i->set_type(v1::PURCHASE);
    i->mutable_amount()->set_currency_code("EUR");
    i->mutable_amount()->set_amount_minor(1999);
    i->set_subject(subject);
    i->set_body(body);
    i->mutable_occur_time()->set_seconds(1704067200 + (day - 1) * 86400);
    request.set_request_id(request_id);
    v1::Interaction out;
    EXPECT_OK(interactions().LogInteraction(Context().get(), request, &out));
    return out;
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status() << " in " << sql;
    return n.ok() ? *n : -1;
  }

  int64_t InteractionsOf(const std::string& contact_id) {
    return Count(absl::StrCat(
        "SELECT COUNT(*) FROM interactions WHERE contact_id = ", contact_id));
  }

  // The text-like columns of every table of the test database, in a fixed
  // order: `FROM ... WHERE ...` to select from information_schema.columns.
  std::string TextColumns() {
    return absl::StrCat(
        "FROM information_schema.columns WHERE table_schema = '", db().name(),
        "' AND data_type IN ('char', 'varchar', 'tinytext', 'text', "
        "'mediumtext', 'longtext', 'binary', 'varbinary', 'tinyblob', 'blob', "
        "'mediumblob', 'longblob', 'json')");
  }

  // "table.column" of the k-th text column (read through QueryInt one
  // character at a time; only used to explain a failure).
  std::string ColumnName(int64_t k) {
    std::string name;
    for (int i = 1; i <= 130; ++i) {
      absl::StatusOr<int64_t> ch = db().QueryInt(absl::StrCat(
          "SELECT ASCII(SUBSTRING(CONCAT(table_name, '.', column_name), ", i,
          ", 1)) ", TextColumns(),
          " ORDER BY table_name, column_name LIMIT 1 OFFSET ", k));
      if (!ch.ok() || *ch == 0) break;
      name.push_back(static_cast<char>(*ch));
    }
    return name;
  }

  // How many rows contain `marker` (letters, digits, '@', '.'), summed over
  // every text-like column of every table of the test database: for each
  // column, SELECT COUNT(*) FROM t WHERE col LIKE '%<marker>%'. Every column
  // with a match is named in the test log.
  int64_t RowsContaining(const std::string& marker) {
    const int64_t columns =
        Count(absl::StrCat("SELECT COUNT(*) ", TextColumns()));
    EXPECT_GT(columns, 15) << "the scan found too few columns";
    int64_t total = 0;
    for (int64_t k = 0; k < columns; ++k) {
      // Build the per-column statement in SQL from information_schema and
      // run it with EXECUTE IMMEDIATE into a session variable.
      EXPECT_OK(db().Execute(absl::StrCat(
          "SET @scan = (SELECT CONCAT('SELECT COUNT(*) INTO @scan_n FROM `', "
          "table_name, '` WHERE `', column_name, '` LIKE ''%",
          marker, "%''') ", TextColumns(),
          " ORDER BY table_name, column_name LIMIT 1 OFFSET ", k, ")")));
      EXPECT_OK(db().Execute("EXECUTE IMMEDIATE @scan"));
      const int64_t n = Count("SELECT @scan_n");
      if (n > 0) {
        std::cerr << "  \"" << marker << "\" in " << n << " row(s) of "
                  << ColumnName(k) << "\n";
      }
      total += n;
    }
    return total;
  }
};

// ---------------------------------------------------------------- merge

TEST_F(MergeEraseTest, MergeMovesInteractionsToThePrimary) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", "a@x.example"));
  const v1::Contact d1 = MustCreate(MakeContact("Ada", "L", "b@x.example"));
  const v1::Contact d2 = MustCreate(MakeContact("A.", "L", "c@x.example"));
  Log(primary.id(), 1);
  const v1::Interaction i1 = Log(d1.id(), 2);
  Log(d1.id(), 3);
  const v1::Interaction i2 = Log(d2.id(), 20);

  v1::Contact merged;
  ASSERT_OK(Merge(primary.id(), {d1.id(), d2.id()}, &merged));
  EXPECT_EQ(merged.id(), primary.id());
  EXPECT_EQ(InteractionsOf(primary.id()), 4);
  EXPECT_EQ(InteractionsOf(d1.id()), 0);
  EXPECT_EQ(InteractionsOf(d2.id()), 0);

  v1::GetInteractionRequest get;
  get.set_id(i1.id());
  v1::Interaction moved;
  ASSERT_OK(interactions().GetInteraction(Context().get(), get, &moved));
  EXPECT_EQ(moved.contact_id(), primary.id());

  // The latest interaction, from a duplicate, is now the primary's.
  EXPECT_EQ(merged.last_interaction_time().seconds(),
            i2.occur_time().seconds());
}

TEST_F(MergeEraseTest, MergeFillsMissingFieldsAndUnionsLists) {
  v1::Contact p = MakeContact("Ada", "", "ada@x.example");
  p.add_tags("vip");
  p.add_phones("+16502530000");
  (*p.mutable_attributes())["plan"] = "gold";
  const v1::Contact primary = MustCreate(p);

  v1::Contact d = MakeContact("Augusta", "Lovelace", "countess@x.example");
  d.add_emails("ada@x.example.org");
  d.set_company("Analytical Engines");
  d.set_job_title("Programmer");
  d.add_tags("vip");
  d.add_tags("poet");
  d.add_phones("+442079460958");
  (*d.mutable_attributes())["plan"] = "silver";  // the primary's value wins
  (*d.mutable_attributes())["source_id"] = "42";
  d.mutable_consent()->set_do_not_contact(true);
  const v1::Contact dup = MustCreate(d);

  v1::Contact merged;
  ASSERT_OK(Merge(primary.id(), {dup.id()}, &merged));
  EXPECT_EQ(merged.given_name(), "Ada");        // kept
  EXPECT_EQ(merged.family_name(), "Lovelace");  // filled
  EXPECT_EQ(merged.company(), "Analytical Engines");
  EXPECT_EQ(merged.job_title(), "Programmer");
  EXPECT_THAT(
      merged.emails(),
      ElementsAre("ada@x.example", "countess@x.example", "ada@x.example.org"));
  EXPECT_THAT(merged.phones(), ElementsAre("+16502530000", "+442079460958"));
  EXPECT_THAT(merged.tags(), UnorderedElementsAre("vip", "poet"));
  EXPECT_THAT(
      merged.attributes(),
      UnorderedElementsAre(Pair("plan", "gold"), Pair("source_id", "42")));
  EXPECT_TRUE(merged.consent().do_not_contact());
  EXPECT_EQ(MustGet(primary.id()).DebugString(), merged.DebugString());

  // The duplicate's e-mails now belong to the primary.
  v1::CreateContactRequest create;
  *create.mutable_contact() = MakeContact("X", "", "countess@x.example");
  v1::Contact out;
  EXPECT_THAT(
      contacts().CreateContact(Context().get(), create, &out),
      StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr(primary.id())));
  // And the primary is found by them.
  v1::ListContactsRequest list;
  list.set_filter("emails:\"countess@x.example\"");
  v1::ListContactsResponse page;
  ASSERT_OK(contacts().ListContacts(Context().get(), list, &page));
  ASSERT_EQ(page.contacts_size(), 1);
  EXPECT_EQ(page.contacts(0).id(), primary.id());
  list.set_filter("");
  list.set_query("lovelace");
  ASSERT_OK(contacts().ListContacts(Context().get(), list, &page));
  ASSERT_EQ(page.contacts_size(), 1);
  EXPECT_EQ(page.contacts(0).id(), primary.id());
}

TEST_F(MergeEraseTest, MergeRederivesADerivedDisplayName) {
  // The primary knew only an e-mail, so its display name was derived from
  // it; once the merge fills in the names, the derived name follows them.
  const v1::Contact primary = MustCreate(MakeContact("", "", "ada@x.example"));
  ASSERT_EQ(primary.display_name(), "ada@x.example");
  const v1::Contact dup = MustCreate(MakeContact("Ada", "Lovelace", ""));
  v1::Contact merged;
  ASSERT_OK(Merge(primary.id(), {dup.id()}, &merged));
  EXPECT_EQ(merged.display_name(), "Ada Lovelace");
}

TEST_F(MergeEraseTest, MergeSoftDeletesDuplicatesWithMergedInto) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", "d@x.example"));
  v1::Contact merged;
  ASSERT_OK(Merge(primary.id(), {dup.id()}, &merged));

  v1::Contact got;
  EXPECT_THAT(Get(dup.id(), &got, /*show_deleted=*/false),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(primary.id())));
  ASSERT_OK(Get(dup.id(), &got));
  EXPECT_TRUE(got.has_delete_time());
  EXPECT_EQ(got.merged_into(), primary.id());
  EXPECT_TRUE(merged.merged_into().empty());
  EXPECT_FALSE(merged.has_delete_time());
  EXPECT_EQ(Count(absl::StrCat("SELECT merged_into FROM contacts WHERE id = ",
                               dup.id(), " AND delete_time IS NOT NULL")),
            std::stoll(primary.id()));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"),
            1);
}

TEST_F(MergeEraseTest, MergeNamingAMissingDuplicateChangesNothing) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", "a@x.example"));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", "d@x.example"));
  Log(dup.id(), 1);
  Log(dup.id(), 2);
  Log(primary.id(), 3);
  const v1::Contact p_before = MustGet(primary.id());
  const v1::Contact d_before = MustGet(dup.id());

  v1::Contact merged;
  EXPECT_THAT(Merge(primary.id(), {dup.id(), "987654"}, &merged),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
  EXPECT_EQ(InteractionsOf(dup.id()), 2);
  EXPECT_EQ(InteractionsOf(primary.id()), 1);
  EXPECT_EQ(MustGet(primary.id()).DebugString(), p_before.DebugString());
  EXPECT_EQ(MustGet(dup.id()).DebugString(), d_before.DebugString());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL "
                  "AND merged_into IS NULL"),
            2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails WHERE live = 1"), 2);
}

TEST_F(MergeEraseTest, MergeWithPrimaryAmongDuplicatesIsInvalidArgument) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", ""));
  v1::Contact merged;
  EXPECT_THAT(Merge(primary.id(), {dup.id(), primary.id()}, &merged),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("duplicate_ids[1]")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"),
            2);
}

TEST_F(MergeEraseTest, MergeWithDuplicateListedTwiceIsInvalidArgument) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", ""));
  v1::Contact merged;
  EXPECT_THAT(Merge(primary.id(), {dup.id(), dup.id()}, &merged),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("twice")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"),
            2);
}

TEST_F(MergeEraseTest, MergeWithoutDuplicatesIsInvalidArgument) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  v1::Contact merged;
  EXPECT_THAT(
      Merge(primary.id(), {}, &merged),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("duplicate_ids")));
  EXPECT_THAT(
      Merge("", {primary.id()}, &merged),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("primary_id")));
  EXPECT_THAT(Merge(primary.id(), {"x1"}, &merged),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("duplicate_ids[0]")));
}

TEST_F(MergeEraseTest, MergeWithDeletedDuplicateIsNotFound) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", ""));
  Log(dup.id(), 1);
  MustDelete(dup.id());
  v1::Contact merged;
  EXPECT_THAT(Merge(primary.id(), {dup.id()}, &merged),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(dup.id())));
  EXPECT_EQ(InteractionsOf(dup.id()), 1);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               dup.id(), " AND merged_into IS NULL")),
            1);
}

TEST_F(MergeEraseTest, MergeIntoDeletedPrimaryIsNotFound) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", ""));
  const v1::Contact dup = MustCreate(MakeContact("Ada", "L", ""));
  MustDelete(primary.id());
  v1::Contact merged;
  EXPECT_THAT(Merge(primary.id(), {dup.id()}, &merged),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(primary.id())));
  EXPECT_FALSE(MustGet(dup.id()).has_delete_time());
}

// ---------------------------------------------------------------- erase

TEST_F(MergeEraseTest, EraseRemovesTheContactAndItsInteractions) {
  const v1::Contact c = MustCreate(MakeContact("Ada", "", "ada@x.example"));
  const v1::Contact other = MustCreate(MakeContact("Grace", "", ""));
  Log(c.id(), 1);
  Log(c.id(), 2);
  Log(other.id(), 3);

  v1::EraseContactResponse response;
  ASSERT_OK(Erase(c.id(), &response));
  EXPECT_EQ(response.id(), c.id());
  EXPECT_EQ(response.erased_interaction_count(), 2);
  v1::Contact got;
  EXPECT_THAT(Get(c.id(), &got), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(
      Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ", c.id())),
      0);
  EXPECT_EQ(InteractionsOf(c.id()), 0);
  EXPECT_EQ(InteractionsOf(other.id()), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 0);
  // The e-mail is free again.
  MustCreate(MakeContact("New", "", "ada@x.example"));
}

TEST_F(MergeEraseTest, EraseKeepsAnAuditRecordWithTheId) {
  const v1::Contact c = MustCreate(MakeContact("Ada", "", ""));
  Log(c.id(), 1);
  v1::EraseContactResponse response;
  ASSERT_OK(Erase(c.id(), &response));
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT COUNT(*) FROM erasures WHERE contact_id = ", c.id(),
                " AND erased_interaction_count = 1")),
            1);
}

TEST_F(MergeEraseTest, EraseOfMissingContactIsNotFound) {
  v1::EraseContactResponse response;
  EXPECT_THAT(Erase("987654", &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
  EXPECT_THAT(Erase("abc", &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("id")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM erasures"), 0);
}

TEST_F(MergeEraseTest, EraseTwiceIsNotFound) {
  const v1::Contact c = MustCreate(MakeContact("Ada", "", ""));
  v1::EraseContactResponse response;
  ASSERT_OK(Erase(c.id(), &response));
  EXPECT_THAT(Erase(c.id(), &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr(c.id())));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM erasures"), 1);
}

TEST_F(MergeEraseTest, EraseWorksOnSoftDeletedContacts) {
  const v1::Contact c = MustCreate(MakeContact("Ada", "", "ada@x.example"));
  Log(c.id(), 1);
  MustDelete(c.id());
  v1::EraseContactResponse response;
  ASSERT_OK(Erase(c.id(), &response));
  EXPECT_EQ(response.erased_interaction_count(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_emails"), 0);
}

TEST_F(MergeEraseTest, EraseAlsoErasesContactsMergedIntoIt) {
  const v1::Contact primary = MustCreate(MakeContact("Ada", "", "a@x.example"));
  const v1::Contact d1 = MustCreate(MakeContact("Ada", "L", "b@x.example"));
  const v1::Contact d2 = MustCreate(MakeContact("Ada", "K", "c@x.example"));
  const v1::Contact bystander = MustCreate(MakeContact("Grace", "", ""));
  Log(d1.id(), 1);
  Log(d2.id(), 2);
  v1::Contact merged;
  // d2 into d1, then d1 into the primary: erasure follows the chain.
  ASSERT_OK(Merge(d1.id(), {d2.id()}, &merged));
  ASSERT_OK(Merge(primary.id(), {d1.id()}, &merged));

  v1::EraseContactResponse response;
  ASSERT_OK(Erase(primary.id(), &response));
  EXPECT_EQ(response.erased_interaction_count(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 1);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contacts WHERE id = ",
                               bystander.id())),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 0);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT contact_id) FROM erasures"), 3);
}

TEST_F(MergeEraseTest, EraseLeavesNoPersonalDataInAnyTable) {
  // Unique markers in every kind of personal field, on the erased contact and
  // on a duplicate merged into it.
  const std::string m = "zq7marker";
  v1::Contact c = MakeContact(m + "given", m + "family", m + "mail@x.example");
  c.set_company(m + "company");
  c.set_job_title(m + "job");
  c.set_owner(m + "owner");
  c.set_source(m + "source");
  c.add_phones("+1 650 253 0000");
  c.add_tags(m + "tag");
  c.mutable_address()->add_lines(m + "street");
  c.mutable_address()->set_locality(m + "city");
  (*c.mutable_attributes())["note"] = m + "attr";
  v1::CreateContactRequest create;
  *create.mutable_contact() = c;
  create.set_request_id(m + "req");
  v1::Contact erased;
  ASSERT_OK(contacts().CreateContact(Context().get(), create, &erased));
  Log(erased.id(), 1, m + "subject", m + "body\nsecond line", m + "ireq");
  v1::LogInteractionRequest note;
  note.mutable_interaction()->set_contact_id(erased.id());
  note.mutable_interaction()->set_type(v1::NOTE);
  note.mutable_interaction()->set_channel("phone");
  note.mutable_interaction()->set_actor(m + "actor");
  (*note.mutable_interaction()->mutable_attributes())["said"] = m + "iattr";
  v1::Interaction logged;
  ASSERT_OK(interactions().LogInteraction(Context().get(), note, &logged));

  v1::Contact d = MakeContact(m + "dupgiven", "", m + "dup@x.example");
  d.add_phones("+44 20 7946 0958");
  (*d.mutable_attributes())["other"] = m + "dupattr";
  const v1::Contact dup = MustCreate(d);
  Log(dup.id(), 2, m + "dupsubject", m + "dupbody");
  v1::Contact merged;
  ASSERT_OK(Merge(erased.id(), {dup.id()}, &merged));

  // A bystander whose data must survive.
  v1::Contact keep = MakeContact("Keep", "Me", "keep@x.example");
  keep.add_phones("+1 650 253 0001");
  const v1::Contact bystander = MustCreate(keep);
  Log(bystander.id(), 3, "keepsubject");

  // The scan sees the markers before the erasure...
  EXPECT_GT(RowsContaining(m), 10);
  EXPECT_GT(RowsContaining("6502530000"), 0);
  EXPECT_GT(RowsContaining("442079460958"), 0);

  v1::EraseContactResponse response;
  ASSERT_OK(Erase(erased.id(), &response));
  EXPECT_EQ(response.erased_interaction_count(), 3);

  // ...and nothing of them after.
  EXPECT_EQ(RowsContaining(m), 0);
  EXPECT_EQ(RowsContaining("6502530000"), 0);
  EXPECT_EQ(RowsContaining("442079460958"), 0);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM erasures WHERE "
                               "contact_id = ",
                               erased.id())),
            1);
  // The bystander is untouched.
  EXPECT_GT(RowsContaining("keep@x.example"), 0);
  EXPECT_GT(RowsContaining("6502530001"), 0);
  EXPECT_GT(RowsContaining("keepsubject"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), 1);
}

}  // namespace
}  // namespace rapport::testing
