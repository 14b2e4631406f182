// Compiles an AIP-160 filter into a parameterised SQL boolean expression for
// one resource, using the declarative field descriptions of schema.h.
// Thread-safe: pure functions.
//
// Semantics worth knowing:
// - Every generated predicate is two-valued (never SQL NULL), so `NOT x` is
//   the exact complement of `x`; `!=` on a nullable column matches NULLs.
// - `*` in a string value of = / != is a wildcard (LIKE, escape '!').
// - `field:*` tests presence (IS NOT NULL, non-empty, or any element);
//   `field = null` / `field != null` test NULL on nullable fields.
// - `:` on a scalar field means `=`.
#ifndef RAPPORT_SERVER_QUERY_FILTER_COMPILER_H_
#define RAPPORT_SERVER_QUERY_FILTER_COMPILER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/sql_param.h"
#include "server/query/filter_parser.h"
#include "server/query/schema.h"

namespace rapport::query {

// Parses and compiles `filter` for `schema`. On success returns a
// parenthesised boolean SQL expression over the schema's table alias, with
// `?` placeholders and their params; a blank filter gives an empty `sql`
// (the caller then omits the condition). Returns INVALID_ARGUMENT, with a
// message starting "filter: " that names the field, value and position, for
// syntax errors, unknown fields, unsupported operators and badly typed values.
absl::StatusOr<SqlFragment> CompileFilter(absl::string_view filter,
                                          const ResourceSchema& schema);

// Same, for an already parsed filter. `filter_text` is the text it was
// parsed from (for error positions).
absl::StatusOr<SqlFragment> CompileParsedFilter(const ParsedFilter& parsed,
                                                absl::string_view filter_text,
                                                const ResourceSchema& schema);

// `pattern` (with `*` at the byte offsets `wildcards`) as a LIKE pattern for
// `LIKE ? ESCAPE '!'`: `*` becomes `%`; `!`, `%`, `_` and `\` are escaped.
std::string ToLikePattern(absl::string_view pattern,
                          const std::vector<size_t>& wildcards);

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_FILTER_COMPILER_H_
