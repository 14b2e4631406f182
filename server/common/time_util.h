// Conversions between google.protobuf.Timestamp, absl::Time, RFC 3339 text and
// the SQL DATETIME(6) text the database stores. All times are UTC: every
// database session runs with time_zone '+00:00'. Thread-safe (pure functions).
#ifndef RAPPORT_SERVER_COMMON_TIME_UTIL_H_
#define RAPPORT_SERVER_COMMON_TIME_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace rapport {

// The earliest and latest instants we store (the DATETIME range, minus a
// margin): 1000-01-01 and 9999-12-31.
absl::Time MinStorableTime();
absl::Time MaxStorableTime();

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// "2024-05-01 12:00:00.123456", the text form of DATETIME(6), in UTC.
std::string ToSqlDateTime(absl::Time t);
// Parses the text MySQL/MariaDB return for a DATETIME(6) column.
// Returns INVALID_ARGUMENT if the text is not of that form.
absl::StatusOr<absl::Time> ParseSqlDateTime(absl::string_view text);
// `t` as a DATETIME(6) column gives it back (whole microseconds, through the
// same text round trip as ToSqlDateTime and ParseSqlDateTime): what a row
// written with `t` reads back as, without reading it.
google::protobuf::Timestamp ToStoredTimestamp(absl::Time t);

// "2024-05-01T12:00:00.123456Z".
std::string ToRfc3339(absl::Time t);
// Parses RFC 3339 ("2024-05-01T12:00:00Z", offsets and fractions allowed).
// Returns INVALID_ARGUMENT naming the text when it does not parse.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

// True if `ts` is a valid Timestamp within the storable range.
bool IsStorableTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_TIME_UTIL_H_
