// The AIP-160 filter parser: turns the text of a `filter` request field into
// an abstract syntax tree. It knows nothing of resources or SQL; the schema
// layer (filter_compiler.h) gives field paths and values their meaning, so
// every list method of the server shares this one grammar.
// Thread-safe: pure functions over immutable input.
//
// Grammar (https://google.aip.dev/160), with its unusual precedence:
//   filter     := [expression]
//   expression := sequence {"AND" sequence}
//   sequence   := factor {factor}            (juxtaposition is AND)
//   factor     := term {"OR" term}           (OR binds tighter than AND)
//   term       := ["NOT" | "-"] term | simple
//   simple     := comparison | "(" expression ")"
//   comparison := field-path comparator value
// so `a AND b OR c` is `a AND (b OR c)`.
#ifndef RAPPORT_SERVER_QUERY_FILTER_PARSER_H_
#define RAPPORT_SERVER_QUERY_FILTER_PARSER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::query {

// Limits that keep hostile input from exhausting the stack or the CPU.
inline constexpr size_t kMaxFilterLength = 4096;  // bytes
inline constexpr int kMaxFilterDepth = 64;        // nested "(" / NOT / "-"

enum class Comparator { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

// The operator as written: "=", "!=", "<", "<=", ">", ">=", ":".
absl::string_view ComparatorText(Comparator op);

// The right-hand side of a comparison.
struct FilterValue {
  // Quoted values are always strings; bare words may be numbers, booleans,
  // enum names, timestamps or `null`, as the field's type decides.
  bool quoted = false;
  // The value with escapes resolved.
  std::string text;
  // Byte offsets in `text` of unescaped `*` (AIP-160 wildcards). A `\*`
  // inside a quoted string is a literal star and is not listed.
  std::vector<size_t> wildcards;
  // Byte offset of the value's first character in the filter text.
  size_t offset = 0;
};

// A node of the filter tree. AND/OR nodes are flattened (n-ary), so the tree
// depth is bounded by the nesting of parentheses and negations.
struct FilterNode {
  enum class Kind { kAnd, kOr, kNot, kComparison };
  Kind kind = Kind::kComparison;
  // kAnd / kOr: two or more operands; kNot: exactly one.
  std::vector<FilterNode> children;
  // kComparison only.
  std::string field;  // dotted path, e.g. "attributes.plan"
  size_t field_offset = 0;
  Comparator op = Comparator::kEq;
  size_t op_offset = 0;
  FilterValue value;
};

// A parsed filter. `root` is meaningless when `empty` (blank filter text).
struct ParsedFilter {
  bool empty = true;
  FilterNode root;
};

// Parses `filter`. Returns INVALID_ARGUMENT on any syntax error, with a
// message starting "filter: " and naming the 1-based character position and
// the offending token, e.g. `filter: unexpected ")" at position 17`.
absl::StatusOr<ParsedFilter> ParseFilter(absl::string_view filter);

// INVALID_ARGUMENT "filter: <what> at position <n>[; <hint>]", where n is
// the 1-based character position of byte `offset` of `text`. The one error
// format of the filter parser and compiler.
absl::Status FilterError(absl::string_view text, size_t offset,
                         absl::string_view what, absl::string_view hint = "");

// The 1-based character (UTF-8 code point) position of byte `offset` in
// `text`, as error messages report it.
size_t CharPosition(absl::string_view text, size_t offset);

// `text` in double quotes, with quotes, backslashes and control bytes
// escaped, for error messages.
std::string QuoteForMessage(absl::string_view text);

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_FILTER_PARSER_H_
