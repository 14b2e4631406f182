#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/common/utf8.h"

namespace rapport {
namespace {

TEST(TimeUtilTest, SqlDateTimeRoundTripKeepsMicroseconds) {
  const absl::Time t = absl::FromUnixMicros(1714564800123456);
  EXPECT_EQ(ToSqlDateTime(t), "2024-05-01 12:00:00.123456");
  auto back = ParseSqlDateTime("2024-05-01 12:00:00.123456");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
}

TEST(TimeUtilTest, SqlDateTimeWithoutFraction) {
  auto t = ParseSqlDateTime("2024-05-01 12:00:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(absl::ToUnixSeconds(*t), 1714564800);
}

TEST(TimeUtilTest, StoredTimestampKeepsWholeMicroseconds) {
  const absl::Time t = absl::FromUnixNanos(1714564800123456789);
  const google::protobuf::Timestamp stored = ToStoredTimestamp(t);
  EXPECT_EQ(stored.seconds(), 1714564800);
  EXPECT_EQ(stored.nanos(), 123456000);
}

TEST(TimeUtilTest, BadSqlDateTimeIsInvalidArgument) {
  EXPECT_EQ(ParseSqlDateTime("yesterday").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimeUtilTest, Rfc3339WithOffsetIsConvertedToUtc) {
  auto t = ParseRfc3339("2024-05-01T14:00:00+02:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ToRfc3339(*t), "2024-05-01T12:00:00Z");
  EXPECT_EQ(ParseRfc3339("2024-05-01").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimeUtilTest, TimestampRoundTrip) {
  const absl::Time t = absl::FromUnixNanos(1714564800123456789);
  EXPECT_EQ(ToAbslTime(ToTimestamp(t)), t);
}

TEST(TimeUtilTest, StorableRange) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(0);
  EXPECT_TRUE(IsStorableTimestamp(ts));
  ts.set_nanos(-1);
  EXPECT_FALSE(IsStorableTimestamp(ts));
  ts.set_nanos(0);
  ts.set_seconds(absl::ToUnixSeconds(MaxStorableTime()) + 1);
  EXPECT_FALSE(IsStorableTimestamp(ts));
}

TEST(LoggingTest, JsonEscaping) {
  std::string out;
  log::AppendJsonEscaped("a\"b\\c\nd\x01", &out);
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001");
}

TEST(LoggingTest, ParseLevel) {
  log::Level level;
  EXPECT_TRUE(log::ParseLevel("warning", &level));
  EXPECT_EQ(level, log::Level::kWarning);
  EXPECT_FALSE(log::ParseLevel("loud", &level));
}

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  RAPPORT_ASSIGN_OR_RETURN(int half, Half(n));
  RAPPORT_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RAPPORT_RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rapport

namespace rapport {
namespace {

TEST(Utf8Test, DecodesWellFormedAndRefusesIllFormed) {
  uint32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("a", &cp), 1u);
  EXPECT_EQ(cp, 0x61u);
  EXPECT_EQ(DecodeUtf8("\xC3\xA9", &cp), 2u);  // é
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80x", &cp), 4u);  // 😀
  EXPECT_EQ(cp, 0x1F600u);
  EXPECT_EQ(DecodeUtf8(""), 0u);
  EXPECT_EQ(DecodeUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(DecodeUtf8("\xED\xA0\x80"), 0u);      // surrogate
  EXPECT_EQ(DecodeUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(DecodeUtf8("\xE2\x82"), 0u);          // truncated
  EXPECT_EQ(DecodeUtf8("\x80"), 0u);              // lone continuation
}

TEST(Utf8Test, PrefixNeverSplitsACharacter) {
  EXPECT_EQ(Utf8Prefix("abc", 5), "abc");
  EXPECT_EQ(Utf8Prefix("abc", 2), "ab");
  // "a" + é (2 bytes): a cut after byte 2 would split é.
  EXPECT_EQ(Utf8Prefix("a\xC3\xA9", 2), "a");
  EXPECT_EQ(Utf8Prefix("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 7),
            "\xF0\x9F\x98\x80");
  EXPECT_EQ(Utf8Prefix("\xF0\x9F\x98\x80", 3), "");
}

}  // namespace
}  // namespace rapport
