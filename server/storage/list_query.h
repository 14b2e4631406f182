// Builds the SQL of a list page from a resource schema: fixed conditions,
// the compiled AIP-160 filter, the keyset condition of the page token, the
// ORDER BY of order_by and a LIMIT one past the page (to know whether another
// page follows). Shared by every list method: the stores of server/storage
// and the audit log (server/audit); not for other modules.
// Thread-safe: pure functions, except ReadNextPageToken which reads a row.
#ifndef RAPPORT_SERVER_STORAGE_LIST_QUERY_H_
#define RAPPORT_SERVER_STORAGE_LIST_QUERY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/sql_param.h"
#include "server/query/order_by.h"
#include "server/query/schema.h"

namespace sql {
class ResultSet;
}

namespace rapport::storage {

struct ListSpec {
  const query::ResourceSchema* schema = nullptr;
  std::string from;    // "contacts c"
  std::string select;  // the resource's columns
  int select_columns = 0;
  // Conditions every row must meet besides the filter (ANDed).
  std::vector<SqlFragment> conditions;
  std::string filter;
  std::string order_by;
  std::string page_token;
  // Every request parameter that must not change between pages.
  std::string request_description;
  int page_size = 50;
  // When set, the count stops at this many rows (the total is then a lower
  // bound): a first page then costs the same on a table of any size.
  std::optional<int64_t> count_limit;
};

struct ListPlan {
  SqlFragment page;   // SELECT ... LIMIT page_size + 1
  SqlFragment count;  // COUNT(*) over the same rows, all pages, to the limit
  query::OrderBy order;
  int key_column = 0;  // 1-based index of the first sort-key column
  // The total the page token carried (counted on the listing's first page).
  std::optional<int64_t> carried_total_size;
};

// INVALID_ARGUMENT naming filter, order_by or page_token when one is bad.
absl::StatusOr<ListPlan> PlanList(const ListSpec& spec);

// The sort-key values of the row `rs` is on, as text (nullopt for NULL).
using SortKeyText = std::vector<std::optional<std::string>>;
SortKeyText ReadSortKeys(const ListPlan& plan, sql::ResultSet& rs);

// The token for the page after the row whose sort keys are `last_row`,
// carrying `total_size` to the later pages when it is known.
absl::StatusOr<std::string> NextPageToken(
    const ListPlan& plan, const ListSpec& spec, const SortKeyText& last_row,
    std::optional<int64_t> total_size = std::nullopt);

// A LIKE condition per word of a free-text query over `column` (lower-case
// text): every word must occur as a substring.
std::vector<SqlFragment> FreeTextConditions(absl::string_view query,
                                            absl::string_view column);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_LIST_QUERY_H_
