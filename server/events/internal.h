// Helpers shared by the dispatcher and the scheduler; not part of their API.
// Thread-safe (pure functions).
#ifndef RAPPORT_SERVER_EVENTS_INTERNAL_H_
#define RAPPORT_SERVER_EVENTS_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/utf8.h"

namespace rapport::storage {
class Connection;
class Database;
}  // namespace rapport::storage

namespace rapport::events::internal {

// Database::Run without the readiness gate: the dispatcher and the scheduler
// start once migrations are applied, which may be just before the server
// calls Database::SetReady, and must not fail in between. SQL exceptions
// become a status prefixed with `what`, as in Database::Run.
absl::Status Run(storage::Database& db, absl::string_view what,
                 absl::FunctionRef<absl::Status(storage::Connection&)> fn);

// The longest error text stored (the last_error columns are VARCHAR(2000)).
inline constexpr size_t kMaxErrorBytes = 2000;

// `text` as valid UTF-8 (each ill-formed byte becomes '?') of at most
// `max_bytes` bytes, cut between characters.
inline std::string SanitizeUtf8(absl::string_view text,
                                size_t max_bytes = kMaxErrorBytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  while (!text.empty()) {
    size_t n = DecodeUtf8(text);
    const bool valid = n > 0;
    if (!valid) n = 1;
    const size_t add = valid ? n : 1;
    if (out.size() + add > max_bytes) break;
    if (valid) {
      out.append(text.data(), n);
    } else {
      out.push_back('?');
    }
    text.remove_prefix(n);
  }
  return out;
}

// "CODE: message" of a failed status, stored as last_error.
inline std::string ErrorText(const absl::Status& status) {
  std::string text = absl::StatusCodeToString(status.code());
  if (!status.message().empty()) {
    text += ": ";
    text.append(status.message().data(), status.message().size());
  }
  return SanitizeUtf8(text);
}

// Whole microseconds, for "NOW(6) + INTERVAL ? MICROSECOND".
inline int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// Printable ASCII, 1..190 bytes: what the VARCHAR(190) ASCII key columns
// (subscriber, job) hold.
inline bool IsValidKeyName(absl::string_view name) {
  if (name.empty() || name.size() > 190) return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace rapport::events::internal

#endif  // RAPPORT_SERVER_EVENTS_INTERNAL_H_
