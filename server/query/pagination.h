// Keyset pagination (AIP-158) without OFFSET: a cursor holds the sort-key
// values of the last row of a page, the next page is "rows strictly after
// the cursor" in the order of order_by.h, and the page token is the cursor
// plus a fingerprint of the request, checksummed and URL-safe base64 encoded.
// Rows inserted or deleted between pages never shift or repeat others.
// Thread-safe: pure functions.
//
// Page token format, version 1 (all integers little-endian):
//   u8  version (= 1)
//   u64 fingerprint: FNV-1a 64 of the caller's request description
//   varint value count, then per value a tag byte and payload:
//     0 NULL | 1 bool (u8) | 2 int64 (zigzag varint) | 3 double (u64 bits) |
//     4 string (varint length + bytes)
//   optional: tag byte 5 and zigzag varint: the listing's total_size,
//     counted on its first page and carried to the later ones
//   u64 checksum: FNV-1a 64 of everything before it
// The checksum detects corruption, not forgery: a forged token can only
// name a position in a listing the caller may read anyway, and
// KeysetCondition checks that the values fit the sort keys.
#ifndef RAPPORT_SERVER_QUERY_PAGINATION_H_
#define RAPPORT_SERVER_QUERY_PAGINATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/sql_param.h"
#include "server/query/order_by.h"

namespace rapport::query {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr size_t kMaxPageTokenLength = 4096;  // characters
inline constexpr uint8_t kPageTokenVersion = 1;

// Returns the page size to use: 0 -> kDefaultPageSize, larger than
// kMaxPageSize -> kMaxPageSize. Returns INVALID_ARGUMENT "page_size must not
// be negative" for negative sizes.
absl::StatusOr<int> ClampPageSize(int32_t requested);

// The sort-key values of the last row returned, one per OrderBy::keys entry
// and in that order: int64_t for SortType::kInt64, std::string for kString,
// std::string in ToSqlDateTime form for kTimestamp, std::monostate for NULL.
struct Cursor {
  std::vector<SqlParam> values;
  // The total size of the listing, counted once on its first page, so that
  // later pages need not count again (AIP-158: total_size may be an
  // estimate; this one is exact as of the first page).
  std::optional<int64_t> total_size = std::nullopt;
};

// Builds a cursor from the text of the key columns of a row as the MySQL
// client returns it (std::nullopt for NULL), in OrderBy::keys order.
// Returns INTERNAL if a value does not fit its key (a caller bug).
absl::StatusOr<Cursor> CursorFromRowText(
    const OrderBy& order, const std::vector<std::optional<std::string>>& row);

// The condition "row sorts strictly after `cursor`" under `order`, e.g. for
// (create_time DESC, id DESC):
//   (c.create_time <= ? AND (c.create_time < ? OR
//                            (c.create_time = ? AND c.id < ?)))
// NULLs sort first ascending and last descending, as in MySQL and MariaDB.
// AND it with the filter and keep `order.sql`. Returns INVALID_ARGUMENT
// ("page_token: ...") if the cursor does not fit the keys.
absl::StatusOr<SqlFragment> KeysetCondition(const OrderBy& order,
                                            const Cursor& cursor);

// FNV-1a 64 of `request`: a description of every request parameter that
// must stay the same between pages. Build it with RequestDescription.
uint64_t RequestFingerprint(absl::string_view request);

// Joins named request parameters unambiguously, e.g.
// RequestDescription({{"filter", f}, {"query", q}, {"order_by", o},
//                     {"show_deleted", "1"}, {"parent", ""}}).
std::string RequestDescription(
    const std::vector<std::pair<std::string, std::string>>& params);

// Encodes `cursor` with the fingerprint of `request` into an opaque,
// URL-safe token (never empty).
std::string EncodePageToken(const Cursor& cursor, absl::string_view request);

// Decodes a token made by EncodePageToken for the same `request`.
// REQUIRES: `token` is not empty (an empty token means "first page").
// Returns INVALID_ARGUMENT with a distinct "page_token..." message when the
// token is too long, not base64, corrupt (checksum), of another version,
// or made for a different request.
absl::StatusOr<Cursor> DecodePageToken(absl::string_view token,
                                       absl::string_view request);

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_PAGINATION_H_
