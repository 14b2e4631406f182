#include "server/query/filter_parser.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query/query_test_util.h"

namespace rapport::query {
namespace {

using ::testing::HasSubstr;

// A compact rendering of the tree: AND(a=1, OR(b=2, NOT(c:3))).
std::string Render(const FilterNode& n) {
  switch (n.kind) {
    case FilterNode::Kind::kAnd:
    case FilterNode::Kind::kOr: {
      std::vector<std::string> parts;
      for (const FilterNode& c : n.children) parts.push_back(Render(c));
      return absl::StrCat(n.kind == FilterNode::Kind::kAnd ? "AND(" : "OR(",
                          absl::StrJoin(parts, ", "), ")");
    }
    case FilterNode::Kind::kNot:
      return absl::StrCat("NOT(", Render(n.children[0]), ")");
    case FilterNode::Kind::kComparison:
      return absl::StrCat(n.field, ComparatorText(n.op),
                          n.value.quoted ? "'" : "", n.value.text,
                          n.value.quoted ? "'" : "");
  }
  return "?";
}

std::string Parse(absl::string_view text) {
  absl::StatusOr<ParsedFilter> p = ParseFilter(text);
  if (!p.ok()) return absl::StrCat("ERROR: ", p.status().message());
  if (p->empty) return "<empty>";
  return Render(p->root);
}

absl::Status ParseError(absl::string_view text) {
  return ParseFilter(text).status();
}

TEST(FilterParser, EmptyAndBlank) {
  EXPECT_EQ(Parse(""), "<empty>");
  EXPECT_EQ(Parse("   \t\n "), "<empty>");
}

TEST(FilterParser, EveryComparator) {
  EXPECT_EQ(Parse("a = 1"), "a=1");
  EXPECT_EQ(Parse("a != 1"), "a!=1");
  EXPECT_EQ(Parse("a < 1"), "a<1");
  EXPECT_EQ(Parse("a <= 1"), "a<=1");
  EXPECT_EQ(Parse("a > 1"), "a>1");
  EXPECT_EQ(Parse("a >= 1"), "a>=1");
  EXPECT_EQ(Parse("a : 1"), "a:1");
  EXPECT_EQ(Parse("a:1"), "a:1");
  EXPECT_EQ(Parse("a>=1"), "a>=1");
  EXPECT_EQ(Parse("a!=1"), "a!=1");
}

TEST(FilterParser, OrBindsTighterThanAnd) {
  EXPECT_EQ(Parse("a=1 AND b=2 OR c=3"), "AND(a=1, OR(b=2, c=3))");
  EXPECT_EQ(Parse("a=1 OR b=2 AND c=3"), "AND(OR(a=1, b=2), c=3)");
  EXPECT_EQ(Parse("a=1 OR b=2 OR c=3"), "OR(a=1, b=2, c=3)");
  EXPECT_EQ(Parse("(a=1 AND b=2) OR c=3"), "OR(AND(a=1, b=2), c=3)");
}

TEST(FilterParser, ImplicitAnd) {
  EXPECT_EQ(Parse("a=1 b=2"), "AND(a=1, b=2)");
  EXPECT_EQ(Parse("a=1 b=2 OR c=3"), "AND(a=1, OR(b=2, c=3))");
  EXPECT_EQ(Parse("a=1 b=2 AND c=3"), "AND(a=1, b=2, c=3)");
  EXPECT_EQ(Parse("a=1 (b=2)"), "AND(a=1, b=2)");
}

TEST(FilterParser, Negation) {
  EXPECT_EQ(Parse("NOT a=1"), "NOT(a=1)");
  EXPECT_EQ(Parse("-a=1"), "NOT(a=1)");
  EXPECT_EQ(Parse("NOT (a=1 OR b=2)"), "NOT(OR(a=1, b=2))");
  EXPECT_EQ(Parse("NOT(a=1)"), "NOT(a=1)");
  EXPECT_EQ(Parse("NOT a=1 OR b=2"), "OR(NOT(a=1), b=2)");
  EXPECT_EQ(Parse("a=1 -b=2"), "AND(a=1, NOT(b=2))");
  EXPECT_EQ(Parse("NOT NOT a=1"), "NOT(NOT(a=1))");
  // A negative number is a value, not a negation.
  EXPECT_EQ(Parse("a = -5"), "a=-5");
  // Keywords are upper case only; "not" is a field name.
  EXPECT_EQ(Parse("not = 1"), "not=1");
  EXPECT_EQ(Parse("NOTa = 1"), "NOTa=1");
}

TEST(FilterParser, NestedParenthesesFlatten) {
  EXPECT_EQ(Parse("((a=1))"), "a=1");
  EXPECT_EQ(Parse("a=1 AND (b=2 AND c=3)"), "AND(a=1, b=2, c=3)");
}

TEST(FilterParser, FieldPaths) {
  EXPECT_EQ(Parse("attributes.plan = gold"), "attributes.plan=gold");
  EXPECT_EQ(Parse("consent.email_opt_in = true"), "consent.email_opt_in=true");
  EXPECT_EQ(Parse("amount.currency_code = \"EUR\""),
            "amount.currency_code='EUR'");
  EXPECT_THAT(ParseError("a..b = 1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid field name \"a..b\" at position 1"));
  EXPECT_THAT(ParseError("a. = 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid field"));
  EXPECT_THAT(ParseError(".a = 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid field"));
  EXPECT_THAT(ParseError("1a = 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid field"));
}

TEST(FilterParser, QuotedStringsAndEscapes) {
  EXPECT_EQ(Parse(R"(a = "hello world")"), "a='hello world'");
  EXPECT_EQ(Parse(R"(a = 'single')"), "a='single'");
  EXPECT_EQ(Parse(R"(a = "say \"hi\"")"), R"(a='say "hi"')");
  EXPECT_EQ(Parse(R"(a = 'it\'s')"), "a='it's'");
  EXPECT_EQ(Parse(R"(a = "back\\slash")"), R"(a='back\slash')");
  EXPECT_EQ(Parse(R"(a = "AND")"), "a='AND'");
  EXPECT_EQ(Parse(R"(a = "")"), "a=''");
  EXPECT_EQ(Parse("a = \"(x)\""), "a='(x)'");
  absl::StatusOr<ParsedFilter> p = ParseFilter(R"(a = "tab\tnl\n")");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->root.value.text, "tab\tnl\n");
}

TEST(FilterParser, Wildcards) {
  absl::StatusOr<ParsedFilter> p = ParseFilter(R"(a = "ab*c\*d")");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->root.value.text, "ab*c*d");
  EXPECT_THAT(p->root.value.wildcards, ::testing::ElementsAre(2));
  p = ParseFilter("a = *x*");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->root.value.wildcards, ::testing::ElementsAre(0, 2));
}

TEST(FilterParser, BareValues) {
  EXPECT_EQ(Parse("t > 2024-05-01T12:00:00Z"), "t>2024-05-01T12:00:00Z");
  EXPECT_EQ(Parse("t>2024-05-01T12:00:00+02:00 x=1"),
            "AND(t>2024-05-01T12:00:00+02:00, x=1)");
  EXPECT_EQ(Parse("e = a@b.com"), "e=a@b.com");
  EXPECT_EQ(Parse("n = 3.5"), "n=3.5");
  EXPECT_EQ(Parse("(a=1)"), "a=1");
  EXPECT_EQ(Parse("(a=x)"), "a=x");
  absl::StatusOr<ParsedFilter> p = ParseFilter("a = true");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->root.value.quoted);
  EXPECT_EQ(p->root.value.offset, 4u);
}

TEST(FilterParser, ErrorsNamePosition) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ParseError("a = 1 AND b = 2)"),
              StatusIs(kInvalid,
                       "filter: unexpected \")\" with no matching "
                       "\"(\" at position 16"));
  EXPECT_THAT(ParseError("(a = 1"),
              StatusIs(kInvalid,
                       "missing \")\" to close the \"(\" at "
                       "position 1"));
  EXPECT_THAT(ParseError("a = 1 AND"),
              StatusIs(kInvalid, "unexpected end of filter at position 10"));
  EXPECT_THAT(ParseError("AND a = 1"),
              StatusIs(kInvalid, "unexpected \"AND\" at position 1"));
  EXPECT_THAT(ParseError("a = 1 OR OR b = 2"),
              StatusIs(kInvalid, "unexpected \"OR\" at position 10"));
  EXPECT_THAT(ParseError("a ="),
              StatusIs(kInvalid,
                       "expected a value after \"=\", got end of "
                       "filter at position 4"));
  EXPECT_THAT(ParseError("a = )"),
              StatusIs(kInvalid,
                       "expected a value after \"=\", got \")\" at "
                       "position 5"));
  EXPECT_THAT(ParseError("a = AND"),
              StatusIs(kInvalid, "got \"AND\" at position 5"));
  EXPECT_THAT(ParseError("a == 1"),
              StatusIs(kInvalid, "got \"=\" at position 4"));
  EXPECT_THAT(ParseError("prod"),
              StatusIs(kInvalid, "expected a comparison operator"));
  EXPECT_THAT(ParseError("a = 1 prod"),
              StatusIs(kInvalid, "after \"prod\" at position 7"));
  EXPECT_THAT(ParseError("\"x\" = 1"),
              StatusIs(kInvalid, "expected a field name"));
  EXPECT_THAT(ParseError("a = \"abc"),
              StatusIs(kInvalid,
                       "unterminated string starting with "
                       "\"\\\"abc\" at position 5"));
  EXPECT_THAT(ParseError("a = \"abc\\"),
              StatusIs(kInvalid, "unterminated string"));
  EXPECT_THAT(ParseError("a = \"x\\qy\""),
              StatusIs(kInvalid, "invalid escape \"\\\\q\" at position 7"));
  EXPECT_THAT(ParseError("a = 1 & b = 2"),
              StatusIs(kInvalid, "unexpected character \"&\" at position 7"));
  EXPECT_THAT(ParseError("()"),
              StatusIs(kInvalid, "empty parentheses \"()\" at position 2"));
  EXPECT_THAT(ParseError("a = 1 ! b"),
              StatusIs(kInvalid, "unexpected character \"!\" at position 7"));
  EXPECT_THAT(ParseError("NOT"), StatusIs(kInvalid, "unexpected end"));
  EXPECT_THAT(ParseError("-"), StatusIs(kInvalid, "unexpected end"));
}

TEST(FilterParser, PositionsCountCharactersNotBytes) {
  // "é" is two bytes in UTF-8 but one character.
  EXPECT_THAT(ParseError("a = \"é\" )"),
              StatusIs(absl::StatusCode::kInvalidArgument, "position 9"));
  EXPECT_THAT(ParseError("a = 1 €"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unexpected character \"€\" at position 7"));
}

TEST(FilterParser, ErrorQuotesKeepCharactersWhole) {
  // The message quotes the first 20 bytes of the string; byte 20 is inside
  // the 10th "é", which must not be split (the message would not be UTF-8).
  EXPECT_THAT(
      ParseError(
          "a = \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "unterminated string starting with \"\\\""
               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
               "\xc3\xa9\xc3\xa9\" at position 5"));
  // Same for the character after a backslash in an invalid escape.
  EXPECT_THAT(ParseError("a = \"x\\\xc3\xa9\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "invalid escape \"\\\\\xc3\xa9\" at position 7"));
}

TEST(FilterParser, DepthLimit) {
  std::string ok_filter;
  for (int i = 0; i < kMaxFilterDepth - 1; ++i) ok_filter += "(";
  ok_filter += "a=1";
  for (int i = 0; i < kMaxFilterDepth - 1; ++i) ok_filter += ")";
  EXPECT_EQ(Parse(ok_filter), "a=1");

  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "(";
  deep += "a=1";
  for (int i = 0; i < 1000; ++i) deep += ")";
  EXPECT_THAT(ParseError(deep), StatusIs(absl::StatusCode::kInvalidArgument,
                                         "nesting deeper than 64"));

  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  nots += "a=1";
  EXPECT_THAT(ParseError(nots), StatusIs(absl::StatusCode::kInvalidArgument,
                                         "nesting deeper than 64"));
  std::string minuses(2000, '-');
  minuses += "a=1";
  EXPECT_THAT(ParseError(minuses),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "nesting deeper than 64 levels of parentheses and "
                       "negations at position 65"));
}

TEST(FilterParser, LengthLimit) {
  std::string long_filter = "a = \"" + std::string(5000, 'x') + "\"";
  EXPECT_THAT(ParseError(long_filter),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "filter: too long (5006 bytes); the limit is 4096"));
  // Many terms within the limit parse fine (flat, no recursion).
  std::string many;
  for (int i = 0; i < 500; ++i) many += "a=1 OR ";
  many += "a=2";
  ASSERT_LT(many.size(), kMaxFilterLength);
  EXPECT_TRUE(ParseFilter(many).ok());
}

}  // namespace
}  // namespace rapport::query
