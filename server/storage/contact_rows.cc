#include "server/storage/contact_rows.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/status_macros.h"
#include "server/common/stored_json.h"
#include "server/common/time_util.h"
#include "server/common/utf8.h"
#include "server/storage/contact_store.h"
#include "server/storage/database.h"

namespace rapport::storage {

using rapport::v1::Contact;

// The child tables, read as the lists the contacts row keeps a copy of
// (migration 0006): '\n'-separated (validation keeps newlines out of
// e-mails, phones and tags), tags in code point order (utf8mb4_bin, which
// SortedTags matches: validated tags have no control characters or trailing
// spaces for its PAD SPACE to matter), attributes as a JSON object, NULL when
// empty. Sessions raise group_concat_max_len (see database.cc). Correlated to
// `c`, the contacts row.
constexpr char kEmailsFromTable[] =
    "(SELECT GROUP_CONCAT(e.email ORDER BY e.position SEPARATOR '\\n') "
    "FROM contact_emails e WHERE e.contact_id = c.id)";
constexpr char kPhonesFromTable[] =
    "(SELECT GROUP_CONCAT(p.phone ORDER BY p.position SEPARATOR '\\n') "
    "FROM contact_phones p WHERE p.contact_id = c.id)";
constexpr char kTagsFromTable[] =
    "(SELECT GROUP_CONCAT(t.tag ORDER BY t.tag COLLATE utf8mb4_bin "
    "SEPARATOR '\\n') "
    "FROM contact_tags t WHERE t.contact_id = c.id)";
constexpr char kAttributesFromTable[] =
    "(SELECT JSON_OBJECTAGG(a.name, a.value) "
    "FROM contact_attributes a WHERE a.contact_id = c.id)";

// The lists come from the row's copy: four correlated subqueries per contact
// cost ~2x the rest of the read. The last column says whether that copy is
// current (ReadContactRow).
const char kContactSelect[] =
    "c.id, c.given_name, c.family_name, c.display_name, c.company, "
    "c.job_title, c.owner, c.source, c.lifecycle_stage, c.email_opt_in, "
    "c.sms_opt_in, c.do_not_contact, c.address, c.create_time, "
    "c.update_time, c.delete_time, c.last_interaction_time, c.version, "
    "c.merged_into, c.emails_list, c.phones_list, c.tags_list, "
    "c.attributes_json, c.lists_version <=> c.version";

const char kBumpVersion[] =
    "lists_version = IF(lists_version = version, version + 1, NULL), "
    "version = version + 1";

namespace {

// Reads a nullable DATETIME column. Calling mutable_x() would set the field
// even for NULL, so the caller assigns only a present value.
std::optional<google::protobuf::Timestamp> ReadTime(sql::ResultSet& rs,
                                                    int col) {
  if (rs.isNull(col)) return std::nullopt;
  absl::StatusOr<absl::Time> t =
      ParseSqlDateTime(std::string(rs.getString(col)));
  if (!t.ok()) return std::nullopt;
  return ToTimestamp(*t);
}

void SplitInto(sql::ResultSet& rs, int col,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  if (rs.isNull(col)) return;
  const std::string joined = rs.getString(col);
  for (absl::string_view part : absl::StrSplit(joined, '\n')) {
    if (!part.empty()) out->Add(std::string(part));
  }
}

// Reads the four lists (e-mails, phones, tags, attributes JSON) starting at
// column `col`, whether from the row's copy or from the child tables.
absl::Status ReadLists(sql::ResultSet& rs, int col, Contact* c) {
  SplitInto(rs, col, c->mutable_emails());
  SplitInto(rs, col + 1, c->mutable_phones());
  SplitInto(rs, col + 2, c->mutable_tags());
  if (!rs.isNull(col + 3)) {
    const absl::Status read = ParseStringMapJson(
        rs.getString(col + 3).asStdString(), c->mutable_attributes());
    if (!read.ok()) {
      return absl::InternalError(absl::StrCat(
          "contact ", c->id(), " has unreadable attributes: ", read.message()));
    }
  }
  return absl::OkStatus();
}

// Lower-cased text that free-text `query` matches as substrings: names,
// e-mails, phones (E.164 and bare digits) and company.
std::string SearchText(const Contact& c) {
  std::vector<std::string> parts = {c.given_name(), c.family_name(),
                                    c.display_name(), c.company()};
  for (const std::string& e : c.emails()) parts.push_back(e);
  for (const std::string& p : c.phones()) {
    parts.push_back(p);
    parts.push_back(p.size() > 1 && p[0] == '+' ? p.substr(1) : p);
  }
  std::string text = absl::AsciiStrToLower(absl::StrJoin(parts, " "));
  // The column holds 4000 characters; cut on a UTF-8 boundary.
  text.resize(Utf8Prefix(text, 3900).size());
  return text;
}

std::string AddressJson(const Contact& c) {
  if (!c.has_address()) return "";
  return PostalAddressToJson(c.address());
}

SqlParam NullableText(const std::string& text) {
  if (text.empty()) return std::monostate();
  return text;
}

// The row's copy of a list, as kEmailsFromTable, kPhonesFromTable or (sorted)
// kTagsFromTable reads it from the child table.
template <typename List>
SqlParam ListCopy(const List& list) {
  return NullableText(absl::StrJoin(list, "\n"));
}

// The attributes by name: a stable statement text, lock order and copy.
std::vector<std::pair<std::string, std::string>> SortedAttributes(
    const Contact& c) {
  std::vector<std::pair<std::string, std::string>> attrs(c.attributes().begin(),
                                                         c.attributes().end());
  std::sort(attrs.begin(), attrs.end());
  return attrs;
}

// The row's copy of the attributes: a JSON object as kAttributesFromTable
// reads it (ReadLists parses either; key order and spacing do not matter).
SqlParam AttributesCopy(const Contact& c) {
  return NullableText(StringMapToJson(c.attributes()));
}

// Tags as a contact lists them: in code point order (UTF-8 byte order), as
// kTagsFromTable reads them. Not the column collation's order, which only
// the database knows.
std::vector<std::string> SortedTags(const Contact& c) {
  std::vector<std::string> tags(c.tags().begin(), c.tags().end());
  std::sort(tags.begin(), tags.end());
  return tags;
}

void InsertChildren(Connection& conn, int64_t id, const Contact& c, bool emails,
                    bool phones, bool tags, bool attributes, bool live) {
  auto insert_list =
      [&](const char* table, const char* column,
          const google::protobuf::RepeatedPtrField<std::string>& values,
          bool with_live) {
        if (values.empty()) return;
        std::string sql =
            absl::StrCat("INSERT INTO ", table, " (contact_id, ", "position, ",
                         column, with_live ? ", live" : "", ") VALUES ");
        std::vector<SqlParam> params;
        for (int i = 0; i < values.size(); ++i) {
          absl::StrAppend(&sql, i ? ", " : "",
                          with_live ? "(?, ?, ?, ?)" : "(?, ?, ?)");
          params.push_back(id);
          params.push_back(static_cast<int64_t>(i));
          params.push_back(values[i]);
          if (with_live) {
            params.push_back(live ? SqlParam(int64_t{1})
                                  : SqlParam(std::monostate()));
          }
        }
        conn.Update(sql, params);
      };
  if (emails) insert_list("contact_emails", "email", c.emails(), true);
  if (phones) insert_list("contact_phones", "phone", c.phones(), false);
  if (tags && !c.tags().empty()) {
    std::string sql = "INSERT INTO contact_tags (contact_id, tag) VALUES ";
    std::vector<SqlParam> params;
    for (int i = 0; i < c.tags_size(); ++i) {
      absl::StrAppend(&sql, i ? ", " : "", "(?, ?)");
      params.push_back(id);
      params.push_back(c.tags(i));
    }
    conn.Update(sql, params);
  }
  if (attributes && !c.attributes().empty()) {
    const std::vector<std::pair<std::string, std::string>> attrs =
        SortedAttributes(c);
    std::string sql =
        "INSERT INTO contact_attributes (contact_id, name, value) VALUES ";
    std::vector<SqlParam> params;
    for (size_t i = 0; i < attrs.size(); ++i) {
      absl::StrAppend(&sql, i ? ", " : "", "(?, ?, ?)");
      params.push_back(id);
      params.push_back(attrs[i].first);
      params.push_back(attrs[i].second);
    }
    conn.Update(sql, params);
  }
}

bool SameList(const google::protobuf::RepeatedPtrField<std::string>& a,
              const google::protobuf::RepeatedPtrField<std::string>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool SameAttributes(const Contact& a, const Contact& b) {
  if (a.attributes_size() != b.attributes_size()) return false;
  for (const auto& [k, v] : a.attributes()) {
    auto it = b.attributes().find(k);
    if (it == b.attributes().end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

std::string ContactEtag(int64_t version) { return absl::StrCat(version); }

std::optional<int64_t> ParseEtag(absl::string_view etag) {
  int64_t v;
  if (!absl::SimpleAtoi(etag, &v) || v <= 0) return std::nullopt;
  return v;
}

absl::StatusOr<Contact> ReadContactRow(sql::ResultSet& rs,
                                       bool* lists_current) {
  Contact c;
  c.set_id(absl::StrCat(rs.getInt64(1)));
  c.set_given_name(rs.getString(2));
  c.set_family_name(rs.getString(3));
  c.set_display_name(rs.getString(4));
  c.set_company(rs.getString(5));
  c.set_job_title(rs.getString(6));
  c.set_owner(rs.getString(7));
  c.set_source(rs.getString(8));
  c.set_lifecycle_stage(static_cast<rapport::v1::LifecycleStage>(rs.getInt(9)));
  c.mutable_consent()->set_email_opt_in(rs.getInt(10) != 0);
  c.mutable_consent()->set_sms_opt_in(rs.getInt(11) != 0);
  c.mutable_consent()->set_do_not_contact(rs.getInt(12) != 0);
  if (!rs.isNull(13)) {
    const std::string json = rs.getString(13);
    if (!json.empty()) {
      const absl::Status read =
          ParsePostalAddressJson(json, c.mutable_address());
      if (!read.ok()) {
        return absl::InternalError(
            absl::StrCat("contact ", c.id(),
                         " has an unreadable address: ", read.message()));
      }
    }
  }
  if (auto t = ReadTime(rs, 14)) *c.mutable_create_time() = *t;
  if (auto t = ReadTime(rs, 15)) *c.mutable_update_time() = *t;
  if (auto t = ReadTime(rs, 16)) *c.mutable_delete_time() = *t;
  if (auto t = ReadTime(rs, 17)) *c.mutable_last_interaction_time() = *t;
  c.set_etag(ContactEtag(rs.getInt64(18)));
  if (!rs.isNull(19)) c.set_merged_into(absl::StrCat(rs.getInt64(19)));
  *lists_current = rs.getInt(24) != 0;
  if (*lists_current) RAPPORT_RETURN_IF_ERROR(ReadLists(rs, 20, &c));
  return c;
}

absl::Status ReadListsFromTables(Connection& conn, Contact* c) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(c->id(), &id)) {
    return absl::InternalError(absl::StrCat("bad contact id ", c->id()));
  }
  auto rs = conn.Query(
      absl::StrCat("SELECT ", kEmailsFromTable, ", ", kPhonesFromTable, ", ",
                   kTagsFromTable, ", ", kAttributesFromTable,
                   " FROM contacts c WHERE c.id = ?"),
      {id});
  if (!rs->next()) return absl::OkStatus();  // gone meanwhile: no lists
  return ReadLists(*rs, 1, c);
}

std::optional<Contact> LoadContact(Connection& conn, int64_t id,
                                   bool for_update) {
  auto rs = conn.Query(
      absl::StrCat("SELECT ", kContactSelect, " FROM contacts c WHERE c.id = ?",
                   for_update ? " FOR UPDATE" : ""),
      {id});
  if (!rs->next()) return std::nullopt;
  bool lists_current = false;
  absl::StatusOr<Contact> c = ReadContactRow(*rs, &lists_current);
  if (!c.ok()) return std::nullopt;
  rs.reset();
  if (!lists_current && !ReadListsFromTables(conn, &*c).ok()) {
    return std::nullopt;
  }
  return *std::move(c);
}

namespace {

constexpr char kInsertContactColumns[] =
    "INSERT INTO contacts (given_name, family_name, display_name, company, "
    "job_title, owner, source, lifecycle_stage, email_opt_in, sms_opt_in, "
    "do_not_contact, address, search_text, create_time, update_time, "
    "last_interaction_time, emails_list, phones_list, tags_list, "
    "attributes_json, version, lists_version) VALUES ";
constexpr char kInsertContactTuple[] =
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)";

std::vector<SqlParam> ContactParams(const Contact& c, const std::string& ts) {
  return {c.given_name(),
          c.family_name(),
          c.display_name(),
          c.company(),
          c.job_title(),
          c.owner(),
          c.source(),
          static_cast<int64_t>(c.lifecycle_stage()),
          c.consent().email_opt_in(),
          c.consent().sms_opt_in(),
          c.consent().do_not_contact(),
          NullableText(AddressJson(c)),
          SearchText(c),
          ts,
          ts,
          c.has_last_interaction_time()
              ? SqlParam(ToSqlDateTime(ToAbslTime(c.last_interaction_time())))
              : SqlParam(std::monostate()),
          ListCopy(c.emails()),
          ListCopy(c.phones()),
          ListCopy(SortedTags(c)),
          AttributesCopy(c)};
}

// Rows per multi-row INSERT of an import (BatchInsert): the 250, 500 and
// 1000-contact messages clients send fill whole statements. 5000
// placeholders at most (a contact row has 20).
constexpr size_t kRowsPerStatement = 250;

// What ReadContactRow reads back for `c` freshly inserted as `id` at `now`
// (ContactParams and the child rows InsertContact and InsertContacts
// write). Keep in step with them; contact_service_test compares the two.
Contact AsInserted(const Contact& c, int64_t id,
                   const google::protobuf::Timestamp& now) {
  Contact out;
  out.set_id(absl::StrCat(id));
  out.set_given_name(c.given_name());
  out.set_family_name(c.family_name());
  out.set_display_name(c.display_name());
  out.set_company(c.company());
  out.set_job_title(c.job_title());
  out.set_owner(c.owner());
  out.set_source(c.source());
  out.set_lifecycle_stage(c.lifecycle_stage());
  *out.mutable_consent() = c.consent();
  if (c.has_address()) *out.mutable_address() = c.address();
  *out.mutable_create_time() = now;
  *out.mutable_update_time() = now;
  if (c.has_last_interaction_time()) {
    *out.mutable_last_interaction_time() =
        ToStoredTimestamp(ToAbslTime(c.last_interaction_time()));
  }
  out.set_etag(ContactEtag(1));
  *out.mutable_emails() = c.emails();
  *out.mutable_phones() = c.phones();
  for (std::string& tag : SortedTags(c)) out.add_tags(std::move(tag));
  *out.mutable_attributes() = c.attributes();
  return out;
}

}  // namespace

Contact InsertContact(Connection& conn, const Contact& c, absl::Time now) {
  const std::string ts = ToSqlDateTime(now);
  conn.Update(absl::StrCat(kInsertContactColumns, kInsertContactTuple),
              ContactParams(c, ts));
  const int64_t id = conn.LastInsertId();
  InsertChildren(conn, id, c, true, true, true, true, /*live=*/true);
  return AsInserted(c, id, ToStoredTimestamp(now));
}

std::vector<Contact> InsertContacts(Connection& conn,
                                    const std::vector<const Contact*>& contacts,
                                    absl::Time now) {
  const std::string ts = ToSqlDateTime(now);
  std::vector<int64_t> ids;
  ids.reserve(contacts.size());
  BatchInsert rows(conn, kInsertContactColumns, kInsertContactTuple,
                   kRowsPerStatement, [&](size_t written) {
                     // Consecutive ids (ConsecutiveInsertIds): the first is
                     // LAST_INSERT_ID().
                     const int64_t first = conn.LastInsertId();
                     for (size_t i = 0; i < written; ++i) {
                       ids.push_back(first + static_cast<int64_t>(i));
                     }
                   });
  for (const Contact* c : contacts) rows.Add(ContactParams(*c, ts));
  rows.Flush();
  // The child rows InsertChildren writes, table by table.
  BatchInsert emails(conn,
                     "INSERT INTO contact_emails (contact_id, position, "
                     "email, live) VALUES ",
                     "(?, ?, ?, ?)", kRowsPerStatement);
  BatchInsert phones(
      conn, "INSERT INTO contact_phones (contact_id, position, phone) VALUES ",
      "(?, ?, ?)", kRowsPerStatement);
  BatchInsert tags(conn, "INSERT INTO contact_tags (contact_id, tag) VALUES ",
                   "(?, ?)", kRowsPerStatement);
  BatchInsert attributes(
      conn, "INSERT INTO contact_attributes (contact_id, name, value) VALUES ",
      "(?, ?, ?)", kRowsPerStatement);
  for (size_t k = 0; k < contacts.size(); ++k) {
    const Contact& c = *contacts[k];
    const int64_t id = ids[k];
    for (int i = 0; i < c.emails_size(); ++i) {
      emails.Add({id, static_cast<int64_t>(i), c.emails(i), int64_t{1}});
    }
    for (int i = 0; i < c.phones_size(); ++i) {
      phones.Add({id, static_cast<int64_t>(i), c.phones(i)});
    }
    for (const std::string& tag : c.tags()) tags.Add({id, tag});
    for (auto& [name, value] : SortedAttributes(c)) {
      attributes.Add({id, std::move(name), std::move(value)});
    }
  }
  emails.Flush();
  phones.Flush();
  tags.Flush();
  attributes.Flush();

  // The contacts as stored, built here: reading them back cost a third of
  // an import batch's server CPU.
  std::vector<Contact> stored;
  stored.reserve(contacts.size());
  const google::protobuf::Timestamp stored_now = ToStoredTimestamp(now);
  for (size_t k = 0; k < contacts.size(); ++k) {
    stored.push_back(AsInserted(*contacts[k], ids[k], stored_now));
  }
  return stored;
}

void UpdateContactRows(Connection& conn, const Contact& before,
                       const Contact& after, absl::Time now) {
  int64_t id = 0;
  absl::SimpleAtoi(before.id(), &id);
  conn.Update(
      "UPDATE contacts SET given_name = ?, family_name = ?, display_name = ?, "
      "company = ?, job_title = ?, owner = ?, source = ?, lifecycle_stage = ?, "
      "email_opt_in = ?, sms_opt_in = ?, do_not_contact = ?, address = ?, "
      "search_text = ?, update_time = ?, last_interaction_time = ?, "
      "emails_list = ?, phones_list = ?, attributes_json = ?, "
      "tags_list = ?, lists_version = version + 1, version = version + 1 "
      "WHERE id = ?",
      {after.given_name(),
       after.family_name(),
       after.display_name(),
       after.company(),
       after.job_title(),
       after.owner(),
       after.source(),
       static_cast<int64_t>(after.lifecycle_stage()),
       after.consent().email_opt_in(),
       after.consent().sms_opt_in(),
       after.consent().do_not_contact(),
       NullableText(AddressJson(after)),
       SearchText(after),
       ToSqlDateTime(now),
       after.has_last_interaction_time()
           ? SqlParam(ToSqlDateTime(ToAbslTime(after.last_interaction_time())))
           : SqlParam(std::monostate()),
       ListCopy(after.emails()),
       ListCopy(after.phones()),
       AttributesCopy(after),
       ListCopy(SortedTags(after)),
       id});
  const bool emails = !SameList(before.emails(), after.emails());
  const bool phones = !SameList(before.phones(), after.phones());
  const bool tags = !SameList(before.tags(), after.tags());
  const bool attributes = !SameAttributes(before, after);
  if (emails)
    conn.Update("DELETE FROM contact_emails WHERE contact_id = ?", {id});
  if (phones)
    conn.Update("DELETE FROM contact_phones WHERE contact_id = ?", {id});
  if (tags) conn.Update("DELETE FROM contact_tags WHERE contact_id = ?", {id});
  if (attributes) {
    conn.Update("DELETE FROM contact_attributes WHERE contact_id = ?", {id});
  }
  InsertChildren(conn, id, after, emails, phones, tags, attributes,
                 /*live=*/!after.has_delete_time());
}

absl::Status CheckEmailsFree(
    Connection& conn,
    const google::protobuf::RepeatedPtrField<std::string>& emails,
    int64_t self_id) {
  for (const std::string& email : emails) {
    auto rs = conn.Query(
        "SELECT contact_id FROM contact_emails WHERE email = ? AND live = 1 "
        "AND contact_id <> ?",
        {email, self_id});
    if (rs->next()) {
      return absl::AlreadyExistsError(
          absl::StrCat("contact.emails: \"", email,
                       "\" already belongs to contact ", rs->getInt64(1)));
    }
  }
  return absl::OkStatus();
}

void SetEmailsLive(Connection& conn, int64_t id, bool live) {
  conn.Update("UPDATE contact_emails SET live = ? WHERE contact_id = ?",
              {live ? SqlParam(int64_t{1}) : SqlParam(std::monostate()), id});
}

}  // namespace rapport::storage
