// Fuzzes keyset page tokens (server/query/pagination.h): decoding of tokens
// sent by clients, the cursors they carry, and the keyset condition built
// from a cursor.
//
// The first input byte picks how the rest is used:
//   'T'  the page_token text as a client sends it;
//   'P'  a token body after its fingerprint (version byte, value count,
//        values): the fuzzer inserts the right fingerprint, appends the
//        checksum and base64-encodes it, so mutations reach the value
//        decoder instead of dying at the checksum;
//   'R'  a whole token body (version, fingerprint, values); only the
//        checksum is added;
//   'W'  a row as the database returns it (FuzzedDataProvider): the sort
//        key texts for one of several order_by values, then rows to compare;
//   else the whole input is the token text.
// For decoded tokens, the sample rows that the keyset condition is evaluated
// on come from a fixed seed (the input bytes are all spent on the token).
//
// Invariants, beyond "does not crash":
//  * decoding yields OK or INVALID_ARGUMENT "page_token..."; at most 64
//    values;
//  * a decoded cursor re-encodes to a URL-safe token that decodes to the
//    same values (doubles bit for bit), re-encoding is a fixed point, and
//    the token is refused for any other request;
//  * KeysetCondition gives OK or INVALID_ARGUMENT; its SQL holds only the
//    sort columns, keywords and `?`, one param per `?`, each param a value
//    of the cursor;
//  * a cursor made from a row (CursorFromRowText) always fits its order;
//  * the condition means what it says: evaluated with SQL three-valued logic
//    on sample rows, it is true exactly for rows that sort strictly after
//    the cursor (NULLs first ascending, last descending, as in MariaDB).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "server/common/sql_param.h"
#include "server/query/order_by.h"
#include "server/query/pagination.h"
#include "server/query/schema.h"
#include "tests/fuzz/fuzz_util.h"

namespace rapport::fuzz {
namespace {

using query::Cursor;
using query::OrderBy;
using query::SortKey;
using query::SortType;

// The request description every token of the seed corpus was made for (a
// ListContacts call ordered by create_time desc).
const std::string& Request() {
  static const std::string* const r = new std::string(
      query::RequestDescription({{"filter", ""},
                                 {"query", ""},
                                 {"order_by", "create_time desc"},
                                 {"show_deleted", "0"}}));
  return *r;
}

const std::string& OtherRequest() {
  static const std::string* const r = new std::string(
      query::RequestDescription({{"filter", ""},
                                 {"query", ""},
                                 {"order_by", "create_time desc"},
                                 {"show_deleted", "1"}}));
  return *r;
}

// Sorts of every shape: ascending and descending, nullable keys, string,
// timestamp and integer keys, one to three keys.
const std::vector<OrderBy>& Orders() {
  static const std::vector<OrderBy>* const orders = [] {
    auto* v = new std::vector<OrderBy>;
    for (const char* text :
         {"", "create_time desc", "last_interaction_time desc, company",
          "last_interaction_time asc", "given_name, family_name desc",
          "id desc"}) {
      v->push_back(*query::ParseOrderBy(text, query::ContactSchema()));
    }
    v->push_back(*query::ParseOrderBy("", query::InteractionSchema()));
    return v;
  }();
  return *orders;
}

uint64_t Fnv1a(absl::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void AppendFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// The token for `body` (everything before the checksum), as the format in
// pagination.h describes it; written out here independently of the encoder.
std::string TokenFromBody(std::string body) {
  AppendFixed64(body, Fnv1a(body));
  std::string token;
  absl::WebSafeBase64Escape(body, &token);
  return token;
}

// --- A small evaluator for KeysetCondition's SQL ---------------------------
// Grammar of what KeysetCondition writes:
//   expr    := and {"OR" and}
//   and     := primary {"AND" primary}
//   primary := "(" expr ")" | "FALSE" | column "IS" ["NOT"] "NULL"
//            | column op "?"
// Values are SQL three-valued: 1 true, 0 false, -1 unknown (NULL).
class ConditionEvaluator {
 public:
  ConditionEvaluator(absl::string_view sql, const std::vector<SqlParam>& params,
                     const absl::flat_hash_map<std::string, SqlParam>& row)
      : params_(params), row_(row), sql_(sql) {
    size_t i = 0;
    while (i < sql.size()) {
      const char c = sql[i];
      if (c == ' ') {
        ++i;
      } else if (c == '(' || c == ')' || c == '?' || c == '=') {
        tokens_.emplace_back(sql.substr(i++, 1));
      } else if (c == '<' || c == '>') {
        const size_t len = i + 1 < sql.size() && sql[i + 1] == '=' ? 2 : 1;
        tokens_.emplace_back(sql.substr(i, len));
        i += len;
      } else {
        size_t end = i;
        while (end < sql.size() && sql[end] != ' ' && sql[end] != '(' &&
               sql[end] != ')') {
          ++end;
        }
        tokens_.emplace_back(sql.substr(i, end - i));
        i = end;
      }
    }
  }

  int Evaluate() {
    const int v = Expr();
    RAPPORT_FUZZ_CHECK(pos_ == tokens_.size(), "trailing SQL in ", Show(sql_));
    RAPPORT_FUZZ_CHECK(next_param_ == params_.size(), "unused params");
    return v;
  }

 private:
  const std::string& Peek() const {
    static const std::string* const kEnd = new std::string;
    return pos_ < tokens_.size() ? tokens_[pos_] : *kEnd;
  }
  std::string Take() {
    RAPPORT_FUZZ_CHECK(pos_ < tokens_.size(), "SQL ends early: ", Show(sql_));
    return tokens_[pos_++];
  }
  void Expect(absl::string_view t) {
    const std::string got = Take();
    RAPPORT_FUZZ_CHECK(got == t, "expected ", t, ", got ", Show(got), " in ",
                       Show(sql_));
  }

  int Expr() {
    int v = And();
    while (Peek() == "OR") {
      ++pos_;
      const int w = And();
      v = (v == 1 || w == 1) ? 1 : (v == -1 || w == -1) ? -1 : 0;
    }
    return v;
  }
  int And() {
    int v = Primary();
    while (Peek() == "AND") {
      ++pos_;
      const int w = Primary();
      v = (v == 0 || w == 0) ? 0 : (v == -1 || w == -1) ? -1 : 1;
    }
    return v;
  }
  int Primary() {
    if (Peek() == "(") {
      ++pos_;
      const int v = Expr();
      Expect(")");
      return v;
    }
    if (Peek() == "FALSE") {
      ++pos_;
      return 0;
    }
    const std::string column = Take();
    const auto it = row_.find(column);
    RAPPORT_FUZZ_CHECK(it != row_.end(), "unknown column ", Show(column),
                       " in ", Show(sql_));
    const SqlParam& value = it->second;
    const bool is_null = std::holds_alternative<std::monostate>(value);
    if (Peek() == "IS") {
      ++pos_;
      bool negate = false;
      if (Peek() == "NOT") {
        ++pos_;
        negate = true;
      }
      Expect("NULL");
      return is_null != negate ? 1 : 0;
    }
    const std::string op = Take();
    Expect("?");
    RAPPORT_FUZZ_CHECK(next_param_ < params_.size(), "too few params");
    const SqlParam& bound = params_[next_param_++];
    if (is_null || std::holds_alternative<std::monostate>(bound)) return -1;
    const int c = Compare(value, bound);
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    if (op == ">=") return c >= 0;
    if (op == "=") return c == 0;
    Fail(__FILE__, __LINE__, "known operator", Show(op));
  }

 public:
  // Both non-NULL and of one type (FitsKey guarantees it for cursors; rows
  // are made with the key's type).
  static int Compare(const SqlParam& a, const SqlParam& b) {
    RAPPORT_FUZZ_CHECK(a.index() == b.index(), ShowParam(a), " vs ",
                       ShowParam(b));
    if (const int64_t* x = std::get_if<int64_t>(&a)) {
      const int64_t y = std::get<int64_t>(b);
      return *x < y ? -1 : *x > y ? 1 : 0;
    }
    const std::string& x = std::get<std::string>(a);
    const std::string& y = std::get<std::string>(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

 private:
  const std::vector<SqlParam>& params_;
  const absl::flat_hash_map<std::string, SqlParam>& row_;
  const std::string sql_;
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
  size_t next_param_ = 0;
};

// True if `row` sorts strictly after `cursor` under `order`.
bool SortsAfter(const OrderBy& order, const std::vector<SqlParam>& row,
                const std::vector<SqlParam>& cursor) {
  for (size_t i = 0; i < order.keys.size(); ++i) {
    const bool a_null = std::holds_alternative<std::monostate>(row[i]);
    const bool b_null = std::holds_alternative<std::monostate>(cursor[i]);
    int c;
    if (a_null || b_null) {
      c = a_null == b_null ? 0 : a_null ? -1 : 1;  // NULL is lowest
    } else {
      c = ConditionEvaluator::Compare(row[i], cursor[i]);
    }
    if (order.keys[i].descending) c = -c;
    if (c != 0) return c > 0;
  }
  return false;
}

// A value for key `k` near `cursor_value`: equal, a neighbour, NULL when the
// key allows it, or something else of the key's type.
SqlParam RowValue(FuzzedDataProvider& fdp, const SortKey& k,
                  const SqlParam& cursor_value) {
  const int choice = fdp.ConsumeIntegralInRange<int>(0, 3);
  const bool cursor_null = std::holds_alternative<std::monostate>(cursor_value);
  if (choice == 0 && k.nullable) return std::monostate{};
  if (choice == 1 && !cursor_null) return cursor_value;
  if (choice == 2 && !cursor_null) {
    if (const int64_t* n = std::get_if<int64_t>(&cursor_value)) {
      const bool up = fdp.ConsumeBool();
      if (up && *n < INT64_MAX) return *n + 1;
      if (!up && *n > INT64_MIN) return *n - 1;
      return *n;
    }
    std::string s = std::get<std::string>(cursor_value);
    if (fdp.ConsumeBool() || s.empty()) return s + "0";
    s.pop_back();
    return s;
  }
  if (k.type == SortType::kInt64) {
    return fdp.ConsumeIntegralInRange<int64_t>(-3, 3);
  }
  return fdp.ConsumeRandomLengthString(6);
}

void CheckKeysetSql(const OrderBy& order, const SqlFragment& f) {
  SqlVocabulary vocab;
  vocab.words = {"IS", "NOT", "NULL", "AND", "OR", "FALSE"};
  for (const SortKey& k : order.keys) AddQualifiedName(k.column, vocab);
  size_t placeholders = 0;
  const std::string bad = CheckSqlTokens(f.sql, vocab, &placeholders);
  RAPPORT_FUZZ_CHECK(bad.empty(), bad, " in ", Show(f.sql));
  RAPPORT_FUZZ_CHECK(placeholders == f.params.size(), placeholders, " vs ",
                     f.params.size(), " in ", Show(f.sql));
}

// Checks the keyset condition of `cursor` under `order`, evaluating it on
// rows drawn from `fdp`. `must_fit`: the cursor was made for this order.
void CheckKeyset(const OrderBy& order, const Cursor& cursor,
                 FuzzedDataProvider& fdp, bool must_fit) {
  const absl::StatusOr<SqlFragment> cond =
      query::KeysetCondition(order, cursor);
  if (!cond.ok()) {
    RAPPORT_FUZZ_CHECK(
        !must_fit, "a cursor made from a row does not fit: ", cond.status());
    RAPPORT_FUZZ_CHECK(
        cond.status().code() == absl::StatusCode::kInvalidArgument &&
            absl::StartsWith(cond.status().message(), "page_token: "),
        cond.status());
    return;
  }
  RAPPORT_FUZZ_CHECK(cursor.values.size() == order.keys.size());
  CheckKeysetSql(order, *cond);
  for (const SqlParam& p : cond->params) {
    bool found = false;
    for (const SqlParam& v : cursor.values) found = found || SameParam(p, v);
    RAPPORT_FUZZ_CHECK(found, "param ", ShowParam(p), " is not in the cursor");
  }
  for (int n = 0; n < 8 && fdp.remaining_bytes() > 0; ++n) {
    std::vector<SqlParam> row;
    absl::flat_hash_map<std::string, SqlParam> by_column;
    for (size_t i = 0; i < order.keys.size(); ++i) {
      row.push_back(RowValue(fdp, order.keys[i], cursor.values[i]));
      by_column[order.keys[i].column] = row.back();
    }
    const int got =
        ConditionEvaluator(cond->sql, cond->params, by_column).Evaluate();
    const bool want = SortsAfter(order, row, cursor.values);
    // WHERE keeps a row only when the condition is true, not unknown.
    RAPPORT_FUZZ_CHECK((got == 1) == want, "condition ", Show(cond->sql),
                       " is ", got, " but the row ",
                       want ? "sorts" : "does not sort",
                       " after the cursor; row[0]=", ShowParam(row[0]),
                       " cursor[0]=", ShowParam(cursor.values[0]));
  }
}

bool SameValues(const Cursor& a, const Cursor& b) {
  if (a.values.size() != b.values.size()) return false;
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (!SameParam(a.values[i], b.values[i])) return false;
  }
  return true;
}

void CheckDecode(absl::string_view token) {
  if (token.empty()) return;  // REQUIRES: not empty ("first page")
  const absl::StatusOr<Cursor> cursor =
      query::DecodePageToken(token, Request());
  if (!cursor.ok()) {
    RAPPORT_FUZZ_CHECK(
        cursor.status().code() == absl::StatusCode::kInvalidArgument &&
            absl::StartsWith(cursor.status().message(), "page_token"),
        cursor.status());
    RAPPORT_FUZZ_CHECK(!HasControlByte(cursor.status().message()));
    return;
  }
  RAPPORT_FUZZ_CHECK(cursor->values.size() <= 64, cursor->values.size());

  const std::string again = query::EncodePageToken(*cursor, Request());
  RAPPORT_FUZZ_CHECK(!again.empty());
  for (char c : again) {
    RAPPORT_FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                           c == '-' || c == '_',
                       "not URL-safe: ", Show(again));
  }
  const absl::StatusOr<Cursor> back = query::DecodePageToken(again, Request());
  RAPPORT_FUZZ_CHECK(
      back.ok() && SameValues(*back, *cursor),
      "re-encoded token does not decode the same: ", back.status());
  RAPPORT_FUZZ_CHECK(query::EncodePageToken(*back, Request()) == again,
                     "encoding is not a fixed point");
  const absl::StatusOr<Cursor> other =
      query::DecodePageToken(again, OtherRequest());
  RAPPORT_FUZZ_CHECK(!other.ok() && absl::StrContains(other.status().message(),
                                                      "does not match"),
                     "token accepted for another request: ", other.status());

  // Rows to compare come from a fixed seed: the token bytes are spent.
  static constexpr uint8_t kRowSeed[] = {
      0x00, 0x13, 0x27, 0x3b, 0x4f, 0x63, 0x77, 0x8b, 0x9f, 0xb3, 0xc7,
      0xdb, 0xef, 0x01, 0x02, 0x03, 0xfe, 0xfd, 0x10, 0x20, 0x30, 0x40,
      0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0};
  for (const OrderBy& order : Orders()) {
    FuzzedDataProvider rows(kRowSeed, sizeof kRowSeed);
    CheckKeyset(order, *cursor, rows, /*must_fit=*/false);
  }
}

// 'W': a cursor from the text of a database row.
void FuzzRow(FuzzedDataProvider& fdp) {
  const std::vector<OrderBy>& orders = Orders();
  const OrderBy& order =
      orders[fdp.ConsumeIntegralInRange<size_t>(0, orders.size() - 1)];
  std::vector<std::optional<std::string>> row;
  for (const SortKey& k : order.keys) {
    if (k.nullable && fdp.ConsumeBool()) {
      row.emplace_back(std::nullopt);
    } else if (fdp.ConsumeBool()) {
      row.emplace_back(fdp.ConsumeRandomLengthString(40));
    } else if (k.type == SortType::kInt64) {
      row.emplace_back(absl::StrCat(fdp.ConsumeIntegral<int64_t>()));
    } else if (k.type == SortType::kTimestamp) {
      row.emplace_back(absl::StrFormat(
          "%04d-%02d-%02d %02d:%02d:%02d.%06d",
          fdp.ConsumeIntegralInRange(1000, 9999),
          fdp.ConsumeIntegralInRange(1, 12), fdp.ConsumeIntegralInRange(1, 28),
          fdp.ConsumeIntegralInRange(0, 23), fdp.ConsumeIntegralInRange(0, 59),
          fdp.ConsumeIntegralInRange(0, 59),
          fdp.ConsumeIntegralInRange(0, 999999)));
    } else {
      row.emplace_back(fdp.ConsumeRandomLengthString(12));
    }
  }
  const absl::StatusOr<Cursor> cursor = query::CursorFromRowText(order, row);
  if (!cursor.ok()) {
    // Text the database would never return for the column's type.
    RAPPORT_FUZZ_CHECK(cursor.status().code() == absl::StatusCode::kInternal,
                       cursor.status());
    return;
  }
  const std::string token = query::EncodePageToken(*cursor, Request());
  const absl::StatusOr<Cursor> back = query::DecodePageToken(token, Request());
  RAPPORT_FUZZ_CHECK(back.ok() && SameValues(*back, *cursor), back.status());
  CheckKeyset(order, *cursor, fdp, /*must_fit=*/true);
}

}  // namespace
}  // namespace rapport::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rapport::fuzz::CheckDecode;
  using rapport::fuzz::TokenFromBody;
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  switch (data[0]) {
    case 'T':
      CheckDecode(rest);
      break;
    case 'P': {
      if (rest.empty()) break;
      std::string body(1, rest[0]);  // version
      rapport::fuzz::AppendFixed64(
          body, rapport::query::RequestFingerprint(rapport::fuzz::Request()));
      body.append(rest.data() + 1, rest.size() - 1);
      CheckDecode(TokenFromBody(std::move(body)));
      break;
    }
    case 'R':
      CheckDecode(TokenFromBody(std::string(rest)));
      break;
    case 'W': {
      FuzzedDataProvider fdp(data + 1, size - 1);
      rapport::fuzz::FuzzRow(fdp);
      break;
    }
    default:
      CheckDecode(absl::string_view(reinterpret_cast<const char*>(data), size));
  }
  return 0;
}
