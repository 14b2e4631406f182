// A value bound to a `?` placeholder of a prepared statement. Code that builds
// SQL text (filters, keyset cursors) returns the text with `?` placeholders
// plus these values, in order; storage binds them. Nothing user-supplied is
// ever spliced into SQL text.
#ifndef RAPPORT_SERVER_COMMON_SQL_PARAM_H_
#define RAPPORT_SERVER_COMMON_SQL_PARAM_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace rapport {

// std::monostate binds SQL NULL. Timestamps bind as std::string in the
// DATETIME(6) text form (see time_util.h ToSqlDateTime).
using SqlParam =
    std::variant<std::monostate, bool, int64_t, double, std::string>;

// SQL text with `?` placeholders and the values that fill them, in order.
struct SqlFragment {
  std::string sql;
  std::vector<SqlParam> params;
};

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_SQL_PARAM_H_
