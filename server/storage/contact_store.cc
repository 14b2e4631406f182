#include "server/storage/contact_store.h"

#include <cppconn/exception.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/query/pagination.h"
#include "server/query/schema.h"
#include "server/storage/contact_rows.h"
#include "server/storage/database.h"
#include "server/storage/list_query.h"
#include "server/storage/outbox.h"
#include "server/storage/sql_error.h"
#include "server/validation/validation.h"

namespace rapport::storage {

using rapport::v1::Contact;

namespace {

constexpr char kContactKind[] = "contact";

absl::Status NotFound(int64_t id) {
  return absl::NotFoundError(absl::StrCat("contact ", id, " does not exist"));
}

absl::Status NotFoundOrDeleted(const Contact& c) {
  if (!c.merged_into().empty()) {
    return absl::NotFoundError(absl::StrCat(
        "contact ", c.id(), " was merged into contact ", c.merged_into()));
  }
  return absl::NotFoundError(absl::StrCat(
      "contact ", c.id(),
      " is deleted; undelete it first or pass show_deleted to read it"));
}

absl::Status CheckEtag(const Contact& current, absl::string_view etag) {
  if (etag.empty() || etag == current.etag()) return absl::OkStatus();
  // The caller's etag is not echoed: it may be arbitrarily long.
  return absl::AbortedError(absl::StrCat(
      "contact ", current.id(), " changed since it was read (current etag \"",
      current.etag(), "\"); read it again and reapply the change"));
}

// Looks up an idempotency key. nullopt when unused.
std::optional<int64_t> FindRequest(Connection& conn, absl::string_view kind,
                                   absl::string_view request_id) {
  auto rs = conn.Query(
      "SELECT resource_id FROM request_ids WHERE kind = ? AND request_id = ?",
      {std::string(kind), std::string(request_id)});
  if (!rs->next()) return std::nullopt;
  return rs->getInt64(1);
}

int64_t IdOf(const Contact& c) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(c.id(), &id);
  return id;
}

// Publishes `type` for `contact` (as stored) in the caller's transaction.
void Publish(Connection& conn, rapport::v1::EventType type,
             const Contact& contact,
             const std::vector<int64_t>& merged_ids = {}) {
  rapport::v1::Event event;
  event.set_type(type);
  event.set_contact_id(contact.id());
  *event.mutable_contact() = contact;
  for (int64_t id : merged_ids) event.add_merged_contact_ids(absl::StrCat(id));
  AppendEvent(conn, std::move(event), absl::Now());
}

// True if `c`'s display name is the one the server would derive: it was not
// chosen by a user, so it must follow the fields it is derived from.
bool HasDerivedDisplayName(const Contact& c) {
  return c.display_name() == validation::DeriveDisplayName(c);
}

// Fills what `primary` lacks from `dup`: scalar fields when empty, lists
// appended without duplicates up to the API limits, attributes the primary
// does not have. do_not_contact wins over opt-ins (we must honour it).
void MergeInto(Contact& primary, const Contact& dup) {
  auto fill = [](std::string* into, const std::string& from) {
    if (into->empty()) *into = from;
  };
  fill(primary.mutable_given_name(), dup.given_name());
  fill(primary.mutable_family_name(), dup.family_name());
  fill(primary.mutable_company(), dup.company());
  fill(primary.mutable_job_title(), dup.job_title());
  fill(primary.mutable_owner(), dup.owner());
  fill(primary.mutable_source(), dup.source());
  if (!primary.has_address() && dup.has_address()) {
    *primary.mutable_address() = dup.address();
  }
  auto append = [](google::protobuf::RepeatedPtrField<std::string>* into,
                   const google::protobuf::RepeatedPtrField<std::string>& from,
                   int limit) {
    for (const std::string& v : from) {
      if (into->size() >= limit) break;
      if (std::find(into->begin(), into->end(), v) == into->end()) {
        into->Add(std::string(v));
      }
    }
  };
  append(primary.mutable_emails(), dup.emails(), 10);
  append(primary.mutable_phones(), dup.phones(), 10);
  append(primary.mutable_tags(), dup.tags(), 50);
  std::sort(primary.mutable_tags()->begin(), primary.mutable_tags()->end());
  for (const auto& [k, v] : dup.attributes()) {
    if (primary.attributes_size() >= 100) break;
    primary.mutable_attributes()->insert({k, v});
  }
  if (dup.consent().do_not_contact()) {
    primary.mutable_consent()->set_do_not_contact(true);
  }
  if (dup.has_last_interaction_time() &&
      (!primary.has_last_interaction_time() ||
       ToAbslTime(dup.last_interaction_time()) >
           ToAbslTime(primary.last_interaction_time()))) {
    *primary.mutable_last_interaction_time() = dup.last_interaction_time();
  }
}

// ImportBatch's fast path: the rows that create a new contact and cannot
// affect any other row are inserted together with multi-row statements
// (contacts, child rows, outbox events) instead of about a dozen statements
// each. A row qualifies when none of its e-mails is live in the database or
// appears in an earlier row of the batch: then the per-row path would also
// find no match, find its e-mails free and insert it, and no later row's
// outcome depends on it being stored before or after the rows that do not
// qualify (those go through the per-row path afterwards, in order). Marks the
// rows it stored in `done`; on any doubt or SQL error it stores nothing and
// leaves every row to the per-row path, which reports per-row errors.
void ImportNewRows(Connection& conn, const std::vector<ImportRow>& rows,
                   std::vector<ImportRowResult>* results,
                   std::vector<bool>* done, absl::Time now) {
  constexpr size_t kMinRows = 2;
  if (rows.size() < kMinRows) return;
  // E-mails are compared lower-cased; a non-ASCII one (which the column's
  // collation may fold in other ways) disables the fast path.
  auto is_ascii = [](absl::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x80;
    });
  };
  std::vector<std::string> emails;
  for (const ImportRow& row : rows) {
    for (const std::string& email : row.contact.emails()) {
      if (!is_ascii(email)) return;
      emails.push_back(email);
    }
  }
  // The live ones among them, in queries of kPerQuery (the last padded with
  // repeats, so one cached statement serves every batch).
  absl::flat_hash_set<std::string> live;
  constexpr size_t kPerQuery = 100;
  std::string sql =
      "SELECT email FROM contact_emails WHERE live = 1 AND email IN (";
  for (size_t i = 0; i < kPerQuery; ++i) absl::StrAppend(&sql, i ? ", ?" : "?");
  sql += ")";
  for (size_t begin = 0; begin < emails.size(); begin += kPerQuery) {
    std::vector<SqlParam> params;
    for (size_t i = begin; i < begin + kPerQuery; ++i) {
      params.push_back(emails[std::min(i, emails.size() - 1)]);
    }
    auto rs = conn.Query(sql, params);
    while (rs->next()) {
      const std::string email = rs->getString(1);
      if (!is_ascii(email)) return;
      live.insert(absl::AsciiStrToLower(email));
    }
  }
  std::vector<size_t> fast;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool qualifies = true;
    for (const std::string& email : rows[i].contact.emails()) {
      const std::string key = absl::AsciiStrToLower(email);
      if (live.contains(key) || !seen.insert(key).second) qualifies = false;
    }
    if (qualifies) fast.push_back(i);
  }
  if (fast.size() < kMinRows || !ConsecutiveInsertIds(conn)) return;

  conn.ExecuteDirect("SAVEPOINT import_new_rows");
  try {
    std::vector<const Contact*> contacts;
    for (size_t i : fast) contacts.push_back(&rows[i].contact);
    // The events carry the contacts as stored (as Publish does).
    std::vector<rapport::v1::Event> events;
    for (Contact& stored : InsertContacts(conn, contacts, now)) {
      rapport::v1::Event& event = events.emplace_back();
      event.set_type(rapport::v1::CONTACT_CREATED);
      event.set_contact_id(stored.id());
      *event.mutable_contact() = std::move(stored);
    }
    AppendEvents(conn, std::move(events), absl::Now());
  } catch (const sql::SQLException& e) {
    if (IsConnectionLost(e.getErrorCode()) ||
        e.getErrorCode() == kErrDeadlock ||
        e.getErrorCode() == kErrLockWaitTimeout) {
      throw;  // the whole batch fails, as on the per-row path
    }
    conn.ExecuteDirect("ROLLBACK TO SAVEPOINT import_new_rows");
    return;
  }
  for (size_t i : fast) {
    (*results)[i].outcome = ImportOutcome::kCreated;
    (*done)[i] = true;
  }
}

}  // namespace

absl::StatusOr<Contact> ContactStore::Create(const Contact& contact,
                                             absl::string_view request_id) {
  int64_t id = 0;
  bool replayed = false;
  Contact created;
  absl::Status status =
      db_->Transaction("creating contact", [&](Connection& conn) {
        replayed = false;
        if (!request_id.empty()) {
          if (std::optional<int64_t> prior =
                  FindRequest(conn, kContactKind, request_id)) {
            id = *prior;
            replayed = true;
            return absl::OkStatus();
          }
        }
        RAPPORT_RETURN_IF_ERROR(CheckEmailsFree(conn, contact.emails(), 0));
        created = InsertContact(conn, contact, absl::Now());
        id = IdOf(created);
        Publish(conn, rapport::v1::CONTACT_CREATED, created);
        if (!request_id.empty()) {
          conn.Update(
              "INSERT INTO request_ids (kind, request_id, resource_id, "
              "create_time) VALUES (?, ?, ?, ?)",
              {std::string(kContactKind), std::string(request_id), id,
               ToSqlDateTime(absl::Now())});
        }
        return absl::OkStatus();
      });
  if (status.code() == absl::StatusCode::kAlreadyExists &&
      !request_id.empty()) {
    // A concurrent call with the same request_id may have won the race on
    // the key; if so, answer with its result.
    std::optional<int64_t> prior;
    RAPPORT_RETURN_IF_ERROR(db_->Run("creating contact", [&](Connection& conn) {
      prior = FindRequest(conn, kContactKind, request_id);
      return absl::OkStatus();
    }));
    if (!prior) return status;
    id = *prior;
    replayed = true;
  } else if (!status.ok()) {
    if (status.code() == absl::StatusCode::kAlreadyExists &&
        !absl::StartsWith(status.message(), "contact.emails")) {
      return absl::AlreadyExistsError(
          "contact.emails: an e-mail of this contact was just taken by "
          "another contact");
    }
    return status;
  }
  if (!replayed) return created;
  return Get(id, /*show_deleted=*/true);
}

absl::StatusOr<Contact> ContactStore::Get(int64_t id, bool show_deleted) {
  std::optional<Contact> contact;
  RAPPORT_RETURN_IF_ERROR(db_->Run("reading contact", [&](Connection& conn) {
    contact = LoadContact(conn, id, /*for_update=*/false);
    return absl::OkStatus();
  }));
  if (!contact) return NotFound(id);
  if (contact->has_delete_time() && !show_deleted) {
    return NotFoundOrDeleted(*contact);
  }
  return *std::move(contact);
}

absl::StatusOr<Contact> ContactStore::Update(int64_t id, absl::string_view etag,
                                             const Mutator& mutate) {
  Contact result;
  RAPPORT_RETURN_IF_ERROR(
      db_->Transaction("updating contact", [&](Connection& conn) {
        std::optional<Contact> current = LoadContact(conn, id, true);
        if (!current) return NotFound(id);
        if (current->has_delete_time()) return NotFoundOrDeleted(*current);
        RAPPORT_RETURN_IF_ERROR(CheckEtag(*current, etag));
        RAPPORT_ASSIGN_OR_RETURN(Contact next, mutate(*current));
        next.set_id(current->id());
        *next.mutable_last_interaction_time() =
            current->last_interaction_time();
        if (!current->has_last_interaction_time()) {
          next.clear_last_interaction_time();
        }
        RAPPORT_RETURN_IF_ERROR(CheckEmailsFree(conn, next.emails(), id));
        UpdateContactRows(conn, *current, next, absl::Now());
        std::optional<Contact> stored = LoadContact(conn, id, false);
        if (!stored) return NotFound(id);
        Publish(conn, rapport::v1::CONTACT_UPDATED, *stored);
        result = *std::move(stored);
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Contact> ContactStore::Delete(int64_t id,
                                             absl::string_view etag) {
  Contact result;
  RAPPORT_RETURN_IF_ERROR(
      db_->Transaction("deleting contact", [&](Connection& conn) {
        std::optional<Contact> current = LoadContact(conn, id, true);
        if (!current) return NotFound(id);
        if (current->has_delete_time()) {
          return absl::NotFoundError(
              absl::StrCat("contact ", id, " is already deleted"));
        }
        RAPPORT_RETURN_IF_ERROR(CheckEtag(*current, etag));
        const std::string now = ToSqlDateTime(absl::Now());
        conn.Update(
            absl::StrCat(
                "UPDATE contacts SET delete_time = ?, update_time = ?, ",
                kBumpVersion, " WHERE id = ?"),
            {now, now, id});
        SetEmailsLive(conn, id, false);
        result = *LoadContact(conn, id, false);
        Publish(conn, rapport::v1::CONTACT_DELETED, result);
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Contact> ContactStore::Undelete(int64_t id) {
  Contact result;
  RAPPORT_RETURN_IF_ERROR(
      db_->Transaction("undeleting contact", [&](Connection& conn) {
        std::optional<Contact> current = LoadContact(conn, id, true);
        if (!current) return NotFound(id);
        if (!current->has_delete_time()) {
          return absl::AlreadyExistsError(
              absl::StrCat("contact ", id, " is not deleted"));
        }
        if (!current->merged_into().empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("contact ", id, " was merged into contact ",
                           current->merged_into(), " and cannot be undeleted"));
        }
        absl::Status free = CheckEmailsFree(conn, current->emails(), id);
        if (!free.ok()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "cannot undelete contact ", id, ": ", free.message()));
        }
        conn.Update(
            absl::StrCat(
                "UPDATE contacts SET delete_time = NULL, update_time = ?, ",
                kBumpVersion, " WHERE id = ?"),
            {ToSqlDateTime(absl::Now()), id});
        SetEmailsLive(conn, id, true);
        result = *LoadContact(conn, id, false);
        Publish(conn, rapport::v1::CONTACT_UNDELETED, result);
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Contact> ContactStore::Merge(
    int64_t primary_id, const std::vector<int64_t>& duplicate_ids) {
  Contact result;
  RAPPORT_RETURN_IF_ERROR(
      db_->Transaction("merging contacts", [&](Connection& conn) {
        // Lock in id order so that concurrent merges cannot deadlock.
        std::vector<int64_t> ids = duplicate_ids;
        ids.push_back(primary_id);
        std::sort(ids.begin(), ids.end());
        std::map<int64_t, Contact> locked;
        for (int64_t id : ids) {
          std::optional<Contact> c = LoadContact(conn, id, true);
          if (!c) return NotFound(id);
          if (c->has_delete_time()) return NotFoundOrDeleted(*c);
          locked[id] = *std::move(c);
        }
        const Contact before = locked[primary_id];
        Contact merged = before;
        const std::string now = ToSqlDateTime(absl::Now());
        for (int64_t dup : duplicate_ids) {
          // The duplicate's e-mails stop being live first, so the primary
          // may take them over.
          SetEmailsLive(conn, dup, false);
          conn.Update(
              absl::StrCat(
                  "UPDATE contacts SET delete_time = ?, update_time = ?, "
                  "merged_into = ?, ",
                  kBumpVersion, " WHERE id = ?"),
              {now, now, primary_id, dup});
          conn.Update(
              "UPDATE interactions SET contact_id = ? WHERE contact_id = ?",
              {primary_id, dup});
          MergeInto(merged, locked[dup]);
        }
        // The merge may fill in the names a derived display name comes from.
        if (HasDerivedDisplayName(before)) {
          merged.set_display_name(validation::DeriveDisplayName(merged));
        }
        UpdateContactRows(conn, before, merged, absl::Now());
        result = *LoadContact(conn, primary_id, false);
        Publish(conn, rapport::v1::CONTACT_MERGED, result, duplicate_ids);
        return absl::OkStatus();
      }));
  return result;
}

absl::Status ContactStore::ImportBatch(const std::vector<ImportRow>& rows,
                                       std::vector<ImportRowResult>* results) {
  return db_->Transaction("importing contacts", [&](Connection& conn) {
    results->assign(rows.size(), ImportRowResult{});
    const absl::Time now = absl::Now();
    std::vector<bool> done(rows.size(), false);
    ImportNewRows(conn, rows, results, &done, now);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (done[i]) continue;  // stored by ImportNewRows
      const ImportRow& row = rows[i];
      ImportRowResult& out = (*results)[i];
      conn.ExecuteDirect("SAVEPOINT import_row");
      try {
        std::optional<Contact> existing;
        if (!row.contact.emails().empty()) {
          auto rs = conn.Query(
              "SELECT contact_id FROM contact_emails WHERE email = ? AND "
              "live = 1",
              {row.contact.emails(0)});
          if (rs->next()) {
            existing = LoadContact(conn, rs->getInt64(1), /*for_update=*/true);
          }
        }
        absl::Status status;
        if (existing) {
          // Fields the row sets replace; lists and attributes are added.
          Contact next = *existing;
          Contact patch = row.contact;
          patch.clear_emails();
          patch.clear_phones();
          patch.clear_tags();
          patch.clear_attributes();
          if (row.stage_defaulted) patch.clear_lifecycle_stage();
          if (row.display_name_derived) patch.clear_display_name();
          if (patch.has_address()) next.clear_address();
          next.MergeFrom(patch);  // set scalars replace, messages merge
          MergeInto(next, row.contact);
          for (const auto& [k, v] : row.contact.attributes()) {
            (*next.mutable_attributes())[k] = v;
          }
          // A derived display name follows the new names (as in
          // UpdateContact); one the user chose is kept.
          if (row.display_name_derived && HasDerivedDisplayName(*existing)) {
            next.set_display_name(validation::DeriveDisplayName(next));
          }
          status = CheckEmailsFree(conn, next.emails(), IdOf(*existing));
          if (status.ok()) {
            UpdateContactRows(conn, *existing, next, now);
            Publish(conn, rapport::v1::CONTACT_UPDATED,
                    *LoadContact(conn, IdOf(*existing), false));
            out.outcome = ImportOutcome::kUpdated;
          }
        } else {
          status = CheckEmailsFree(conn, row.contact.emails(), 0);
          if (status.ok()) {
            Publish(conn, rapport::v1::CONTACT_CREATED,
                    InsertContact(conn, row.contact, now));
            out.outcome = ImportOutcome::kCreated;
          }
        }
        if (!status.ok()) {
          conn.ExecuteDirect("ROLLBACK TO SAVEPOINT import_row");
          out.outcome = ImportOutcome::kFailed;
          out.status = status;
        }
      } catch (const sql::SQLException& e) {
        if (IsConnectionLost(e.getErrorCode()) ||
            e.getErrorCode() == kErrDeadlock ||
            e.getErrorCode() == kErrLockWaitTimeout) {
          throw;  // the whole batch fails (deadlocks roll it back anyway)
        }
        conn.ExecuteDirect("ROLLBACK TO SAVEPOINT import_row");
        out.outcome = ImportOutcome::kFailed;
        out.status = StatusFromSqlException(e, "importing contact");
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> ContactStore::Erase(int64_t id) {
  int64_t interactions = 0;
  RAPPORT_RETURN_IF_ERROR(
      db_->Transaction("erasing contact", [&](Connection& conn) {
        interactions = 0;
        {
          auto rs = conn.Query(
              "SELECT id FROM contacts WHERE id = ? FOR UPDATE", {id});
          if (!rs->next()) return NotFound(id);
        }
        // The person is also every contact that was merged into this one,
        // transitively.
        std::vector<int64_t> ids = {id};
        for (size_t i = 0; i < ids.size(); ++i) {
          auto rs = conn.Query(
              "SELECT id FROM contacts WHERE merged_into = ? FOR UPDATE",
              {ids[i]});
          while (rs->next()) ids.push_back(rs->getInt64(1));
        }
        const std::string now = ToSqlDateTime(absl::Now());
        for (int64_t victim : ids) {
          int64_t count = 0;
          {
            auto rs = conn.Query(
                "SELECT COUNT(*) FROM interactions WHERE contact_id = ?",
                {victim});
            if (rs->next()) count = rs->getInt64(1);
          }
          conn.Update(
              "DELETE r FROM request_ids r JOIN interactions i "
              "ON r.resource_id = i.id WHERE r.kind = 'interaction' AND "
              "i.contact_id = ?",
              {victim});
          conn.Update("DELETE FROM interactions WHERE contact_id = ?",
                      {victim});
          // Outbox events copy the contact's and its interactions' data.
          ForgetContactEvents(conn, victim);
          conn.Update(
              "DELETE FROM request_ids WHERE kind = 'contact' AND "
              "resource_id = ?",
              {victim});
          // Child rows go with the contact (ON DELETE CASCADE).
          conn.Update("DELETE FROM contacts WHERE id = ?", {victim});
          conn.Update(
              "INSERT INTO erasures (contact_id, erase_time, "
              "erased_interaction_count) VALUES (?, ?, ?)",
              {victim, now, count});
          interactions += count;
          // Plugins must forget the person too; the event holds only the id.
          rapport::v1::Event event;
          event.set_type(rapport::v1::CONTACT_ERASED);
          event.set_contact_id(absl::StrCat(victim));
          event.mutable_contact()->set_id(absl::StrCat(victim));
          AppendEvent(conn, std::move(event), absl::Now());
        }
        return absl::OkStatus();
      }));
  return interactions;
}

}  // namespace rapport::storage

namespace rapport::storage {
namespace {

ListSpec ContactListSpec(const ContactListParams& params) {
  ListSpec spec;
  spec.schema = &query::ContactSchema();
  spec.from = "contacts c";
  spec.select = kContactSelect;
  spec.select_columns = kContactColumnCount;
  if (!params.show_deleted) {
    spec.conditions.push_back({"c.delete_time IS NULL", {}});
  }
  for (SqlFragment& f : FreeTextConditions(params.query, "c.search_text")) {
    spec.conditions.push_back(std::move(f));
  }
  spec.filter = params.filter;
  spec.order_by = params.order_by;
  spec.page_token = params.page_token;
  spec.page_size = params.page_size;
  if (!params.exact_total_size) spec.count_limit = kTotalSizeCountLimit;
  std::vector<std::pair<std::string, std::string>> description = {
      {"resource", "contacts"},
      {"filter", params.filter},
      {"query", params.query},
      {"order_by", params.order_by},
      {"show_deleted", params.show_deleted ? "1" : "0"}};
  // Only when set, so that tokens issued before the option existed (and
  // every default listing's) stay valid.
  if (params.exact_total_size) description.push_back({"exact_total_size", "1"});
  spec.request_description = query::RequestDescription(description);
  return spec;
}

}  // namespace

absl::StatusOr<ContactPage> ContactStore::List(
    const ContactListParams& params) {
  const ListSpec spec = ContactListSpec(params);
  RAPPORT_ASSIGN_OR_RETURN(ListPlan plan, PlanList(spec));
  ContactPage page;
  absl::Status read_status;
  RAPPORT_RETURN_IF_ERROR(db_->Run("listing contacts", [&](Connection& conn) {
    page = ContactPage();
    auto rs = conn.Query(plan.page.sql, plan.page.params);
    SortKeyText last_keys;
    bool more = false;
    std::vector<size_t> stale_lists;
    while (rs->next()) {
      if (static_cast<int>(page.contacts.size()) == spec.page_size) {
        more = true;  // one row past the page: a next page follows
        break;
      }
      bool lists_current = false;
      absl::StatusOr<Contact> c = ReadContactRow(*rs, &lists_current);
      if (!c.ok()) return c.status();
      if (!lists_current) stale_lists.push_back(page.contacts.size());
      page.contacts.push_back(*std::move(c));
      last_keys = ReadSortKeys(plan, *rs);
    }
    rs.reset();
    for (size_t i : stale_lists) {
      RAPPORT_RETURN_IF_ERROR(ReadListsFromTables(conn, &page.contacts[i]));
    }
    // total_size costs a COUNT over the matching rows (up to the limit), so
    // it is counted once per listing: not at all when the first page holds
    // every row, on the first page otherwise, and carried to later pages in
    // the token.
    std::optional<int64_t> total = plan.carried_total_size;
    const bool whole_listing = params.page_token.empty() && !more;
    if (params.with_total_size && !total) {
      if (whole_listing) {
        total = static_cast<int64_t>(page.contacts.size());
      } else {
        auto count = conn.Query(plan.count.sql, plan.count.params);
        if (count->next()) total = count->getInt64(1);
      }
    }
    if (total) {
      page.total_size = *total;
      page.total_size_capped =
          !whole_listing && spec.count_limit && *total >= *spec.count_limit;
    }
    if (more) {
      absl::StatusOr<std::string> token = NextPageToken(
          plan, spec, last_keys, params.with_total_size ? total : std::nullopt);
      if (!token.ok()) return token.status();
      page.next_page_token = *std::move(token);
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::Status ContactStore::Export(
    const ContactListParams& params, int batch_size,
    absl::FunctionRef<bool(std::vector<Contact>&)> sink) {
  ContactListParams p = params;
  p.order_by = "id";
  p.page_size = batch_size;
  p.with_total_size = false;
  p.page_token.clear();
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(ContactPage page, List(p));
    if (!page.contacts.empty() && !sink(page.contacts)) return absl::OkStatus();
    if (page.next_page_token.empty()) return absl::OkStatus();
    p.page_token = std::move(page.next_page_token);
  }
}

}  // namespace rapport::storage
