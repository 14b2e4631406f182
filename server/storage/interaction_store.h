// Interactions in MySQL: log (idempotent with request_id), get and list.
// Logging moves the contact's last_interaction_time forward in the same
// transaction. Inputs must be validated by the API layer.
// Thread-safety: safe to use from many threads.
#ifndef RAPPORT_SERVER_STORAGE_INTERACTION_STORE_H_
#define RAPPORT_SERVER_STORAGE_INTERACTION_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapport/v1/interaction.pb.h"

namespace rapport::storage {

class Database;

struct InteractionListParams {
  int64_t contact_id = 0;  // 0: every contact
  std::string filter;
  std::string order_by;
  std::string page_token;
  int page_size = 50;  // already clamped
};

struct InteractionPage {
  std::vector<rapport::v1::Interaction> interactions;
  std::string next_page_token;
};

class InteractionStore {
 public:
  // `db` is not owned and must outlive the store.
  explicit InteractionStore(Database* db) : db_(db) {}

  // Logs a validated interaction. NOT_FOUND when the contact does not exist
  // or is deleted. With a non-empty `request_id`, a repeated call returns the
  // first result.
  absl::StatusOr<rapport::v1::Interaction> Log(
      const rapport::v1::Interaction& interaction,
      absl::string_view request_id);

  // NOT_FOUND when absent.
  absl::StatusOr<rapport::v1::Interaction> Get(int64_t id);

  // INVALID_ARGUMENT for a bad filter, order_by or page_token.
  absl::StatusOr<InteractionPage> List(const InteractionListParams& params);

 private:
  Database* db_;  // not owned
};

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_INTERACTION_STORE_H_
