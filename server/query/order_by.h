// AIP-132 `order_by` parsing: "create_time desc, id" -> ORDER BY text plus a
// description of each sort key, so callers can read the key values of a row
// for keyset pagination (pagination.h).
// Thread-safe: pure functions.
#ifndef RAPPORT_SERVER_QUERY_ORDER_BY_H_
#define RAPPORT_SERVER_QUERY_ORDER_BY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/query/schema.h"

namespace rapport::query {

inline constexpr size_t kMaxOrderByLength = 1024;  // bytes

// One key of the sort, in order.
struct SortKey {
  std::string field;   // name as in order_by, e.g. "create_time"
  std::string column;  // qualified column, e.g. "c.create_time"
  SortType type = SortType::kInt64;
  bool nullable = false;
  bool descending = false;
};

// A validated sort. The last key is always the schema's id field, so the
// order is total and keyset pagination is exact.
struct OrderBy {
  std::vector<SortKey> keys;
  // "ORDER BY c.create_time DESC, c.id DESC". MySQL and MariaDB put NULLs
  // first ascending and last descending; pagination.h follows that.
  std::string sql;
};

// Parses `order_by` for `schema`: comma-separated field names, each with an
// optional " asc" or " desc" (case-insensitive). A blank value means the
// schema's default. When the id field is not named it is appended in the
// direction of the last key. Returns INVALID_ARGUMENT ("order_by: ...") for
// unknown or repeated fields and bad syntax.
absl::StatusOr<OrderBy> ParseOrderBy(absl::string_view order_by,
                                     const ResourceSchema& schema);

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_ORDER_BY_H_
