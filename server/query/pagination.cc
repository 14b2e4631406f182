#include "server/query/pagination.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"

namespace rapport::query {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t Fnv1a(absl::string_view data, uint64_t h = kFnvOffset) {
  for (unsigned char c : data) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

enum Tag : uint8_t {
  kTagNull = 0,
  kTagBool = 1,
  kTagInt64 = 2,
  kTagDouble = 3,
  kTagString = 4,
  kTagTotalSize = 5,  // after the values; not a value
};

uint64_t ZigZag(int64_t n) {
  return (static_cast<uint64_t>(n) << 1) ^ (n < 0 ? ~uint64_t{0} : 0);
}

int64_t UnZigZag(uint64_t z) {
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads the token body; every read checks bounds.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}

  bool Byte(uint8_t& v) {
    if (data_.empty()) return false;
    v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool Fixed64(uint64_t& v) {
    if (data_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[i])) << (8 * i);
    }
    data_.remove_prefix(8);
    return true;
  }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(b)) return false;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Bytes(uint64_t n, std::string& out) {
    if (n > data_.size()) return false;
    out = std::string(data_.substr(0, n));
    data_.remove_prefix(n);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  absl::string_view data_;
};

absl::Status TokenError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", what));
}

absl::Status CursorMismatch() {
  return TokenError(
      "the token does not fit the sort order; restart the listing without "
      "page_token");
}

// SQL for "column sorts strictly after the bound value" and "column equals
// the bound value", binding into `params`.
std::string After(const SortKey& k, const SqlParam& v,
                  std::vector<SqlParam>& params) {
  const bool is_null = std::holds_alternative<std::monostate>(v);
  if (!k.descending) {
    // Ascending: NULLs first, so everything non-NULL is after a NULL.
    if (is_null) return absl::StrCat(k.column, " IS NOT NULL");
    params.push_back(v);
    return absl::StrCat(k.column, " > ?");
  }
  // Descending: NULLs last; nothing is after a NULL on this key.
  if (is_null) return "";
  params.push_back(v);
  if (k.nullable) {
    return absl::StrCat("(", k.column, " < ? OR ", k.column, " IS NULL)");
  }
  return absl::StrCat(k.column, " < ?");
}

std::string Equal(const SortKey& k, const SqlParam& v,
                  std::vector<SqlParam>& params) {
  if (std::holds_alternative<std::monostate>(v)) {
    return absl::StrCat(k.column, " IS NULL");
  }
  params.push_back(v);
  return absl::StrCat(k.column, " = ?");
}

bool FitsKey(const SortKey& k, const SqlParam& v) {
  if (std::holds_alternative<std::monostate>(v)) return k.nullable;
  switch (k.type) {
    case SortType::kInt64:
      return std::holds_alternative<int64_t>(v);
    case SortType::kString:
      return std::holds_alternative<std::string>(v);
    case SortType::kTimestamp:
      return std::holds_alternative<std::string>(v) &&
             ParseSqlDateTime(std::get<std::string>(v)).ok();
  }
  return false;
}

}  // namespace

absl::StatusOr<int> ClampPageSize(int32_t requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  if (requested == 0) return kDefaultPageSize;
  if (requested > kMaxPageSize) return kMaxPageSize;
  return static_cast<int>(requested);
}

absl::StatusOr<Cursor> CursorFromRowText(
    const OrderBy& order, const std::vector<std::optional<std::string>>& row) {
  if (row.size() != order.keys.size()) {
    return absl::InternalError(absl::StrCat("cursor row has ", row.size(),
                                            " values for ", order.keys.size(),
                                            " sort keys"));
  }
  Cursor cursor;
  for (size_t i = 0; i < row.size(); ++i) {
    const SortKey& k = order.keys[i];
    if (!row[i].has_value()) {
      if (!k.nullable) {
        return absl::InternalError(
            absl::StrCat("sort key ", k.field, " is NULL"));
      }
      cursor.values.emplace_back(std::monostate{});
      continue;
    }
    switch (k.type) {
      case SortType::kInt64: {
        int64_t n = 0;
        if (!absl::SimpleAtoi(*row[i], &n)) {
          return absl::InternalError(
              absl::StrCat("sort key ", k.field, " is not an integer"));
        }
        cursor.values.emplace_back(n);
        break;
      }
      case SortType::kString:
        cursor.values.emplace_back(*row[i]);
        break;
      case SortType::kTimestamp: {
        // Normalised, so equal instants give equal tokens.
        absl::StatusOr<absl::Time> t = ParseSqlDateTime(*row[i]);
        if (!t.ok()) {
          return absl::InternalError(
              absl::StrCat("sort key ", k.field, ": ", t.status().message()));
        }
        cursor.values.emplace_back(ToSqlDateTime(*t));
        break;
      }
    }
  }
  return cursor;
}

absl::StatusOr<SqlFragment> KeysetCondition(const OrderBy& order,
                                            const Cursor& cursor) {
  if (cursor.values.size() != order.keys.size()) return CursorMismatch();
  for (size_t i = 0; i < order.keys.size(); ++i) {
    if (!FitsKey(order.keys[i], cursor.values[i])) return CursorMismatch();
  }
  SqlFragment out;
  // Disjunct i: keys 0..i-1 equal the cursor, key i is after it.
  std::vector<std::string> disjuncts;
  for (size_t i = 0; i < order.keys.size(); ++i) {
    std::vector<SqlParam> params;
    std::vector<std::string> conjuncts;
    for (size_t j = 0; j < i; ++j) {
      conjuncts.push_back(Equal(order.keys[j], cursor.values[j], params));
    }
    std::string after = After(order.keys[i], cursor.values[i], params);
    if (after.empty()) continue;  // nothing sorts after NULL descending
    conjuncts.push_back(std::move(after));
    disjuncts.push_back(
        conjuncts.size() == 1
            ? conjuncts[0]
            : absl::StrCat("(", absl::StrJoin(conjuncts, " AND "), ")"));
    for (SqlParam& p : params) out.params.push_back(std::move(p));
  }
  if (disjuncts.empty()) {
    out.sql = "(FALSE)";
    return out;
  }
  std::string sql = absl::StrCat("(", absl::StrJoin(disjuncts, " OR "), ")");
  // A redundant bound on the first key lets the optimizer use a range scan
  // on its index even though the OR form above is hard for it to see through.
  const SortKey& first = order.keys[0];
  const SqlParam& v0 = cursor.values[0];
  if (order.keys.size() > 1 && !first.nullable &&
      !std::holds_alternative<std::monostate>(v0)) {
    std::vector<SqlParam> params{v0};
    for (SqlParam& p : out.params) params.push_back(std::move(p));
    out.params = std::move(params);
    sql = absl::StrCat("(", first.column, first.descending ? " <= ?" : " >= ?",
                       " AND ", sql, ")");
  }
  out.sql = std::move(sql);
  return out;
}

uint64_t RequestFingerprint(absl::string_view request) {
  return Fnv1a(request);
}

std::string RequestDescription(
    const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    // Length-prefixed, so no choice of values can make two requests collide
    // textually.
    absl::StrAppend(&out, name.size(), ":", name, "=", value.size(), ":", value,
                    ";");
  }
  return out;
}

std::string EncodePageToken(const Cursor& cursor, absl::string_view request) {
  std::string body;
  body.push_back(static_cast<char>(kPageTokenVersion));
  PutFixed64(body, RequestFingerprint(request));
  PutVarint(body, cursor.values.size());
  for (const SqlParam& v : cursor.values) {
    if (std::holds_alternative<std::monostate>(v)) {
      body.push_back(kTagNull);
    } else if (const bool* b = std::get_if<bool>(&v)) {
      body.push_back(kTagBool);
      body.push_back(*b ? 1 : 0);
    } else if (const int64_t* n = std::get_if<int64_t>(&v)) {
      body.push_back(kTagInt64);
      PutVarint(body, ZigZag(*n));
    } else if (const double* d = std::get_if<double>(&v)) {
      body.push_back(kTagDouble);
      uint64_t bits;
      std::memcpy(&bits, d, sizeof bits);
      PutFixed64(body, bits);
    } else {
      const std::string& s = std::get<std::string>(v);
      body.push_back(kTagString);
      PutVarint(body, s.size());
      body.append(s);
    }
  }
  if (cursor.total_size.has_value()) {
    body.push_back(kTagTotalSize);
    PutVarint(body, ZigZag(*cursor.total_size));
  }
  PutFixed64(body, Fnv1a(body));
  std::string token;
  absl::WebSafeBase64Escape(body, &token);  // no padding
  return token;
}

absl::StatusOr<Cursor> DecodePageToken(absl::string_view token,
                                       absl::string_view request) {
  if (token.empty()) return TokenError("empty token");
  if (token.size() > kMaxPageTokenLength) {
    return TokenError("too long to be a page token from this server");
  }
  std::string body;
  // Tokens are made without padding; accepting '=' would give one token
  // several spellings.
  if (absl::StrContains(token, '=') ||
      !absl::WebSafeBase64Unescape(token, &body) || body.size() < 1 + 8 + 8) {
    return TokenError(
        "not a page token from this server (it must be passed back exactly "
        "as next_page_token returned it)");
  }
  absl::string_view payload(body.data(), body.size() - 8);
  Reader trailer(absl::string_view(body).substr(body.size() - 8));
  uint64_t checksum = 0;
  if (!trailer.Fixed64(checksum) || checksum != Fnv1a(payload)) {
    return TokenError("corrupt page token (checksum mismatch)");
  }
  Reader r(payload);
  uint8_t version = 0;
  uint64_t fingerprint = 0;
  if (!r.Byte(version) || version != kPageTokenVersion) {
    return TokenError(absl::StrCat("unsupported page token version ", version,
                                   "; restart the listing without page_token"));
  }
  if (!r.Fixed64(fingerprint) || fingerprint != RequestFingerprint(request)) {
    return absl::InvalidArgumentError(
        "page_token does not match the request: filter, query, order_by and "
        "show_deleted must stay the same between pages");
  }
  uint64_t count = 0;
  const absl::Status malformed = TokenError("malformed page token");
  if (!r.Varint(count) || count > 64) return malformed;
  Cursor cursor;
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t tag = 0;
    if (!r.Byte(tag)) return malformed;
    switch (tag) {
      case kTagNull:
        cursor.values.emplace_back(std::monostate{});
        break;
      case kTagBool: {
        uint8_t b = 0;
        if (!r.Byte(b) || b > 1) return malformed;
        cursor.values.emplace_back(b == 1);
        break;
      }
      case kTagInt64: {
        uint64_t z = 0;
        if (!r.Varint(z)) return malformed;
        cursor.values.emplace_back(UnZigZag(z));
        break;
      }
      case kTagDouble: {
        uint64_t bits = 0;
        if (!r.Fixed64(bits)) return malformed;
        double d;
        std::memcpy(&d, &bits, sizeof d);
        cursor.values.emplace_back(d);
        break;
      }
      case kTagString: {
        uint64_t n = 0;
        std::string s;
        if (!r.Varint(n) || !r.Bytes(n, s)) return malformed;
        cursor.values.emplace_back(std::move(s));
        break;
      }
      default:
        return malformed;
    }
  }
  if (!r.done()) {
    uint8_t tag = 0;
    uint64_t z = 0;
    if (!r.Byte(tag) || tag != kTagTotalSize || !r.Varint(z)) return malformed;
    cursor.total_size = UnZigZag(z);
    if (*cursor.total_size < 0 || !r.done()) return malformed;
  }
  return cursor;
}

}  // namespace rapport::query
