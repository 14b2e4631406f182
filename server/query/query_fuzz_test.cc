// Randomized robustness checks: hostile input never crashes, hangs or yields
// anything but OK or INVALID_ARGUMENT. Deterministic seeds keep runs
// reproducible.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "server/query/filter_compiler.h"
#include "server/query/order_by.h"
#include "server/query/pagination.h"

namespace rapport::query {
namespace {

bool OkOrInvalid(const absl::Status& s) {
  return s.ok() || s.code() == absl::StatusCode::kInvalidArgument;
}

std::string RandomBytes(std::mt19937& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

// Random sequences of filter-like fragments reach much deeper into the
// parser than random bytes do.
std::string RandomFilter(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"(",
                                                   ")",
                                                   " AND ",
                                                   " OR ",
                                                   "NOT ",
                                                   "-",
                                                   " ",
                                                   "=",
                                                   "!=",
                                                   "<",
                                                   "<=",
                                                   ">",
                                                   ">=",
                                                   ":",
                                                   "\"",
                                                   "'",
                                                   "\\",
                                                   "*",
                                                   "company",
                                                   "tags",
                                                   "emails",
                                                   "attributes.plan",
                                                   "attributes",
                                                   "lifecycle_stage",
                                                   "LEAD",
                                                   "id",
                                                   "42",
                                                   "-7",
                                                   "true",
                                                   "create_time",
                                                   "2024-05-01T12:00:00Z",
                                                   "null",
                                                   "consent.email_opt_in",
                                                   "merged_into",
                                                   "x.y",
                                                   "\"a*b\"",
                                                   "'q'",
                                                   "é",
                                                   ".",
                                                   ",",
                                                   "type",
                                                   "PURCHASE",
                                                   "occur_time",
                                                   "amount.amount_minor"};
  std::uniform_int_distribution<size_t> count(0, 30);
  std::uniform_int_distribution<size_t> pick(0, kPieces.size() - 1);
  std::string s;
  for (size_t n = count(rng); n > 0; --n) s += kPieces[pick(rng)];
  return s;
}

TEST(QueryFuzz, CompileFilterRandomBytes) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    const std::string f = RandomBytes(rng, 64);
    for (const ResourceSchema* schema :
         {&ContactSchema(), &InteractionSchema()}) {
      const absl::Status s = CompileFilter(f, *schema).status();
      ASSERT_TRUE(OkOrInvalid(s)) << absl::CHexEscape(f) << ": " << s;
    }
  }
}

TEST(QueryFuzz, CompileFilterRandomGrammar) {
  std::mt19937 rng(777);
  int ok = 0;
  for (int i = 0; i < 50000; ++i) {
    const std::string f = RandomFilter(rng);
    for (const ResourceSchema* schema :
         {&ContactSchema(), &InteractionSchema()}) {
      absl::StatusOr<SqlFragment> out = CompileFilter(f, *schema);
      ASSERT_TRUE(OkOrInvalid(out.status())) << f << ": " << out.status();
      if (out.ok()) {
        ++ok;
        // Placeholders and params always agree.
        size_t marks = 0;
        for (char c : out->sql) marks += c == '?';
        ASSERT_EQ(marks, out->params.size()) << f;
      }
    }
  }
  EXPECT_GT(ok, 100);  // the generator does reach valid filters
}

TEST(QueryFuzz, OrderByRandom) {
  std::mt19937 rng(99);
  for (int i = 0; i < 20000; ++i) {
    const std::string o = RandomBytes(rng, 40);
    ASSERT_TRUE(OkOrInvalid(ParseOrderBy(o, ContactSchema()).status()));
  }
}

TEST(QueryFuzz, DecodePageTokenRandom) {
  std::mt19937 rng(4242);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> len(0, 80);
  const OrderBy order = *ParseOrderBy("create_time desc", ContactSchema());
  for (int i = 0; i < 20000; ++i) {
    std::string token;
    if (i % 2 == 0) {
      token = RandomBytes(rng, 80);
    } else {
      for (size_t n = len(rng); n > 0; --n) token += alphabet[pick(rng)];
    }
    absl::StatusOr<Cursor> c = DecodePageToken(token, "req");
    ASSERT_TRUE(OkOrInvalid(c.status())) << absl::CHexEscape(token);
    if (c.ok()) {
      ASSERT_TRUE(OkOrInvalid(KeysetCondition(order, *c).status()));
    }
  }
  // Valid tokens with random bit flips.
  const std::string good = EncodePageToken(
      Cursor{{std::string("2024-05-01 12:00:00.000000"), int64_t{9}}}, "req");
  for (int i = 0; i < 5000; ++i) {
    std::string t = good;
    t[rng() % t.size()] = alphabet[pick(rng)];
    absl::StatusOr<Cursor> c = DecodePageToken(t, "req");
    ASSERT_TRUE(OkOrInvalid(c.status()));
    if (c.ok()) {
      ASSERT_TRUE(OkOrInvalid(KeysetCondition(order, *c).status()));
    }
  }
}

}  // namespace
}  // namespace rapport::query
