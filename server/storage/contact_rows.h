// Reading and writing the rows behind one rapport.v1.Contact: the contacts
// row plus its e-mails, phones, tags and attributes. Shared by the contact
// store's operations; internal to server/storage.
// Functions throw sql::SQLException (callers run inside Database::Run or
// Database::Transaction).
#ifndef RAPPORT_SERVER_STORAGE_CONTACT_ROWS_H_
#define RAPPORT_SERVER_STORAGE_CONTACT_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rapport/v1/contact.pb.h"

namespace sql {
class ResultSet;
}

namespace rapport::storage {

class Connection;

// SELECT list producing a contact with ReadContactRow; the table alias is
// `c`. kContactColumnCount columns; extra columns may follow.
extern const char kContactSelect[];
inline constexpr int kContactColumnCount = 24;

// Converts the current row (selected with kContactSelect) into a Contact.
// The e-mails, phones, tags and attributes come from the row's copy of them;
// when that copy is not current (*lists_current false: the row was last
// written by a rapportd from before the copy existed) they are left empty,
// and the caller must fill them with ReadListsFromTables once it is done
// with `rs`.
absl::StatusOr<rapport::v1::Contact> ReadContactRow(sql::ResultSet& rs,
                                                    bool* lists_current);

// Reads contact `c`'s e-mails, phones, tags and attributes from the child
// tables into `c` (whose lists are empty).
absl::Status ReadListsFromTables(Connection& conn, rapport::v1::Contact* c);

// SET-list fragment for a change that leaves the e-mails, phones, tags and
// attributes alone: bumps the version, keeping the row's copy of those lists
// current only if it was. It assigns lists_version first, as MySQL evaluates
// SET left to right and that assignment must see the old version.
extern const char kBumpVersion[];

// Reads one contact by id; with `for_update` locks its row until the
// transaction ends. nullopt when there is no such row.
std::optional<rapport::v1::Contact> LoadContact(Connection& conn, int64_t id,
                                                bool for_update);

// Inserts a validated contact at `now` (live), with its child rows, and
// returns it as LoadContact would now read it (id, times, etag, tag order),
// without reading it back. ALREADY_EXISTS (via the unique key) when an
// e-mail is taken; call CheckEmailsFree first for a helpful message.
rapport::v1::Contact InsertContact(Connection& conn,
                                   const rapport::v1::Contact& contact,
                                   absl::Time now);

// Inserts `contacts` as InsertContact does, each with its child rows, with
// multi-row statements. Returns them in order as LoadContact would now read
// them (ids, times, etag, tag order). Requires ConsecutiveInsertIds(conn).
std::vector<rapport::v1::Contact> InsertContacts(
    Connection& conn, const std::vector<const rapport::v1::Contact*>& contacts,
    absl::Time now);

// Rewrites the contacts row and whichever child rows differ between
// `before` and `after` (same id), bumping the version and update_time.
void UpdateContactRows(Connection& conn, const rapport::v1::Contact& before,
                       const rapport::v1::Contact& after, absl::Time now);

// ALREADY_EXISTS naming the first e-mail of `emails` that belongs to a live
// contact other than `self_id` (0 for none); OK otherwise.
absl::Status CheckEmailsFree(
    Connection& conn,
    const google::protobuf::RepeatedPtrField<std::string>& emails,
    int64_t self_id);

// Marks the contact's e-mails live (1) or not (NULL).
void SetEmailsLive(Connection& conn, int64_t id, bool live);

// Version number behind an etag; nullopt when the etag is malformed.
std::optional<int64_t> ParseEtag(absl::string_view etag);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_CONTACT_ROWS_H_
