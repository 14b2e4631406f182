#include "server/common/stored_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <map>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport {
namespace {

using rapport::v1::PostalAddress;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

StringMap MapOf(std::initializer_list<std::pair<std::string, std::string>> m) {
  StringMap map;
  for (const auto& [k, v] : m) map[k] = v;
  return map;
}

// protobuf's Map has no operator==.
std::map<std::string, std::string> Plain(const StringMap& map) {
  return {map.begin(), map.end()};
}

std::map<std::string, std::string> MustParseMap(const std::string& json) {
  StringMap map;
  const absl::Status status = ParseStringMapJson(json, &map);
  EXPECT_TRUE(status.ok()) << json << ": " << status;
  return Plain(map);
}

// What protobuf's own parser makes of `json` as a Struct of strings: the
// reference the fast reader must agree with.
std::map<std::string, std::string> ProtobufReads(const std::string& json) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok())
      << json;
  std::map<std::string, std::string> map;
  for (const auto& [k, v] : object.fields()) map[k] = v.string_value();
  return map;
}

TEST(StoredJsonTest, StringMapIsWrittenSortedAndEscaped) {
  EXPECT_EQ(StringMapToJson({}), "");
  EXPECT_EQ(StringMapToJson(MapOf({{"tier", "gold"}, {"a\"b", "x\\y\n\x01"}})),
            R"({"a\"b":"x\\y\n\u0001","tier":"gold"})");
}

TEST(StoredJsonTest, StringMapRoundTripsTrickyText) {
  const StringMap map =
      MapOf({{"quote", "say \"hi\""},
             {"backslash", "C:\\dir\\"},
             {"controls", std::string("\t\r\n\x1f\x7f\0x", 7)},
             {"utf8", "Grüße, 東京, 😀"},
             {"empty", ""},
             {"", "empty name"},
             {"slash", "</script>"}});
  const std::string json = StringMapToJson(map);
  EXPECT_EQ(MustParseMap(json), Plain(map));
  EXPECT_EQ(ProtobufReads(json), Plain(map));
}

TEST(StoredJsonTest, StringMapReadsOtherWritersSpacingAndEscapes) {
  // MariaDB's JSON_OBJECTAGG (the fallback read of the child table) puts
  // spaces after separators; protobuf's printer escapes some characters.
  EXPECT_THAT(MustParseMap(R"({"a": "b", "c":"\u00e9\ud83d\ude00\/"})"),
              UnorderedElementsAre(Pair("a", "b"), Pair("c", "é😀/")));
  google::protobuf::Struct object;
  (*object.mutable_fields())["k<&>"].set_string_value("v\u2028<tag>");
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(object, &json).ok());
  EXPECT_THAT(MustParseMap(json),
              UnorderedElementsAre(Pair("k<&>", "v\u2028<tag>")));
}

TEST(StoredJsonTest, StringMapValueThatIsNotAStringReadsEmpty) {
  const std::string json = R"({"n": 12, "t": true, "z": null, "s": "x"})";
  EXPECT_EQ(MustParseMap(json), ProtobufReads(json));
  EXPECT_THAT(MustParseMap(json),
              UnorderedElementsAre(Pair("n", ""), Pair("t", ""), Pair("z", ""),
                                   Pair("s", "x")));
}

TEST(StoredJsonTest, StringMapRejectsWhatIsNotAnObject) {
  for (const char* json : {"", "[]", "\"x\"", "{\"a\":", "{\"a\" \"b\"}"}) {
    StringMap map;
    EXPECT_EQ(ParseStringMapJson(json, &map).code(),
              absl::StatusCode::kInvalidArgument)
        << json;
  }
}

TEST(StoredJsonTest, StringMapReadsLargeDocuments) {
  // Past the size a thread's pooled parser takes.
  StringMap map;
  for (int i = 0; i < 100; ++i) {
    map[absl::StrCat("attribute_", i)] = std::string(1000, 'a' + i % 26);
  }
  const std::string json = StringMapToJson(map);
  ASSERT_GT(json.size(), 64 * 1024);
  EXPECT_EQ(MustParseMap(json), Plain(map));
  // A small one after it still reads through the pooled parser.
  EXPECT_THAT(MustParseMap(R"({"a":"b"})"),
              UnorderedElementsAre(Pair("a", "b")));
}

TEST(StoredJsonTest, StringMapRoundTripsRandomText) {
  // Code points from every UTF-8 length, escapes and JSON punctuation.
  const std::vector<std::string> pieces = {
      "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01",  "\x1f",
      "{", "}", ",", ":", "é",  "ß",  "€", "東", "😀",  "\u2028"};
  std::mt19937 random(20261124);
  auto text = [&] {
    std::string s;
    const int n = static_cast<int>(random() % 12);
    for (int i = 0; i < n; ++i) s += pieces[random() % pieces.size()];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    StringMap map;
    const int n = 1 + static_cast<int>(random() % 6);
    for (int i = 0; i < n; ++i) map[text()] = text();
    const std::string json = StringMapToJson(map);
    ASSERT_EQ(MustParseMap(json), Plain(map)) << json;
    ASSERT_EQ(ProtobufReads(json), Plain(map)) << json;
  }
}

PostalAddress FullAddress() {
  PostalAddress a;
  a.add_lines("Hauptstraße 5");
  a.add_lines("c/o \"Müller\"\\2");
  a.set_locality("Berlin");
  a.set_region("BE");
  a.set_postal_code("10115");
  a.set_country_code("DE");
  return a;
}

std::string ProtobufPrints(const PostalAddress& a) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(a, &json).ok());
  return json;
}

PostalAddress MustParseAddress(const std::string& json) {
  PostalAddress a;
  a.set_region("left over from before");  // the parse replaces it
  const absl::Status status = ParsePostalAddressJson(json, &a);
  EXPECT_TRUE(status.ok()) << json << ": " << status;
  return a;
}

bool Same(const PostalAddress& a, const PostalAddress& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(StoredJsonTest, AddressIsWrittenAsProtobufWritesIt) {
  PostalAddress some;
  some.set_locality("Wien");
  some.set_country_code("AT");
  PostalAddress lines_only;
  lines_only.add_lines("1 Main St");
  for (const PostalAddress& a :
       {FullAddress(), some, lines_only, PostalAddress()}) {
    EXPECT_EQ(PostalAddressToJson(a), ProtobufPrints(a));
    EXPECT_TRUE(Same(MustParseAddress(PostalAddressToJson(a)), a))
        << PostalAddressToJson(a);
  }
}

TEST(StoredJsonTest, AddressReadsEveryFormProtobufAccepts) {
  PostalAddress expected;
  expected.add_lines("x");
  expected.set_postal_code("1");
  expected.set_country_code("DE");
  // Proto field names, JSON names, nulls, spacing, and protobuf's leniency
  // about a single value for a repeated field.
  for (const char* json :
       {R"({"lines":["x"],"postal_code":"1","country_code":"DE"})",
        R"({ "lines" : [ "x" ], "postalCode": "1", "countryCode": "DE" })",
        R"({"lines":["x"],"postalCode":"1","countryCode":"DE","region":null})",
        R"({"lines":"x","postalCode":"1","countryCode":"DE"})"}) {
    EXPECT_TRUE(Same(MustParseAddress(json), expected)) << json;
  }
}

TEST(StoredJsonTest, AddressRejectsWhatProtobufRejects) {
  for (const char* json :
       {R"({"street":"x"})", R"({"locality":1})", "[]", "{"}) {
    PostalAddress a = FullAddress();
    EXPECT_EQ(ParsePostalAddressJson(json, &a).code(),
              absl::StatusCode::kInvalidArgument)
        << json;
    EXPECT_TRUE(Same(a, FullAddress())) << "left unchanged on error: " << json;
  }
}

}  // namespace
}  // namespace rapport
