#include "server/common/time_util.h"

#include "absl/strings/str_cat.h"

namespace rapport {

absl::Time MinStorableTime() {
  return absl::FromCivil(absl::CivilSecond(1000, 1, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

absl::Time MaxStorableTime() {
  return absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59),
                         absl::UTCTimeZone());
}

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

std::string ToSqlDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseSqlDateTime(absl::string_view text) {
  absl::Time t;
  std::string err;
  // The server omits the fraction when it is zero in some versions, %E*S
  // accepts both.
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t,
                       &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad DATETIME value \"", text, "\": ", err));
  }
  return t;
}

google::protobuf::Timestamp ToStoredTimestamp(absl::Time t) {
  absl::StatusOr<absl::Time> stored = ParseSqlDateTime(ToSqlDateTime(t));
  return ToTimestamp(stored.ok() ? *stored : t);
}

std::string ToRfc3339(absl::Time t) {
  // "Z" rather than "+00:00", as protobuf's JSON mapping writes UTC.
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text,
                     "\" is not an RFC 3339 timestamp such as "
                     "\"2024-05-01T12:00:00Z\""));
  }
  return t;
}

bool IsStorableTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) return false;
  const absl::Time t = ToAbslTime(ts);
  return t >= MinStorableTime() && t <= MaxStorableTime();
}

}  // namespace rapport
