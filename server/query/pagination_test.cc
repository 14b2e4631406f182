#include "server/query/pagination.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query/query_test_util.h"

namespace rapport::query {
namespace {

using ::testing::ElementsAre;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

SqlParam S(const char* s) { return std::string(s); }
SqlParam I(int64_t n) { return n; }
const SqlParam kNull = std::monostate{};

OrderBy Order(absl::string_view text,
              const ResourceSchema& schema = ContactSchema()) {
  absl::StatusOr<OrderBy> o = ParseOrderBy(text, schema);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : OrderBy{};
}

TEST(ClampPageSize, Clamps) {
  EXPECT_EQ(*ClampPageSize(0), 50);
  EXPECT_EQ(*ClampPageSize(1), 1);
  EXPECT_EQ(*ClampPageSize(1000), 1000);
  EXPECT_EQ(*ClampPageSize(1001), 1000);
  EXPECT_EQ(*ClampPageSize(INT32_MAX), 1000);
  EXPECT_THAT(ClampPageSize(-1),
              StatusIs(kInvalid, "page_size must not be negative"));
  EXPECT_THAT(ClampPageSize(INT32_MIN),
              StatusIs(kInvalid, "page_size must not be negative"));
}

TEST(KeysetCondition, IdOnly) {
  absl::StatusOr<SqlFragment> f = KeysetCondition(Order("id"), Cursor{{I(10)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql, "(c.id > ?)");
  EXPECT_THAT(f->params, ElementsAre(I(10)));
  f = KeysetCondition(Order("id desc"), Cursor{{I(10)}});
  EXPECT_EQ(f->sql, "(c.id < ?)");
}

TEST(KeysetCondition, AscendingTwoKeys) {
  absl::StatusOr<SqlFragment> f = KeysetCondition(
      Order("create_time"), Cursor{{S("2024-05-01 12:00:00.000000"), I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "(c.create_time >= ? AND (c.create_time > ? OR (c.create_time = ? "
            "AND c.id > ?)))");
  EXPECT_THAT(f->params, ElementsAre(S("2024-05-01 12:00:00.000000"),
                                     S("2024-05-01 12:00:00.000000"),
                                     S("2024-05-01 12:00:00.000000"), I(7)));
}

TEST(KeysetCondition, DescendingDefaultInteractions) {
  absl::StatusOr<SqlFragment> f =
      KeysetCondition(Order("", InteractionSchema()),
                      Cursor{{S("2024-05-01 12:00:00.000000"), I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "(i.occur_time <= ? AND (i.occur_time < ? OR (i.occur_time = ? AND "
            "i.id < ?)))");
}

TEST(KeysetCondition, MixedDirections) {
  absl::StatusOr<SqlFragment> f =
      KeysetCondition(Order("company desc, given_name, id"),
                      Cursor{{S("Acme"), S("Ann"), I(3)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "(c.company <= ? AND (c.company < ? OR (c.company = ? AND "
            "c.given_name > ?) OR (c.company = ? AND c.given_name = ? AND c.id "
            "> ?)))");
  EXPECT_THAT(f->params, ElementsAre(S("Acme"), S("Acme"), S("Acme"), S("Ann"),
                                     S("Acme"), S("Ann"), I(3)));
}

TEST(KeysetCondition, NullableAscending) {
  const OrderBy order = Order("last_interaction_time");
  // Non-NULL cursor: NULLs sort first, so none of them are after it.
  absl::StatusOr<SqlFragment> f =
      KeysetCondition(order, Cursor{{S("2024-05-01 12:00:00.000000"), I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "(c.last_interaction_time > ? OR (c.last_interaction_time = ? AND "
            "c.id > ?))");
  // NULL cursor: every non-NULL row, and NULL rows with a larger id.
  f = KeysetCondition(order, Cursor{{kNull, I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "(c.last_interaction_time IS NOT NULL OR (c.last_interaction_time "
            "IS NULL AND c.id > ?))");
  EXPECT_THAT(f->params, ElementsAre(I(7)));
}

TEST(KeysetCondition, NullableDescending) {
  const OrderBy order = Order("last_interaction_time desc");
  absl::StatusOr<SqlFragment> f =
      KeysetCondition(order, Cursor{{S("2024-05-01 12:00:00.000000"), I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql,
            "((c.last_interaction_time < ? OR c.last_interaction_time IS NULL) "
            "OR (c.last_interaction_time = ? AND c.id < ?))");
  // NULLs sort last descending: after a NULL only NULLs with smaller ids.
  f = KeysetCondition(order, Cursor{{kNull, I(7)}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sql, "((c.last_interaction_time IS NULL AND c.id < ?))");
  EXPECT_THAT(f->params, ElementsAre(I(7)));
}

// Simulates MySQL's ordering and the keyset condition on in-memory rows:
// walking pages must visit every row exactly once, in order.
TEST(KeysetCondition, SimulatedPagingVisitsEveryRowOnce) {
  struct Row {
    std::optional<int64_t> t;  // nullable key
    int64_t id;
  };
  std::vector<Row> rows;
  for (int64_t id = 1; id <= 40; ++id) {
    rows.push_back(
        {id % 4 == 0 ? std::nullopt : std::optional<int64_t>(id % 5), id});
  }
  for (bool desc : {false, true}) {
    // MySQL: NULL is smallest; DESC reverses everything.
    auto less = [desc](const Row& a, const Row& b) {
      auto key = [](const Row& r) {
        return std::make_tuple(r.t.has_value(), r.t.value_or(0), r.id);
      };
      return desc ? key(b) < key(a) : key(a) < key(b);
    };
    std::vector<Row> sorted = rows;
    std::sort(sorted.begin(), sorted.end(), less);
    // "after" per the documented condition semantics.
    auto after = [desc](const Row& r, const Row& c) {
      auto key_after = [&](bool r_null, int64_t rv, bool c_null, int64_t cv) {
        if (!desc) return c_null ? !r_null : (!r_null && rv > cv);
        return c_null ? false : (r_null || rv < cv);
      };
      auto eq = [](bool r_null, int64_t rv, bool c_null, int64_t cv) {
        return c_null ? r_null : (!r_null && rv == cv);
      };
      const bool rn = !r.t.has_value(), cn = !c.t.has_value();
      return key_after(rn, r.t.value_or(0), cn, c.t.value_or(0)) ||
             (eq(rn, r.t.value_or(0), cn, c.t.value_or(0)) &&
              (desc ? r.id < c.id : r.id > c.id));
    };
    std::vector<int64_t> seen;
    std::optional<Row> cursor;
    for (int page = 0; page < 100; ++page) {
      std::vector<Row> batch;
      for (const Row& r : sorted) {
        if (!cursor || after(r, *cursor)) batch.push_back(r);
        if (batch.size() == 7) break;
      }
      if (batch.empty()) break;
      for (const Row& r : batch) seen.push_back(r.id);
      cursor = batch.back();
    }
    std::vector<int64_t> expected;
    for (const Row& r : sorted) expected.push_back(r.id);
    EXPECT_EQ(seen, expected) << "desc=" << desc;
  }
}

TEST(KeysetCondition, RejectsCursorThatDoesNotFit) {
  const OrderBy order = Order("create_time");
  EXPECT_THAT(KeysetCondition(order, Cursor{{I(1)}}),
              StatusIs(kInvalid, "page_token: the token does not fit"));
  EXPECT_THAT(KeysetCondition(order, Cursor{{I(1), I(2)}}),
              StatusIs(kInvalid, "page_token:"));
  EXPECT_THAT(KeysetCondition(order, Cursor{{kNull, I(2)}}),
              StatusIs(kInvalid, "page_token:"));
  EXPECT_THAT(KeysetCondition(order, Cursor{{S("not a time"), I(2)}}),
              StatusIs(kInvalid, "page_token:"));
  EXPECT_THAT(
      KeysetCondition(order, Cursor{{S("2024-05-01 12:00:00.000000"), kNull}}),
      StatusIs(kInvalid, "page_token:"));
}

TEST(CursorFromRowText, ConvertsByKeyType) {
  const OrderBy order = Order("last_interaction_time desc, company");
  absl::StatusOr<Cursor> c =
      CursorFromRowText(order, {std::string("2024-05-01 12:00:00"),
                                std::string("Acme"), std::string("42")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->values,
              ElementsAre(S("2024-05-01 12:00:00.000000"), S("Acme"), I(42)));
  c = CursorFromRowText(order,
                        {std::nullopt, std::string(""), std::string("1")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->values, ElementsAre(kNull, S(""), I(1)));
  EXPECT_THAT(CursorFromRowText(order, {std::nullopt}),
              StatusIs(absl::StatusCode::kInternal, "values for 3 sort keys"));
  EXPECT_THAT(
      CursorFromRowText(order, {std::nullopt, std::nullopt, std::string("1")}),
      StatusIs(absl::StatusCode::kInternal, "is NULL"));
  EXPECT_THAT(CursorFromRowText(
                  order, {std::nullopt, std::string("a"), std::string("x")}),
              StatusIs(absl::StatusCode::kInternal, "not an integer"));
}

const std::string kRequest =
    RequestDescription({{"filter", "tags:vip"},
                        {"query", ""},
                        {"order_by", "create_time desc"},
                        {"show_deleted", "0"}});

TEST(PageToken, RoundTripsEveryValueKind) {
  const Cursor cursor{{kNull, SqlParam(true), SqlParam(false), I(0), I(-1),
                       I(INT64_MIN), I(INT64_MAX), SqlParam(3.25), S(""),
                       S("2024-05-01 12:00:00.000000"),
                       SqlParam(std::string("a\0b\xff", 4))}};
  const std::string token = EncodePageToken(cursor, kRequest);
  EXPECT_FALSE(token.empty());
  for (char ch : token) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(ch)) ||
                ch == '-' || ch == '_')
        << token;
  }
  absl::StatusOr<Cursor> back = DecodePageToken(token, kRequest);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->values, cursor.values);

  const Cursor binary{{S(""), SqlParam(std::string("x\0y", 3))}};
  back = DecodePageToken(EncodePageToken(binary, kRequest), kRequest);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->values, binary.values);
}

TEST(PageToken, CarriesTheListingsTotalSize) {
  const Cursor plain{{I(5)}};
  absl::StatusOr<Cursor> back =
      DecodePageToken(EncodePageToken(plain, kRequest), kRequest);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->total_size, std::nullopt);  // tokens made without a total

  for (int64_t total :
       {int64_t{0}, int64_t{1}, int64_t{2857}, int64_t{1} << 40, INT64_MAX}) {
    const Cursor with{{I(5)}, total};
    const std::string token = EncodePageToken(with, kRequest);
    back = DecodePageToken(token, kRequest);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->values, with.values);
    EXPECT_EQ(back->total_size, total);
    // The total is covered by the checksum like the rest of the token.
    std::string body;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &body));
    body[body.size() - 9] ^= 0x01;  // the total's last byte
    std::string tampered;
    absl::WebSafeBase64Escape(body, &tampered);
    EXPECT_FALSE(DecodePageToken(tampered, kRequest).ok());
  }
}

TEST(PageToken, FingerprintMismatch) {
  const std::string token = EncodePageToken(Cursor{{I(5)}}, kRequest);
  const std::string other =
      RequestDescription({{"filter", "tags:gold"},
                          {"query", ""},
                          {"order_by", "create_time desc"},
                          {"show_deleted", "0"}});
  EXPECT_THAT(DecodePageToken(token, other),
              StatusIs(kInvalid,
                       "page_token does not match the request: filter, query, "
                       "order_by and show_deleted must stay the same between "
                       "pages"));
  // Length-prefixing keeps shifted boundaries apart.
  EXPECT_NE(RequestDescription({{"a", "b;c"}, {"d", ""}}),
            RequestDescription({{"a", "b"}, {"c;d", ""}}));
  EXPECT_NE(RequestFingerprint(kRequest), RequestFingerprint(other));
}

TEST(PageToken, TamperingIsDetected) {
  const std::string token = EncodePageToken(
      Cursor{{S("2024-05-01 12:00:00.000000"), I(77)}}, kRequest);
  std::string body;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &body));
  for (size_t i = 0; i < body.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = body;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape(bad), kRequest),
                  StatusIs(kInvalid,
                           "page_token: corrupt page token "
                           "(checksum mismatch)"))
          << "byte " << i << " bit " << bit;
    }
  }
  // Flipping a character of the text form also fails.
  std::string bad_text = token;
  bad_text[3] = bad_text[3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(DecodePageToken(bad_text, kRequest),
              StatusIs(kInvalid, "page_token:"));
  // Truncation fails.
  EXPECT_THAT(DecodePageToken(token.substr(0, token.size() - 2), kRequest),
              StatusIs(kInvalid, "page_token:"));
}

TEST(PageToken, DistinctErrors) {
  EXPECT_THAT(DecodePageToken("", kRequest),
              StatusIs(kInvalid, "page_token: empty token"));
  EXPECT_THAT(DecodePageToken("not base64!!", kRequest),
              StatusIs(kInvalid,
                       "page_token: not a page token from this "
                       "server"));
  EXPECT_THAT(DecodePageToken("abc", kRequest),
              StatusIs(kInvalid, "page_token: not a page token"));
  EXPECT_THAT(DecodePageToken(std::string(5000, 'A'), kRequest),
              StatusIs(kInvalid, "page_token: too long"));

  // A well-formed token of a future version.
  std::string body;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(
      EncodePageToken(Cursor{{I(1)}}, kRequest), &body));
  body[0] = 9;
  body.resize(body.size() - 8);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>(h >> (8 * i)));
  EXPECT_THAT(DecodePageToken(absl::WebSafeBase64Escape(body), kRequest),
              StatusIs(kInvalid,
                       "page_token: unsupported page token version "
                       "9"));
}

}  // namespace
}  // namespace rapport::query
