// Fuzzes the AIP-160 filter parser and compiler (server/query/filter_parser.h,
// filter_compiler.h). The whole input is the `filter` text of a list request,
// compiled against the contact and the interaction schema.
//
// Invariants, beyond "does not crash":
//  * the result is OK or INVALID_ARGUMENT "filter: ... at position N", N a
//    character position inside (or just past) the filter, and the message is
//    valid UTF-8 without control bytes when the filter is valid UTF-8;
//  * the tree is well formed: flattened AND/OR with >= 2 operands, NOT with
//    one, offsets that point at the field, operator and value as written,
//    depth bounded by kMaxFilterDepth;
//  * compiled SQL is made only of schema names, keywords, operators, fixed
//    literals and `?`, with one bound param per `?` (request text never
//    reaches SQL text), and never binds NULL or a double;
//  * metamorphic: surrounding whitespace changes nothing; `NOT (f)` and
//    `-(f)` bind the same params as `f`; `(f) (f)` compiles to exactly the
//    SQL of `(f) AND (f)` and binds f's params twice.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/sql_param.h"
#include "server/query/filter_compiler.h"
#include "server/query/filter_parser.h"
#include "server/query/schema.h"
#include "tests/fuzz/fuzz_util.h"

namespace rapport::fuzz {
namespace {

using query::Comparator;
using query::FilterNode;
using query::ParsedFilter;
using query::ResourceSchema;

SqlVocabulary VocabularyFor(const ResourceSchema& schema) {
  SqlVocabulary v;
  for (const char* word : {"AND", "OR", "NOT", "IS", "NULL", "LIKE", "ESCAPE",
                           "EXISTS", "SELECT", "FROM", "WHERE", "TRUE", "FALSE",
                           "COALESCE", "JSON_EXTRACT", "JSON_UNQUOTE"}) {
    v.words.insert(word);
  }
  v.words.insert(schema.alias);
  // The EXISTS subqueries join on "<a>.contact_id = c.id".
  v.words.insert("contact_id");
  v.words.insert("id");
  for (const query::FieldSpec& f : schema.fields) {
    AddQualifiedName(f.column, v);
    for (const std::string* name : {&f.table, &f.value_column, &f.key_column}) {
      if (!name->empty()) v.words.insert(*name);
    }
    if (!f.alias_prefix.empty()) v.alias_prefixes.insert(f.alias_prefix);
  }
  v.literals = {"''", "'!'"};  // `<> ''` presence tests, `ESCAPE '!'`
  v.numbers = {"1"};           // SELECT 1
  return v;
}

// Each level of parentheses or negation adds at most an AND, an OR and a NOT
// node, so the tree is at most about three times as deep as the limit.
constexpr int kMaxTreeDepth = 3 * (query::kMaxFilterDepth + 2);

void CheckTree(const FilterNode& n, absl::string_view text, int depth) {
  RAPPORT_FUZZ_CHECK(depth <= kMaxTreeDepth, "tree depth ", depth);
  switch (n.kind) {
    case FilterNode::Kind::kAnd:
    case FilterNode::Kind::kOr:
      RAPPORT_FUZZ_CHECK(n.children.size() >= 2, n.children.size());
      for (const FilterNode& c : n.children) {
        // Combine() flattens a AND (b AND c); a nested same-kind node would
        // mean it did not.
        RAPPORT_FUZZ_CHECK(c.kind != n.kind, "unflattened node");
        CheckTree(c, text, depth + 1);
      }
      return;
    case FilterNode::Kind::kNot:
      RAPPORT_FUZZ_CHECK(n.children.size() == 1, n.children.size());
      CheckTree(n.children[0], text, depth + 1);
      return;
    case FilterNode::Kind::kComparison:
      break;
  }
  RAPPORT_FUZZ_CHECK(n.children.empty());
  RAPPORT_FUZZ_CHECK(!n.field.empty());
  RAPPORT_FUZZ_CHECK(text.substr(n.field_offset, n.field.size()) == n.field,
                     "field ", Show(n.field), " at ", n.field_offset);
  RAPPORT_FUZZ_CHECK(n.field_offset + n.field.size() <= n.op_offset);
  RAPPORT_FUZZ_CHECK(
      absl::StartsWith(text.substr(n.op_offset), ComparatorText(n.op)),
      "operator at ", n.op_offset);
  const query::FilterValue& v = n.value;
  RAPPORT_FUZZ_CHECK(n.op_offset < v.offset && v.offset < text.size());
  if (v.quoted) {
    RAPPORT_FUZZ_CHECK(text[v.offset] == '"' || text[v.offset] == '\'');
  } else {
    RAPPORT_FUZZ_CHECK(!v.text.empty());
    RAPPORT_FUZZ_CHECK(text.substr(v.offset, v.text.size()) == v.text,
                       "bare value ", Show(v.text), " at ", v.offset);
  }
  for (size_t i = 0; i < v.wildcards.size(); ++i) {
    const size_t w = v.wildcards[i];
    RAPPORT_FUZZ_CHECK(w < v.text.size() && v.text[w] == '*',
                       "wildcard offset ", w, " in ", Show(v.text));
    RAPPORT_FUZZ_CHECK(i == 0 || v.wildcards[i - 1] < w, "unsorted wildcards");
  }
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void CheckError(const absl::Status& s, absl::string_view text) {
  RAPPORT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s);
  const absl::string_view msg = s.message();
  RAPPORT_FUZZ_CHECK(absl::StartsWith(msg, "filter: "), s);
  RAPPORT_FUZZ_CHECK(!HasControlByte(msg), "control byte in ", Show(msg));
  if (IsValidUtf8(text)) {
    RAPPORT_FUZZ_CHECK(IsValidUtf8(msg), "invalid UTF-8 in ", Show(msg));
  }
  if (text.size() > query::kMaxFilterLength) return;  // "too long": no position
  // The last " at position N" (a quoted value could contain the phrase).
  const size_t at = msg.rfind(" at position ");
  RAPPORT_FUZZ_CHECK(at != absl::string_view::npos, s);
  absl::string_view rest = msg.substr(at + 13);
  rest = rest.substr(0, rest.find(';'));
  size_t position = 0;
  RAPPORT_FUZZ_CHECK(absl::SimpleAtoi(rest, &position), s);
  RAPPORT_FUZZ_CHECK(position >= 1 && position <= CodePoints(text) + 1,
                     "position ", position, " in a filter of ",
                     CodePoints(text), " characters: ", s);
}

bool SameFragment(const SqlFragment& a, const SqlFragment& b) {
  if (a.sql != b.sql || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i) {
    if (!SameParam(a.params[i], b.params[i])) return false;
  }
  return true;
}

bool SameParams(const std::vector<SqlParam>& a,
                const std::vector<SqlParam>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameParam(a[i], b[i])) return false;
  }
  return true;
}

void CheckSql(const SqlFragment& f, const SqlVocabulary& vocab,
              absl::string_view text) {
  size_t placeholders = 0;
  const std::string bad = CheckSqlTokens(f.sql, vocab, &placeholders);
  RAPPORT_FUZZ_CHECK(bad.empty(), bad, " in ", Show(f.sql), " from ",
                     Show(text));
  RAPPORT_FUZZ_CHECK(placeholders == f.params.size(), placeholders,
                     " placeholders, ", f.params.size(),
                     " params: ", Show(f.sql));
  for (const SqlParam& p : f.params) {
    RAPPORT_FUZZ_CHECK(!std::holds_alternative<std::monostate>(p) &&
                           !std::holds_alternative<double>(p),
                       "bound ", ShowParam(p));
  }
}

// Compiles `text` again in a transformed form; the transformed text must
// stay within the length limit for the comparison to mean anything.
bool Fits(absl::string_view text) {
  return text.size() <= query::kMaxFilterLength;
}

void FuzzSchema(absl::string_view text, const ResourceSchema& schema,
                const SqlVocabulary& vocab) {
  const absl::StatusOr<ParsedFilter> parsed = query::ParseFilter(text);
  const absl::StatusOr<SqlFragment> compiled =
      query::CompileFilter(text, schema);
  if (!parsed.ok()) {
    CheckError(parsed.status(), text);
    RAPPORT_FUZZ_CHECK(compiled.status() == parsed.status(), compiled.status(),
                       " vs ", parsed.status());
    return;
  }
  if (!parsed->empty) CheckTree(parsed->root, text, 0);
  const absl::StatusOr<SqlFragment> again =
      query::CompileParsedFilter(*parsed, text, schema);
  RAPPORT_FUZZ_CHECK(again.status() == compiled.status());
  if (!compiled.ok()) {
    CheckError(compiled.status(), text);
    return;
  }
  RAPPORT_FUZZ_CHECK(SameFragment(*again, *compiled), "not deterministic");

  if (parsed->empty) {
    RAPPORT_FUZZ_CHECK(compiled->sql.empty() && compiled->params.empty());
    return;
  }
  RAPPORT_FUZZ_CHECK(!compiled->sql.empty());
  CheckSql(*compiled, vocab, text);

  const std::string padded = absl::StrCat(" \t", text, "\n ");
  if (Fits(padded)) {
    const absl::StatusOr<SqlFragment> p = query::CompileFilter(padded, schema);
    RAPPORT_FUZZ_CHECK(p.ok() && SameFragment(*p, *compiled),
                       "whitespace changed the result: ", p.status());
  }
  for (const char* negation : {"NOT (", "-("}) {
    const std::string negated = absl::StrCat(negation, text, ")");
    if (!Fits(negated)) continue;
    const absl::StatusOr<SqlFragment> n = query::CompileFilter(negated, schema);
    if (n.ok()) {
      CheckSql(*n, vocab, negated);
      RAPPORT_FUZZ_CHECK(SameParams(n->params, compiled->params),
                         "negation changed params: ", Show(negated));
    } else {
      // The only way wrapping can fail: two more levels of nesting.
      RAPPORT_FUZZ_CHECK(absl::StrContains(n.status().message(), "nesting"),
                         n.status());
    }
  }
  const std::string conjunction = absl::StrCat("(", text, ") AND (", text, ")");
  const std::string juxtaposed = absl::StrCat("(", text, ") (", text, ")");
  if (Fits(conjunction)) {
    const absl::StatusOr<SqlFragment> a =
        query::CompileFilter(conjunction, schema);
    const absl::StatusOr<SqlFragment> j =
        query::CompileFilter(juxtaposed, schema);
    RAPPORT_FUZZ_CHECK(a.status() == j.status(), a.status(), " vs ",
                       j.status());
    if (a.ok()) {
      RAPPORT_FUZZ_CHECK(SameFragment(*a, *j), Show(a->sql), " vs ",
                         Show(j->sql));
      CheckSql(*a, vocab, conjunction);
      std::vector<SqlParam> twice = compiled->params;
      twice.insert(twice.end(), compiled->params.begin(),
                   compiled->params.end());
      RAPPORT_FUZZ_CHECK(SameParams(a->params, twice), "AND changed params");
    } else {
      RAPPORT_FUZZ_CHECK(absl::StrContains(a.status().message(), "nesting"),
                         a.status());
    }
  }
}

}  // namespace
}  // namespace rapport::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rapport::fuzz::SqlVocabulary;
  static const SqlVocabulary* const contacts = new SqlVocabulary(
      rapport::fuzz::VocabularyFor(rapport::query::ContactSchema()));
  static const SqlVocabulary* const interactions = new SqlVocabulary(
      rapport::fuzz::VocabularyFor(rapport::query::InteractionSchema()));
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  rapport::fuzz::FuzzSchema(text, rapport::query::ContactSchema(), *contacts);
  rapport::fuzz::FuzzSchema(text, rapport::query::InteractionSchema(),
                            *interactions);
  return 0;
}
