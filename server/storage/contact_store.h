// Contacts in MySQL: create, read, update, soft delete, undelete, list,
// merge, import, export and privacy erasure. Every method runs in its own
// transaction (or read) on a pooled connection and returns statuses with
// canonical codes; inputs must already be validated and normalised by the
// API layer (server/validation).
//
// Thread-safety: safe to use from many threads; holds no state of its own
// beyond the Database pointer.
#ifndef RAPPORT_SERVER_STORAGE_CONTACT_STORE_H_
#define RAPPORT_SERVER_STORAGE_CONTACT_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapport/v1/contact.pb.h"
#include "rapport/v1/contact_service.pb.h"

namespace rapport::storage {

class Connection;
class Database;

// The parameters of a list or export, already validated by the API layer
// except for `filter`, `order_by` and `page_token`, which the store compiles
// (returning INVALID_ARGUMENT naming the field).
struct ContactListParams {
  std::string filter;
  std::string query;
  std::string order_by;
  std::string page_token;
  int page_size = 50;  // already clamped to 1..1000
  bool show_deleted = false;
  bool with_total_size = true;
  // Count every match instead of stopping at kTotalSizeCountLimit.
  bool exact_total_size = false;
};

// total_size counts at most this many matches unless exact_total_size is
// set: the count is what makes a first page's cost grow with the table.
inline constexpr int64_t kTotalSizeCountLimit = 1000;

struct ContactPage {
  std::vector<rapport::v1::Contact> contacts;
  std::string next_page_token;
  int64_t total_size = 0;
  bool total_size_capped = false;  // at least total_size contacts match
};

// One validated import row. The flags say which values validation filled in
// rather than the caller: they must not overwrite an existing contact's.
struct ImportRow {
  rapport::v1::Contact contact;
  bool display_name_derived = false;
  bool stage_defaulted = false;
};

// Outcome of one import row that passed validation.
enum class ImportOutcome { kCreated, kUpdated, kFailed };
struct ImportRowResult {
  ImportOutcome outcome = ImportOutcome::kFailed;
  absl::Status status;  // set when kFailed
};

class ContactStore {
 public:
  // `db` is not owned and must outlive the store.
  explicit ContactStore(Database* db) : db_(db) {}

  // Creates `contact` (validated; output-only fields ignored). With a
  // non-empty `request_id`, a repeated call returns the first result.
  // ALREADY_EXISTS when an e-mail belongs to another live contact.
  absl::StatusOr<rapport::v1::Contact> Create(
      const rapport::v1::Contact& contact, absl::string_view request_id);

  // NOT_FOUND when absent, or deleted and !show_deleted.
  absl::StatusOr<rapport::v1::Contact> Get(int64_t id, bool show_deleted);

  // Reads the live contact under a row lock, checks `etag` when non-empty
  // (ABORTED on mismatch), calls `mutate` to compute the new value (it must
  // validate; its error is returned as is), and stores the result.
  using Mutator = std::function<absl::StatusOr<rapport::v1::Contact>(
      const rapport::v1::Contact& existing)>;
  absl::StatusOr<rapport::v1::Contact> Update(int64_t id,
                                              absl::string_view etag,
                                              const Mutator& mutate);

  absl::StatusOr<rapport::v1::Contact> Delete(int64_t id,
                                              absl::string_view etag);
  absl::StatusOr<rapport::v1::Contact> Undelete(int64_t id);

  absl::StatusOr<ContactPage> List(const ContactListParams& params);

  absl::StatusOr<rapport::v1::Contact> Merge(
      int64_t primary_id, const std::vector<int64_t>& duplicate_ids);

  // Upserts validated rows in one transaction, each under its own savepoint
  // so a failing row does not undo the others. `results` gets one entry per
  // row. Returns an error only when the whole batch failed (database down).
  absl::Status ImportBatch(const std::vector<ImportRow>& rows,
                           std::vector<ImportRowResult>* results);

  // Calls `sink` with consecutive batches of matching contacts in id order
  // until done or until `sink` returns false (client went away). Each batch
  // is read on a fresh lease: no connection is held while `sink` runs.
  absl::Status Export(
      const ContactListParams& params, int batch_size,
      absl::FunctionRef<bool(std::vector<rapport::v1::Contact>&)> sink);

  // Erases the contact (deleted or not), every contact merged into it, their
  // interactions and idempotency keys; records an erasure row per contact.
  // Returns how many interactions were erased. NOT_FOUND when absent.
  absl::StatusOr<int64_t> Erase(int64_t id);

 private:
  Database* db_;  // not owned
};

// The etag of a contact at `version`.
std::string ContactEtag(int64_t version);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_CONTACT_STORE_H_
