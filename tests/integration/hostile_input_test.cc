// End-to-end hostile-input test: SQL-injection strings, control characters,
// broken and exotic Unicode, huge values, hostile ids, filters, free-text
// queries, order_by and page tokens, and malformed protobuf bytes, thrown at
// every request field of ContactService and InteractionService through the
// real server (ServerFixture's stubs and channel).
//
// For every call it asserts that
//  * the status is never INTERNAL or UNKNOWN (nor UNAVAILABLE,
//    RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED: the server must not fall over);
//    the one exception is documented at kGrpcParseFailure below;
//  * the call returns in under 2 s (an injected SLEEP(5) must not run);
// and after every test that
//  * the schema is intact (information_schema before == after),
//  * a canary contact and a canary interaction, created first, are
//    unchanged, and
//  * row counts changed only by what the test itself created.
// Values that the server accepts must read back byte-identical (after the
// documented trimming / case rules) and be found by a filter that quotes them,
// while injection inside a filter literal matches nothing.
//
// BUGS FOUND are marked "BUG:" below; each such expectation states the
// contract and fails until the server is fixed.
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

// Every call must return well within this; an injected SLEEP(5) would not.
constexpr absl::Duration kMaxCallTime = absl::Seconds(2);

// What rapportd answers when the request bytes do not parse as the method's
// request message: grpc::internal::RpcMethodHandler (and the server-streaming
// handler) deserialize before any Rapport code runs, and
// GenericDeserialize (grpcpp/impl/codegen/proto_utils.h) turns a parse
// failure into INTERNAL with Message::InitializationErrorString() as the
// message, which is "" for proto3 messages. Protobuf refuses to parse a
// proto3 `string` field holding invalid UTF-8 (overlong forms and CESU-8
// surrogates included). rapportd's call interceptor turns that INTERNAL into
// INVALID_ARGUMENT naming the method (server/app/access_log.cc). The test
// accepts this only for requests whose bytes it has itself checked do not
// parse (see Parses()).
constexpr grpc::StatusCode kGrpcParseFailure =
    grpc::StatusCode::INVALID_ARGUMENT;

// The same for a client-streaming method (ImportContacts): a message that
// does not parse makes ServerReader::Read() return false, exactly as the end
// of the stream does (CallOpRecvMessage in grpcpp/impl/call_op_set.h),
// so the handler stops reading and returns OK with the counts of the
// messages before it; that message and every later one are dropped without
// an error. Clients see it only in received_count.
constexpr grpc::StatusCode kGrpcClientStreamParseFailure = grpc::StatusCode::OK;

// The client's own rate limit, below the server's per-key limit (1000
// calls/s, burst 2000).
constexpr double kPaceRate = 900;
constexpr double kPaceBurst = 1500;

// Threads that make independent calls at once.
constexpr int kWorkers = 4;

bool IsAcceptable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:  // stale / hostile etag
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// A printable, bounded description of a hostile value for failure messages.
std::string Show(const std::string& value) {
  constexpr size_t kShown = 60;
  std::string out = absl::StrCat(
      "\"", absl::CHexEscape(value.substr(0, std::min(value.size(), kShown))),
      value.size() > kShown ? "..." : "", "\"");
  if (value.size() > kShown) absl::StrAppend(&out, " (", value.size(), " B)");
  return out;
}

// True if `m` survives a serialize / parse round trip, i.e. if the server's
// gRPC layer will be able to parse it.
bool Parses(const Message& m) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return false;
  std::unique_ptr<Message> copy(m.New());
  return copy->ParseFromString(bytes);
}

std::string Repeat(absl::string_view unit, size_t min_bytes) {
  std::string out;
  out.reserve(min_bytes + unit.size());
  while (out.size() < min_bytes) out.append(unit.data(), unit.size());
  return out;
}

// Quotes `value` as an AIP-160 string literal that means exactly `value`.
std::string Literal(absl::string_view value) {
  return absl::StrCat(
      "\"",
      absl::StrReplaceAll(value,
                          {{"\\", "\\\\"}, {"\"", "\\\""}, {"*", "\\*"}}),
      "\"");
}

bool IsAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
}

// The hostile value corpus. Entries are distinct byte strings.
const std::vector<std::string>& Corpus() {
  static const std::vector<std::string>* const corpus = [] {
    auto* c = new std::vector<std::string>{
        // SQL injection, quoting and comments.
        "' OR '1'='1",
        "' OR 1=1 --",
        "' OR 1=1#",
        "\" OR \"\"=\"",
        "') OR ('1'='1",
        "\"; DROP TABLE contacts; --",
        "'; DROP TABLE contacts; --",
        "O'Brien\"; DROP TABLE contacts; --",
        "\\' ; SELECT SLEEP(5) --",
        "x' AND SLEEP(5) AND 'x'='x",
        "1 AND SLEEP(5)",
        "'; SELECT BENCHMARK(100000000, SHA1('x')); --",
        "1) OR (1=1",
        "1 OR 1=1",
        "-1 OR 1=1",
        "1; DELETE FROM contacts",
        "'; UPDATE contacts SET family_name='pwned'; --",
        "' UNION SELECT id, given_name, family_name FROM contacts --",
        "' UNION SELECT NULL, table_name FROM information_schema.tables --",
        "UNION ALL SELECT 1,2,3",
        "%",
        "_",
        "%%",
        "%_%",
        "!",
        "!%",
        "\\",
        "\\\\",
        "\\'",
        "\\\"",
        "\\%",
        "\\_",
        "`",
        "`contacts`",
        "`; DROP TABLE `contacts`; --",
        "/* */",
        "/**/OR/**/1=1",
        "/*!50000 OR*/ 1=1",
        "--",
        "#",
        ";",
        "'||'",
        "' + '",
        "0x27",
        "0x4F5220313D31",
        "x'27'",
        "b'1'",
        "CHAR(39)",
        "NULL",
        "null",
        "\\N",
        "%00",
        "%27%20OR%201%3D1",
        "&#39; OR 1=1",
        "$.\"x\"",
        "$[0]",
        "{\"a\":1}",
        "${jndi:ldap://x/a}",
        "{{7*7}}",
        "<script>alert(1)</script>",
        "*",
        "\\*",
        "a*b",
        // Control characters and whitespace.
        std::string("\0", 1),
        std::string("a\0b", 3),
        std::string("x'\0 OR 1=1 --", 13),
        "\x1a",
        "a\x1a"
        "b",
        "\r\n",
        "a\r\nb",
        "\n",
        "line1\nline2",
        "\t",
        "\x7f",
        "\xc2\x80",  // U+0080, a C1 control
        "\xc2\x9f",
        "  padded  ",
        // Unicode: bidi, zero-width, BOM, emoji, look-alike quotes,
        // noncharacters, the last code point.
        "\xE2\x80\xAE"
        "evil\xE2\x80\xAC",
        "a\xE2\x80\x8B"
        "b",
        "\xE2\x80\x8D",
        "\xEF\xBB\xBF"
        "bom",
        "\xE2\x81\xA0",
        "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9",
        "\xF0\x9F\x98\x80",
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
        "\xA7",
        "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA",
        "e\xCC\x81",
        "\xEF\xBC\x87 OR 1=1",  // fullwidth apostrophe
        "\xCA\xBC OR 1=1",      // modifier letter apostrophe
        "\xE2\x80\x99 OR 1=1",  // right single quotation mark
        "\xEF\xBF\xBE",
        "\xEF\xBF\xBF",
        "\xF4\x8F\xBF\xBF",
        "\xEF\xBF\xBD",
        // Invalid UTF-8.
        "\xff",
        "\xc3\x28",
        "\x80",
        "caf\xe9",
        "\xe2\x82",
        "\xfe\xfe\xff\xff",
        // Overlong encodings (of ', /, NUL and U+007F).
        "\xC0\xA7",
        "\xC0\xAF",
        "\xE0\x80\xA7",
        "\xC0\x80",
        "\xF0\x80\x80\xA7",
        "\xC1\xBF",
        // Lone surrogates and a surrogate pair encoded as CESU-8, beyond
        // U+10FFFF, a 5-byte form.
        "\xED\xA0\x80",
        "\xED\xBF\xBF",
        "\xED\xA0\xBD\xED\xB8\x80",
        "\xF4\x90\x80\x80",
        "\xF8\x88\x80\x80\x80",
        // Lengths around the limits, and 1 MB.
        std::string(200, '\''),
        std::string(201, 'x'),
        std::string(1025, '%'),
        std::string(1 << 20, 'A'),
        Repeat("' OR 1=1 -- ", 1 << 20),
        Repeat("\xF0\x9F\x98\x80", 1 << 20),
    };
    return c;
  }();
  return *corpus;
}

// Hostile resource ids. `canary` is a real contact's id.
std::vector<std::string> HostileIds(const std::string& canary) {
  std::vector<std::string> ids = {
      "contacts/1 OR 1=1",
      "contacts/../1",
      "contacts/-1",
      "contacts/99999999999999999999",
      "contacts/1",
      "interactions/1",
      "1 OR 1=1",
      "-1",
      "0",
      "00",
      "-0",
      "+1",
      " 1",
      "1 ",
      "1.0",
      "1e3",
      "0x1",
      "9223372036854775808",
      "99999999999999999999",
      "18446744073709551617",
      "-9223372036854775808",
      "\xEF\xBC\x91",  // fullwidth 1
      "\xD9\xA1",      // Arabic-Indic 1
      std::string("1\0", 2),
      "1;DROP TABLE contacts",
      "1' OR '1'='1",
      "*",
      "",
      // Valid syntax, no such contact.
      "9223372036854775807",
      "9223372036854775806",
  };
  for (const std::string& suffix :
       {std::string(" OR 1=1"), std::string("--"), std::string(".0"),
        std::string("e0"), std::string(" "), std::string("\n"),
        std::string("\0", 1), std::string("'"), std::string(")"),
        std::string(",1")}) {
    ids.push_back(canary + suffix);
  }
  for (const std::string& prefix :
       {std::string("-"), std::string("+"), std::string("0"), std::string(" "),
        std::string("contacts/"), std::string("'")}) {
    ids.push_back(prefix + canary);
  }
  for (const std::string& s : Corpus()) ids.push_back(s);
  return ids;
}

// A contact text field: how to set it and what the server stores.
struct ContactField {
  std::string name;    // for messages
  std::string mask;    // UpdateContact update_mask path
  std::string filter;  // filter prefix that compares it to a literal
  std::function<void(v1::Contact*, const std::string&)> set;
  std::function<std::string(const v1::Contact&)> get;
  enum class Rule { kTrim, kTrimLower, kExact, kOther } rule;
};

std::vector<ContactField> ContactFields() {
  using R = ContactField::Rule;
  auto scalar = [](std::string name, std::string* (v1::Contact::*mut)(),
                   const std::string& (v1::Contact::*get)() const) {
    return ContactField{
        name,
        name,
        absl::StrCat(name, " = "),
        [mut](v1::Contact* c, const std::string& v) { *(c->*mut)() = v; },
        [get](const v1::Contact& c) { return (c.*get)(); },
        R::kTrim};
  };
  std::vector<ContactField> f = {
      scalar("given_name", &v1::Contact::mutable_given_name,
             &v1::Contact::given_name),
      scalar("family_name", &v1::Contact::mutable_family_name,
             &v1::Contact::family_name),
      scalar("display_name", &v1::Contact::mutable_display_name,
             &v1::Contact::display_name),
      scalar("company", &v1::Contact::mutable_company, &v1::Contact::company),
      scalar("job_title", &v1::Contact::mutable_job_title,
             &v1::Contact::job_title),
      scalar("owner", &v1::Contact::mutable_owner, &v1::Contact::owner),
      scalar("source", &v1::Contact::mutable_source, &v1::Contact::source),
  };
  f.push_back(
      {"emails[0]", "emails", "emails:",
       [](v1::Contact* c, const std::string& v) { c->add_emails(v); },
       [](const v1::Contact& c) { return c.emails_size() ? c.emails(0) : ""; },
       R::kTrimLower});
  f.push_back(
      {"phones[0]", "phones", "",
       [](v1::Contact* c, const std::string& v) { c->add_phones(v); },
       [](const v1::Contact& c) { return c.phones_size() ? c.phones(0) : ""; },
       R::kOther});
  f.push_back(
      {"tags[0]", "tags",
       "tags:", [](v1::Contact* c, const std::string& v) { c->add_tags(v); },
       [](const v1::Contact& c) { return c.tags_size() ? c.tags(0) : ""; },
       R::kTrimLower});
  f.push_back({"attributes[key]", "attributes", "",
               [](v1::Contact* c, const std::string& v) {
                 (*c->mutable_attributes())[v] = "value";
               },
               [](const v1::Contact& c) {
                 return c.attributes().empty() ? ""
                                               : c.attributes().begin()->first;
               },
               R::kExact});
  f.push_back({"attributes.note", "attributes.note", "attributes.note = ",
               [](v1::Contact* c, const std::string& v) {
                 (*c->mutable_attributes())["note"] = v;
               },
               [](const v1::Contact& c) {
                 auto it = c.attributes().find("note");
                 return it == c.attributes().end() ? "" : it->second;
               },
               R::kExact});
  f.push_back({"address.lines[0]", "address.lines", "",
               [](v1::Contact* c, const std::string& v) {
                 c->mutable_address()->add_lines(v);
               },
               [](const v1::Contact& c) {
                 return c.address().lines_size() ? c.address().lines(0) : "";
               },
               R::kTrim});
  f.push_back({"address.locality", "address.locality", "",
               [](v1::Contact* c, const std::string& v) {
                 c->mutable_address()->set_locality(v);
               },
               [](const v1::Contact& c) { return c.address().locality(); },
               R::kTrim});
  f.push_back({"address.region", "address.region", "",
               [](v1::Contact* c, const std::string& v) {
                 c->mutable_address()->set_region(v);
               },
               [](const v1::Contact& c) { return c.address().region(); },
               R::kTrim});
  f.push_back({"address.postal_code", "address.postal_code", "",
               [](v1::Contact* c, const std::string& v) {
                 c->mutable_address()->set_postal_code(v);
               },
               [](const v1::Contact& c) { return c.address().postal_code(); },
               R::kTrim});
  f.push_back({"address.country_code", "address.country_code", "",
               [](v1::Contact* c, const std::string& v) {
                 c->mutable_address()->set_country_code(v);
               },
               [](const v1::Contact& c) { return c.address().country_code(); },
               R::kOther});
  // Output-only fields: ignored on create, must stay plain data.
  f.push_back({"id (output only)", "", "",
               [](v1::Contact* c, const std::string& v) { c->set_id(v); },
               [](const v1::Contact&) { return std::string(); }, R::kOther});
  f.push_back({"etag (output only)", "", "",
               [](v1::Contact* c, const std::string& v) { c->set_etag(v); },
               [](const v1::Contact&) { return std::string(); }, R::kOther});
  f.push_back(
      {"merged_into (output only)", "", "",
       [](v1::Contact* c, const std::string& v) { c->set_merged_into(v); },
       [](const v1::Contact&) { return std::string(); }, R::kOther});
  return f;
}

// What the server should store for `sent` under `rule`.
std::string Expected(const std::string& sent, ContactField::Rule rule) {
  using R = ContactField::Rule;
  switch (rule) {
    case R::kTrim:
      return std::string(absl::StripAsciiWhitespace(sent));
    case R::kTrimLower:
      return absl::AsciiStrToLower(absl::StripAsciiWhitespace(sent));
    default:
      return sent;
  }
}

// Swallows protobuf's "invalid UTF-8" log lines (one per hostile string on
// serialize and again on parse) and counts them; passes others on.
class ProtobufLogFilter {
 public:
  ProtobufLogFilter() { previous_ = google::protobuf::SetLogHandler(&Handle); }
  ~ProtobufLogFilter() { google::protobuf::SetLogHandler(previous_); }

  static int64_t swallowed() {
    absl::MutexLock lock(&mu_);
    return swallowed_;
  }

 private:
  static void Handle(google::protobuf::LogLevel level, const char* file,
                     int line, const std::string& message) {
    if (absl::StrContains(message, "invalid UTF-8")) {
      absl::MutexLock lock(&mu_);
      ++swallowed_;
      return;
    }
    std::cerr << "[libprotobuf " << file << ":" << line << "] " << message
              << "\n";
  }

  static absl::Mutex mu_;
  static int64_t swallowed_;
  google::protobuf::LogHandler* previous_ = nullptr;
};
absl::Mutex ProtobufLogFilter::mu_;
int64_t ProtobufLogFilter::swallowed_ = 0;

// Page token format of server/query/pagination.h (version 1), written from
// its documentation so that the test can forge tokens as an attacker would.
namespace token {

uint64_t Fnv1a(absl::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void Fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void Varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string Description(
    const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&out, name.size(), ":", name, "=", value.size(), ":", value,
                    ";");
  }
  return out;
}

std::string ContactsDescription(const std::string& filter,
                                const std::string& query,
                                const std::string& order_by) {
  return Description({{"resource", "contacts"},
                      {"filter", filter},
                      {"query", query},
                      {"order_by", order_by},
                      {"show_deleted", "0"}});
}

std::string InteractionsDescription(const std::string& filter,
                                    const std::string& order_by) {
  return Description({{"resource", "interactions"},
                      {"contact_id", "0"},
                      {"filter", filter},
                      {"order_by", order_by}});
}

// One cursor value: a tag byte and its payload, written raw.
struct Value {
  uint8_t tag;
  std::string payload;
};
Value Null() { return {0, ""}; }
Value Bool(bool b) { return {1, std::string(1, b ? 1 : 0)}; }
Value Int(int64_t n) {
  std::string p;
  const uint64_t u = static_cast<uint64_t>(n);
  Varint(p, (u << 1) ^ (n < 0 ? ~uint64_t{0} : 0));
  return {2, p};
}
Value Double(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  std::string p;
  Fixed64(p, bits);
  return {3, p};
}
Value Str(const std::string& s) {
  std::string p;
  Varint(p, s.size());
  return {4, p + s};
}

// The token body (before checksum) for `values` under `description`.
std::string Body(const std::string& description,
                 const std::vector<Value>& values, uint8_t version = 1) {
  std::string body(1, static_cast<char>(version));
  Fixed64(body, Fnv1a(description));
  Varint(body, values.size());
  for (const Value& v : values) {
    body.push_back(static_cast<char>(v.tag));
    body += v.payload;
  }
  return body;
}

// Seals a body with its checksum and encodes it.
std::string Seal(std::string body) {
  Fixed64(body, Fnv1a(body));
  std::string out;
  absl::WebSafeBase64Escape(body, &out);
  return out;
}

std::string Forge(const std::string& description,
                  const std::vector<Value>& values) {
  return Seal(Body(description, values));
}

// The fingerprint a real token carries, or 0 if it cannot be read.
uint64_t FingerprintOf(const std::string& token) {
  std::string body;
  if (!absl::WebSafeBase64Unescape(token, &body) || body.size() < 17) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(body[1 + i])) << (8 * i);
  }
  return v;
}

}  // namespace token

// Counts outcomes per method across the whole binary, for the summary.
struct Tally {
  absl::Mutex mu;
  std::map<std::string, std::map<std::string, int>> codes ABSL_GUARDED_BY(mu);

  void Add(const std::string& method, const std::string& code) {
    absl::MutexLock lock(&mu);
    ++codes[method][code];
  }
  void Print() {
    absl::MutexLock lock(&mu);
    int total = 0;
    std::cout << "hostile_input_test summary (calls per method):\n";
    for (const auto& [method, by_code] : codes) {
      int n = 0;
      std::vector<std::string> parts;
      for (const auto& [code, count] : by_code) {
        n += count;
        parts.push_back(absl::StrCat(code, "=", count));
      }
      total += n;
      std::cout << "  " << method << ": " << n << " ("
                << absl::StrJoin(parts, ", ") << ")\n";
    }
    std::cout << "  total: " << total << " calls\n";
  }
};
Tally& GlobalTally() {
  static Tally* const tally = new Tally;
  return *tally;
}

class SummaryPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    GlobalTally().Print();
    std::cout << "protobuf 'invalid UTF-8' log lines swallowed: "
              << ProtobufLogFilter::swallowed() << "\n";
  }
};
const auto* const kSummary =
    ::testing::AddGlobalTestEnvironment(new SummaryPrinter);

class HostileInputTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    started_ = absl::Now();
    RefillPace();
    // A few plain contacts first, so that the canary's id is not 1 and
    // "matches everything" is distinguishable from "matches the only row".
    // Every text field is set: utf8mb4_unicode_ci ignores control and
    // zero-width characters, so a hostile literal made only of those equals
    // "" and would legitimately match an empty field.
    for (int i = 0; i < 3; ++i) {
      v1::Contact plain = MakeContact(absl::StrCat("Plain", i), "Person",
                                      absl::StrCat("plain", i, "@example.com"));
      plain.set_company("Plain Company");
      plain.set_job_title("Plain Job");
      plain.set_owner("plain-owner");
      plain.set_source("plain-source");
      NoteCreated(MustCreate(plain).id());
    }
    v1::Contact canary =
        MakeContact("Canary", "Sentinel", "canary.sentinel@example.com");
    canary.set_company("Canary Works");
    canary.set_job_title("Canary Keeper");
    canary.set_source("canary-source");
    canary.add_phones("+14155552671");
    canary.add_tags("canary");
    (*canary.mutable_attributes())["role"] = "canary";
    canary.mutable_address()->add_lines("1 Canary Wharf");
    canary.set_owner("canary-owner");
    canary_ = MustCreate(canary);
    ASSERT_FALSE(canary_.id().empty());
    NoteCreated(canary_.id());

    v1::LogInteractionRequest log;
    v1::Interaction* i = log.mutable_interaction();
    i->set_contact_id(canary_.id());
    i->set_type(v1::PURCHASE);
    i->set_channel("web");
    i->set_subject("canary purchase");
    i->set_actor("canary-actor");
    i->mutable_amount()->set_currency_code("EUR");
    i->mutable_amount()->set_amount_minor(1999);
    (*i->mutable_attributes())["role"] = "canary";
    ASSERT_OK(interactions().LogInteraction(Context().get(), log,
                                            &canary_interaction_));
    {
      absl::MutexLock lock(&mu_);
      logged_interactions_.insert(canary_interaction_.id());
    }
    // Reread: logging moves last_interaction_time forward.
    canary_ = GetOrDie(canary_.id());

    tables_before_ = Schema();
    absl::MutexLock lock(&mu_);
    contacts_before_ = Count("SELECT COUNT(*) FROM contacts") -
                       static_cast<int64_t>(created_contacts_.size());
    interactions_before_ = Count("SELECT COUNT(*) FROM interactions") -
                           static_cast<int64_t>(logged_interactions_.size());
    migrations_before_ = Count("SELECT COUNT(*) FROM schema_migrations");
    erasures_before_ = Count("SELECT COUNT(*) FROM erasures");
  }

  void TearDown() override {
    if (!canary_.id().empty() && !HasFatalFailure()) ExpectDatabaseIntact();
    const absl::Duration took = absl::Now() - started_;
    std::cout << ::testing::UnitTest::GetInstance()->current_test_info()->name()
              << ": " << calls_ << " hostile calls in " << took << " ("
              << rate_limited_ << " retried after the rate limit, "
              << oversized_retries_
              << " after a response with oversized headers)\n";
    {
      absl::MutexLock lock(&mu_);
      if (!parse_failure_messages_.empty()) {
        std::cout << "  gRPC parse failures answered INTERNAL with message(s): "
                  << absl::StrJoin(parse_failure_messages_, ", ") << "\n";
      }
    }
    ServerFixture::TearDown();
  }

  // ------------------------------------------------------------ bookkeeping

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = db().QueryInt(sql);
    EXPECT_TRUE(n.ok()) << sql << ": " << n.status();
    return n.ok() ? *n : -1;
  }

  // A fingerprint of every table and column of the test database.
  std::string Schema() {
    const int64_t tables = Count(
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE table_schema = DATABASE()");
    const int64_t table_sum = Count(
        "SELECT CAST(COALESCE(SUM(CRC32(CONCAT(table_name, ':', "
        "table_type))), 0) AS SIGNED) FROM information_schema.tables "
        "WHERE table_schema = DATABASE()");
    const int64_t columns = Count(
        "SELECT COUNT(*) FROM information_schema.columns "
        "WHERE table_schema = DATABASE()");
    const int64_t column_sum = Count(
        "SELECT CAST(COALESCE(SUM(CRC32(CONCAT(table_name, '.', column_name, "
        "':', column_type))), 0) AS SIGNED) FROM information_schema.columns "
        "WHERE table_schema = DATABASE()");
    return absl::StrCat(tables, " tables (", table_sum, "), ", columns,
                        " columns (", column_sum, ")");
  }

  void NoteCreated(const std::string& id) {
    absl::MutexLock lock(&mu_);
    if (!id.empty()) created_contacts_.insert(id);
  }

  v1::Contact GetOrDie(const std::string& id) {
    v1::GetContactRequest request;
    request.set_id(id);
    request.set_show_deleted(true);
    v1::Contact contact;
    absl::Duration elapsed;
    EXPECT_OK(CallPaced(
        [&](grpc::ClientContext* c) {
          return contacts().GetContact(c, request, &contact);
        },
        &elapsed))
        << "id " << id;
    return contact;
  }

  v1::Interaction GetInteractionOrDie(const std::string& id) {
    v1::GetInteractionRequest request;
    request.set_id(id);
    v1::Interaction interaction;
    absl::Duration elapsed;
    EXPECT_OK(CallPaced(
        [&](grpc::ClientContext* c) {
          return interactions().GetInteraction(c, request, &interaction);
        },
        &elapsed))
        << "id " << id;
    return interaction;
  }

  void ExpectDatabaseIntact() {
    SCOPED_TRACE("database integrity after the hostile calls");
    EXPECT_EQ(Schema(), tables_before_) << "tables or columns changed";
    EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migrations"),
              migrations_before_);
    absl::ReleasableMutexLock lock(&mu_);
    const int64_t created = static_cast<int64_t>(created_contacts_.size());
    const int64_t logged = static_cast<int64_t>(logged_interactions_.size());
    lock.Release();
    EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"),
              contacts_before_ + created + imported_contacts_)
        << "contacts: only the test's own creates may add rows";
    EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"),
              interactions_before_ + logged)
        << "interactions: only the test's own logs may add rows";
    EXPECT_EQ(Count("SELECT COUNT(*) FROM erasures"), erasures_before_);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE delete_time IS NOT "
                    "NULL OR merged_into IS NOT NULL"),
              0)
        << "no hostile call may delete or merge a contact";
    EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE family_name = "
                    "'pwned'"),
              0);

    // The canary, through the API and in the table.
    const v1::Contact now = GetOrDie(canary_.id());
    EXPECT_TRUE(MessageDifferencer::Equals(now, canary_))
        << "canary changed:\nbefore: " << canary_.ShortDebugString()
        << "\nafter:  " << now.ShortDebugString();
    EXPECT_EQ(Count(absl::StrCat(
                  "SELECT COUNT(*) FROM contacts WHERE id = ", canary_.id(),
                  " AND given_name = 'Canary' AND family_name = 'Sentinel' "
                  "AND delete_time IS NULL")),
              1);
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM contact_emails WHERE "
                                 "contact_id = ",
                                 canary_.id())),
              1);
    const v1::Interaction interaction =
        GetInteractionOrDie(canary_interaction_.id());
    EXPECT_TRUE(MessageDifferencer::Equals(interaction, canary_interaction_))
        << "canary interaction changed: " << interaction.ShortDebugString();
  }

  // ---------------------------------------------------------------- calls

  // Checks one call. `parses`: whether the request's bytes parse as the
  // method's request message (see kGrpcParseFailure).
  // `client_stream`: the method reads a client stream (see
  // kGrpcClientStreamParseFailure).
  void CheckCall(const std::string& method, const std::string& input,
                 const grpc::Status& status, absl::Duration elapsed,
                 bool parses, bool client_stream = false) {
    ++calls_;
    const grpc::StatusCode code = status.error_code();
    std::string label = CodeName(code);
    if (!parses && code == kGrpcParseFailure) label = "INTERNAL(gRPC parse)";
    if (!parses && client_stream && code == kGrpcClientStreamParseFailure) {
      label = "OK(gRPC parse: stream ended)";
    }
    GlobalTally().Add(method, label);
    EXPECT_LT(elapsed, kMaxCallTime)
        << method << " took " << elapsed << " for " << input;
    // BUG: a status message that echoes an unbounded part of the request
    // (a filter value, an etag) can exceed what the client accepts in
    // trailers (8 KiB by default); the client then sees RESOURCE_EXHAUSTED
    // "received initial metadata size exceeds limit" instead of the
    // INVALID_ARGUMENT / ABORTED the server meant.
    EXPECT_FALSE(IsOversizedHeaders(status))
        << "BUG: " << method
        << "'s error message is too large for gRPC trailers for " << input;
    if (parses) {
      EXPECT_TRUE(IsAcceptable(code))
          << method << " answered " << CodeName(code) << " \""
          << status.error_message() << "\" for " << input;
    } else if (client_stream) {
      EXPECT_TRUE(code == kGrpcClientStreamParseFailure ||
                  code == grpc::StatusCode::INVALID_ARGUMENT)
          << method << " answered " << CodeName(code) << " \""
          << status.error_message() << "\" for unparseable " << input;
    } else {
      // The parse failure, mapped to INVALID_ARGUMENT (documented above).
      EXPECT_EQ(code, kGrpcParseFailure)
          << method << " answered " << CodeName(code) << " \""
          << status.error_message() << "\" for unparseable " << input;
      EXPECT_FALSE(status.error_message().empty()) << method;
      if (code == kGrpcParseFailure) {
        absl::MutexLock lock(&mu_);
        parse_failure_messages_.insert(
            absl::StrCat("\"", status.error_message(), "\""));
      }
    }
  }

  // Keeps the test under the server's per-key request rate limit
  // (config rate_per_key 1000/s, burst 2000 by default) with a slightly
  // smaller token bucket of its own; SetUp refills it, as each test has a
  // fresh server.
  static absl::Mutex& PaceMutex() {
    static absl::Mutex mu(absl::kConstInit);
    return mu;
  }
  static double& PaceTokens() {
    static double tokens = 0;
    return tokens;
  }
  static absl::Time& PaceTime() {
    static absl::Time last;
    return last;
  }
  static void RefillPace() {
    absl::MutexLock lock(&PaceMutex());
    PaceTokens() = kPaceBurst;
    PaceTime() = absl::Now();
  }
  static void Pace() {
    for (;;) {
      absl::Duration wait;
      {
        absl::MutexLock lock(&PaceMutex());
        const absl::Time now = absl::Now();
        PaceTokens() = std::min(
            kPaceBurst,
            PaceTokens() + kPaceRate * absl::ToDoubleSeconds(now - PaceTime()));
        PaceTime() = now;
        if (PaceTokens() >= 1) {
          PaceTokens() -= 1;
          return;
        }
        wait = absl::Seconds((1 - PaceTokens()) / kPaceRate);
      }
      absl::SleepFor(wait);
    }
  }

  // Runs fn(0) ... fn(n - 1) on `threads` threads.
  static void ParallelFor(size_t n, const std::function<void(size_t)>& fn,
                          int threads = kWorkers) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < n; i = next++) fn(i);
      });
    }
    for (std::thread& t : workers) t.join();
  }

  // Makes one call with a fresh Context(), paced, and again if
  //  * the rate limiter refused it anyway, or
  //  * the client refused the response headers as too large, or the
  //    transport closed: after one response whose status message is too
  //    large for the client (the BUG flagged in CheckCall), the next few
  //    calls on the same HTTP/2 connection fail the same way whatever they
  //    are (see ErrorMessagesFitInTrailers), and a status message of
  //    megabytes can close the connection under calls in flight; so a call
  //    is blamed only if it fails like that on every try.
  // Sets *elapsed to the time of the last try.
  grpc::Status CallPaced(
      const std::function<grpc::Status(grpc::ClientContext*)>& call,
      absl::Duration* elapsed) {
    int oversized = 0;
    for (int attempt = 0;; ++attempt) {
      Pace();
      auto context = Context();
      const absl::Time start = absl::Now();
      grpc::Status status = call(context.get());
      *elapsed = absl::Now() - start;
      if ((status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED &&
           status.error_code() != grpc::StatusCode::UNAVAILABLE) ||
          attempt == 100) {
        return status;
      }
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        if (++oversized >= 8) return status;
        ++oversized_retries_;
        absl::SleepFor(absl::Milliseconds(10));
      } else if (absl::StrContains(status.error_message(), "rate limit")) {
        ++rate_limited_;
        absl::SleepFor(absl::Milliseconds(20));
      } else if (IsOversizedHeaders(status) && ++oversized < 8) {
        ++oversized_retries_;
      } else {
        return status;
      }
    }
  }

  static bool IsOversizedHeaders(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
           absl::StrContains(status.error_message(),
                             "metadata size exceeds limit");
  }

  // Runs `call` (paced) and checks it.
  template <typename Request>
  grpc::Status Run(
      const std::string& method, const std::string& input,
      const Request& request,
      const std::function<grpc::Status(grpc::ClientContext*)>& call) {
    absl::Duration elapsed;
    grpc::Status status = CallPaced(call, &elapsed);
    CheckCall(method, input, status, elapsed, Parses(request));
    return status;
  }

  grpc::Status Create(const v1::CreateContactRequest& request,
                      const std::string& input, v1::Contact* created) {
    grpc::Status status =
        Run("ContactService.CreateContact", input, request,
            [&](grpc::ClientContext* c) {
              return contacts().CreateContact(c, request, created);
            });
    if (status.ok()) NoteCreated(created->id());
    return status;
  }

  grpc::Status Update(const v1::UpdateContactRequest& request,
                      const std::string& input, v1::Contact* updated) {
    return Run("ContactService.UpdateContact", input, request,
               [&](grpc::ClientContext* c) {
                 return contacts().UpdateContact(c, request, updated);
               });
  }

  grpc::Status List(const v1::ListContactsRequest& request,
                    const std::string& input,
                    v1::ListContactsResponse* response) {
    return Run("ContactService.ListContacts", input, request,
               [&](grpc::ClientContext* c) {
                 return contacts().ListContacts(c, request, response);
               });
  }

  grpc::Status ListInteractions(const v1::ListInteractionsRequest& request,
                                const std::string& input,
                                v1::ListInteractionsResponse* response) {
    return Run("InteractionService.ListInteractions", input, request,
               [&](grpc::ClientContext* c) {
                 return interactions().ListInteractions(c, request, response);
               });
  }

  grpc::Status Log(const v1::LogInteractionRequest& request,
                   const std::string& input, v1::Interaction* logged) {
    grpc::Status status =
        Run("InteractionService.LogInteraction", input, request,
            [&](grpc::ClientContext* c) {
              return interactions().LogInteraction(c, request, logged);
            });
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      logged_interactions_.insert(logged->id());
    }
    return status;
  }

  // Streams an export to the end; returns its status and the ids.
  grpc::Status Export(const v1::ExportContactsRequest& request,
                      const std::string& input, std::vector<std::string>* ids) {
    return Run("ContactService.ExportContacts", input, request,
               [&](grpc::ClientContext* c) {
                 ids->clear();
                 auto reader = contacts().ExportContacts(c, request);
                 v1::ExportContactsResponse batch;
                 while (reader->Read(&batch)) {
                   for (const v1::Contact& contact : batch.contacts()) {
                     ids->push_back(contact.id());
                   }
                 }
                 return reader->Finish();
               });
  }

  // Ids of the contacts matching `filter` (up to 1000); the call is checked
  // and must be OK.
  std::vector<std::string> FilterIds(const std::string& filter,
                                     const std::string& query = "") {
    v1::ListContactsRequest request;
    request.set_filter(filter);
    request.set_query(query);
    request.set_page_size(1000);
    v1::ListContactsResponse response;
    grpc::Status status = List(request, "filter " + Show(filter), &response);
    EXPECT_OK(status) << "filter " << Show(filter) << " query " << Show(query);
    std::vector<std::string> ids;
    for (const v1::Contact& c : response.contacts()) ids.push_back(c.id());
    return ids;
  }

  // A live contact the test may change freely.
  std::string MakeVictim(const std::string& name) {
    v1::Contact created = MustCreate(MakeContact("Victim", name, ""));
    NoteCreated(created.id());
    return created.id();
  }

  v1::Contact canary_;
  v1::Interaction canary_interaction_;
  // Guards the bookkeeping that ParallelFor workers update.
  absl::Mutex mu_;
  std::set<std::string> created_contacts_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> logged_interactions_ ABSL_GUARDED_BY(mu_);
  int64_t imported_contacts_ = 0;
  std::set<std::string> parse_failure_messages_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> utf8_import_outcomes_;
  std::set<std::string> malformed_outcomes_;

 private:
  ProtobufLogFilter log_filter_;
  absl::Time started_;
  std::atomic<int> calls_{0};
  std::atomic<int> rate_limited_{0};
  std::atomic<int> oversized_retries_{0};
  std::string tables_before_;
  int64_t contacts_before_ = 0;
  int64_t interactions_before_ = 0;
  int64_t migrations_before_ = 0;
  int64_t erasures_before_ = 0;
};

// Printable ASCII only: the values whose utf8mb4_unicode_ci equality is plain
// ASCII case-insensitive comparison (controls and many non-ASCII characters
// are ignorable in that collation, so they legitimately compare equal).
bool IsPrintableAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 &&
           static_cast<unsigned char>(c) < 0x7f;
  });
}

std::string CollationKey(absl::string_view s) {
  return absl::AsciiStrToLower(absl::StripTrailingAsciiWhitespace(s));
}

// E-mail addresses that are valid (RFC 5322 atext) and hostile.
const std::vector<std::string>& HostileEmails() {
  static const std::vector<std::string>* const emails =
      new std::vector<std::string>{
          "o'brien+%_*`{|}~@example.com",
          "x'or'1'='1@example.com",
          "'--@example.com",
          "%@example.com",
          "_@example.com",
          "a*b@example.com",
          "a/**/b@example.com",
          "!#$&'*+-/=?^_`{|}~@example.com",
          "'@example.com",
      };
  return *emails;
}

// ------------------------------------------------- CreateContact (text)

TEST_F(HostileInputTest, CreateContactStoresHostileTextAsData) {
  struct Accepted {
    std::string id;
    std::string stored;
  };
  absl::Mutex mu;
  // By field name.
  std::map<std::string, std::vector<Accepted>> accepted;  // guarded by mu
  std::vector<std::pair<const ContactField*, std::string>> cases;
  const std::vector<ContactField> fields = ContactFields();
  for (const ContactField& field : fields) {
    for (const std::string& value : Corpus()) cases.push_back({&field, value});
    if (field.name == "emails[0]") {
      for (const std::string& value : HostileEmails()) {
        cases.push_back({&field, value});
      }
    }
  }
  ParallelFor(cases.size(), [&](size_t n) {
    const auto& [field, value] = cases[n];
    const std::string input = absl::StrCat(field->name, "=", Show(value));
    v1::CreateContactRequest request;
    v1::Contact* c = request.mutable_contact();
    c->set_given_name(absl::StrCat("h", n));
    c->set_family_name("Hostile");
    field->set(c, value);
    v1::Contact created;
    grpc::Status status = Create(request, input, &created);
    if (!status.ok()) return;
    ASSERT_FALSE(created.id().empty()) << input;
    EXPECT_NE(created.id(), value) << input;
    EXPECT_TRUE(created.merged_into().empty()) << input;
    if (field->rule == ContactField::Rule::kOther) return;
    const std::string expected = Expected(value, field->rule);
    if (expected.empty()) return;  // e.g. derived display_name
    // Byte-identical in the response and when read back.
    EXPECT_EQ(field->get(created), expected) << input;
    const v1::Contact got = GetOrDie(created.id());
    EXPECT_EQ(field->get(got), expected) << input;
    EXPECT_TRUE(MessageDifferencer::Equals(got, created))
        << input << "\ncreated: " << created.ShortDebugString()
        << "\nread:    " << got.ShortDebugString();
    absl::MutexLock lock(&mu);
    accepted[field->name].push_back({created.id(), expected});
  });

  // Every accepted value is found by a filter that quotes it, and the
  // filter matches nothing else (exactly, for printable ASCII).
  absl::MutexLock lock(&mu);
  std::vector<std::pair<const ContactField*, const Accepted*>> checks;
  for (const ContactField& field : fields) {
    if (field.filter.empty()) continue;
    for (const Accepted& a : accepted[field.name])
      checks.push_back({&field, &a});
  }
  ParallelFor(checks.size(), [&](size_t n) {
    const auto& [field, a] = checks[n];
    SCOPED_TRACE(absl::StrCat(field->name, " = ", Show(a->stored)));
    const std::vector<std::string> ids =
        FilterIds(field->filter + Literal(a->stored));
    EXPECT_THAT(ids, Contains(a->id));
    EXPECT_THAT(ids, Not(Contains(canary_.id())));
    if (!IsPrintableAscii(a->stored)) return;
    std::vector<std::string> want;
    for (const Accepted& b : accepted.at(field->name)) {
      if (IsPrintableAscii(b.stored) &&
          CollationKey(b.stored) == CollationKey(a->stored)) {
        want.push_back(b.id);
      }
    }
    EXPECT_THAT(ids, UnorderedElementsAreArray(want));
  });
  // The accepted hostile e-mails are also found by free text.
  for (const Accepted& a : accepted["emails[0]"]) {
    const std::string local = a.stored.substr(0, a.stored.find('@'));
    EXPECT_THAT(FilterIds("", local), Contains(a.id)) << Show(local);
  }
}

// ------------------------------------------------- UpdateContact

TEST_F(HostileInputTest, UpdateContactFieldsMasksAndEtagsAreData) {
  // One victim per field, the fields in parallel.
  std::vector<ContactField> fields;
  for (ContactField& field : ContactFields()) {
    if (!field.mask.empty()) fields.push_back(std::move(field));
  }
  ParallelFor(fields.size(), [&](size_t f) {
    const ContactField& field = fields[f];
    const std::string field_victim = MakeVictim("Update" + field.mask);
    v1::Contact field_last = GetOrDie(field_victim);
    for (const std::string& value : Corpus()) {
      const std::string input = absl::StrCat(field.name, "=", Show(value));
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_id(field_victim);
      field.set(request.mutable_contact(), value);
      request.mutable_update_mask()->add_paths(field.mask);
      v1::Contact updated;
      if (!Update(request, input, &updated).ok()) continue;
      EXPECT_EQ(updated.id(), field_victim);
      field_last = updated;
      if (field.rule == ContactField::Rule::kOther) continue;
      const std::string expected = Expected(value, field.rule);
      if (expected.empty()) continue;
      EXPECT_EQ(field.get(updated), expected) << input;
    }
    EXPECT_TRUE(MessageDifferencer::Equals(GetOrDie(field_victim), field_last))
        << field.name;
  });

  const std::string victim = MakeVictim("Update");
  v1::Contact last = GetOrDie(victim);

  // Hostile update_mask paths: nothing outside [a-z0-9_.*] is a path.
  for (const std::string& value : Corpus()) {
    for (const std::string& path :
         {value, "attributes." + value, "address." + value, "consent." + value,
          "given_name," + value, "given_name." + value}) {
      const std::string input = absl::StrCat("update_mask ", Show(path));
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_id(victim);
      request.mutable_contact()->set_given_name("MaskProbe");
      request.mutable_update_mask()->add_paths(path);
      v1::Contact updated;
      grpc::Status status = Update(request, input, &updated);
      const bool plausible_path =
          std::all_of(path.begin(), path.end(), [](char ch) {
            return absl::ascii_islower(static_cast<unsigned char>(ch)) ||
                   absl::ascii_isdigit(static_cast<unsigned char>(ch)) ||
                   ch == '_' || ch == '.' || ch == '*';
          });
      if (!plausible_path && Parses(request)) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << input << ": " << status.error_message();
      }
      if (status.ok()) last = updated;
    }
  }
  // A second path next to a valid one must not smuggle anything in either.
  EXPECT_TRUE(MessageDifferencer::Equals(GetOrDie(victim), last));

  // Hostile etags: never current, so never applied.
  for (const std::string& value : Corpus()) {
    const std::string input = absl::StrCat("etag ", Show(value));
    v1::UpdateContactRequest request;
    request.mutable_contact()->set_id(victim);
    request.mutable_contact()->set_etag(value);
    request.mutable_contact()->set_given_name("EtagProbe");
    request.mutable_update_mask()->add_paths("given_name");
    v1::Contact updated;
    grpc::Status status = Update(request, input, &updated);
    EXPECT_FALSE(status.ok()) << input << " updated with a hostile etag";

    v1::DeleteContactRequest del;
    del.set_id(victim);
    del.set_etag(value);
    v1::Contact deleted;
    status = Run("ContactService.DeleteContact", input, del,
                 [&](grpc::ClientContext* c) {
                   return contacts().DeleteContact(c, del, &deleted);
                 });
    EXPECT_FALSE(status.ok()) << input << " deleted with a hostile etag";
  }
  EXPECT_TRUE(MessageDifferencer::Equals(GetOrDie(victim), last));
}

// ------------------------------------------------- ids and request ids

TEST_F(HostileInputTest, HostileIdsNeverReachAContact) {
  const std::string victim = MakeVictim("Ids");
  const std::string victim2 = MakeVictim("Ids2");
  const v1::Contact victim_before = GetOrDie(victim);
  const v1::Contact victim2_before = GetOrDie(victim2);
  const std::vector<std::string> ids = HostileIds(canary_.id());
  ParallelFor(ids.size(), [&](size_t k) {
    const std::string& id = ids[k];
    const std::string input = absl::StrCat("id ", Show(id));
    // A syntactically valid id that names no contact is NOT_FOUND; anything
    // else is INVALID_ARGUMENT.
    auto expect_rejected = [&](const grpc::Status& status,
                               const std::string& method) {
      EXPECT_TRUE(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                  status.error_code() == grpc::StatusCode::NOT_FOUND ||
                  status.error_code() == kGrpcParseFailure)
          << method << " " << input << ": " << CodeName(status.error_code())
          << " " << status.error_message();
    };
    for (bool show_deleted : {false, true}) {
      v1::GetContactRequest request;
      request.set_id(id);
      request.set_show_deleted(show_deleted);
      v1::Contact contact;
      expect_rejected(Run("ContactService.GetContact", input, request,
                          [&](grpc::ClientContext* c) {
                            return contacts().GetContact(c, request, &contact);
                          }),
                      "GetContact");
    }
    {
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_id(id);
      request.mutable_contact()->set_family_name("pwned");
      request.mutable_update_mask()->add_paths("family_name");
      v1::Contact contact;
      expect_rejected(Update(request, input, &contact), "UpdateContact");
    }
    {
      v1::DeleteContactRequest request;
      request.set_id(id);
      v1::Contact contact;
      expect_rejected(Run("ContactService.DeleteContact", input, request,
                          [&](grpc::ClientContext* c) {
                            return contacts().DeleteContact(c, request,
                                                            &contact);
                          }),
                      "DeleteContact");
    }
    {
      v1::UndeleteContactRequest request;
      request.set_id(id);
      v1::Contact contact;
      expect_rejected(Run("ContactService.UndeleteContact", input, request,
                          [&](grpc::ClientContext* c) {
                            return contacts().UndeleteContact(c, request,
                                                              &contact);
                          }),
                      "UndeleteContact");
    }
    {
      v1::EraseContactRequest request;
      request.set_id(id);
      v1::EraseContactResponse response;
      expect_rejected(Run("ContactService.EraseContact", input, request,
                          [&](grpc::ClientContext* c) {
                            return contacts().EraseContact(c, request,
                                                           &response);
                          }),
                      "EraseContact");
    }
    for (int shape = 0; shape < 3; ++shape) {
      v1::MergeContactsRequest request;
      if (shape == 0) {
        request.set_primary_id(id);
        request.add_duplicate_ids(victim);
      } else if (shape == 1) {
        request.set_primary_id(victim);
        request.add_duplicate_ids(id);
      } else {
        request.set_primary_id(victim);
        request.add_duplicate_ids(victim2);
        request.add_duplicate_ids(id);
      }
      v1::Contact merged;
      expect_rejected(Run("ContactService.MergeContacts", input, request,
                          [&](grpc::ClientContext* c) {
                            return contacts().MergeContacts(c, request,
                                                            &merged);
                          }),
                      "MergeContacts");
    }
    {
      v1::GetInteractionRequest request;
      request.set_id(id);
      v1::Interaction interaction;
      expect_rejected(Run("InteractionService.GetInteraction", input, request,
                          [&](grpc::ClientContext* c) {
                            return interactions().GetInteraction(c, request,
                                                                 &interaction);
                          }),
                      "GetInteraction");
    }
    {
      v1::LogInteractionRequest request;
      request.mutable_interaction()->set_contact_id(id);
      request.mutable_interaction()->set_type(v1::NOTE);
      v1::Interaction interaction;
      expect_rejected(Log(request, input, &interaction), "LogInteraction");
    }
    {
      v1::ListInteractionsRequest request;
      request.set_contact_id(id);
      v1::ListInteractionsResponse response;
      grpc::Status status = ListInteractions(request, input, &response);
      if (status.ok() && !id.empty()) {
        // Only a well-formed id of no contact may list (nothing).
        EXPECT_THAT(response.interactions(), IsEmpty()) << input;
      } else if (!status.ok()) {
        expect_rejected(status, "ListInteractions");
      }
    }
  });
  EXPECT_TRUE(MessageDifferencer::Equals(GetOrDie(victim), victim_before));
  EXPECT_TRUE(MessageDifferencer::Equals(GetOrDie(victim2), victim2_before));
}

TEST_F(HostileInputTest, HostileRequestIdsAreRejectedOrIdempotent) {
  const std::string victim = MakeVictim("RequestIds");
  std::vector<std::string> request_ids = Corpus();
  for (const std::string& extra : std::vector<std::string>{
           "';DROP/**/TABLE/**/contacts;--", "'OR'1'='1", "\\'", "%", "_", "`",
           "x'||SLEEP(5)||'", std::string(128, '\''), std::string(129, 'a')}) {
    request_ids.push_back(extra);
  }
  for (const std::string& request_id : request_ids) {
    const std::string input = absl::StrCat("request_id ", Show(request_id));
    v1::CreateContactRequest create;
    create.set_request_id(request_id);
    *create.mutable_contact() = MakeContact("Idem", "Potent", "");
    v1::Contact first;
    v1::Contact second;
    grpc::Status status = Create(create, input, &first);
    if (status.ok()) {
      ASSERT_OK(Create(create, input + " (again)", &second));
      EXPECT_EQ(second.id(), first.id()) << input << " is not idempotent";
    }
    v1::LogInteractionRequest log;
    log.set_request_id(request_id);
    log.mutable_interaction()->set_contact_id(victim);
    log.mutable_interaction()->set_type(v1::NOTE);
    v1::Interaction logged;
    v1::Interaction again;
    status = Log(log, input, &logged);
    if (status.ok()) {
      ASSERT_OK(Log(log, input + " (again)", &again));
      EXPECT_EQ(again.id(), logged.id()) << input << " is not idempotent";
    }
  }
}

// ------------------------------------------------- ListContacts / Export

// Text fields of Contact that filters compare to a literal.
const std::vector<std::string>& ContactStringFilters() {
  static const std::vector<std::string>* const f =
      new std::vector<std::string>{"given_name = ",
                                   "family_name = ",
                                   "display_name = ",
                                   "company = ",
                                   "job_title = ",
                                   "owner = ",
                                   "source = ",
                                   "emails:",
                                   "phones:",
                                   "tags:",
                                   "attributes.role = ",
                                   "family_name != ",
                                   "company < ",
                                   "company >= ",
                                   "tags = "};
  return *f;
}

// Filters built around a hostile value, none of which names a value the
// canary (or anything else) has.
std::vector<std::string> HostileFilters(const std::string& v) {
  std::vector<std::string> out;
  for (const std::string& prefix : ContactStringFilters()) {
    if (absl::StrContains(prefix, "!=") || absl::StrContains(prefix, "<") ||
        absl::StrContains(prefix, ">")) {
      continue;  // checked separately below: they legitimately match
    }
    out.push_back(prefix + Literal(v));
    out.push_back(absl::StrCat(
        prefix, "'",
        absl::StrReplaceAll(v, {{"\\", "\\\\"}, {"'", "\\'"}, {"*", "\\*"}}),
        "'"));
  }
  return out;
}

// Filters where the hostile text is syntax, not a literal: field names,
// attribute keys, bare values, whole expressions.
std::vector<std::string> HostileSyntax(const std::string& v) {
  return {v,
          "family_name = " + v,
          "family_name = \"x\" " + v,
          "family_name = \"x\" OR " + v,
          "(" + v + ")",
          "NOT " + v,
          v + " = \"x\"",
          "attributes." + v + " = \"x\"",
          "attributes:" + v,
          "attributes:" + Literal(v),
          "attributes." + v + ":*",
          "id = " + v,
          "id = " + Literal(v),
          "merged_into = " + v,
          "lifecycle_stage = " + v,
          "consent.do_not_contact = " + v,
          "create_time > " + Literal(v),
          "last_interaction_time < " + v,
          "family_name " + v + " \"x\""};
}

TEST_F(HostileInputTest, ListContactsParametersAreData) {
  const int64_t live = Count("SELECT COUNT(*) FROM contacts");
  ASSERT_GT(live, 3);
  std::vector<std::string> values = Corpus();
  // Close to the 4096-byte filter limit, of characters that grow when
  // escaped for a status message: the error must still fit in trailers.
  values.push_back(std::string(3000, '\x01'));
  values.push_back(Repeat("\xC3\xA9", 4000));
  values.push_back(Repeat("\"", 2000));

  ParallelFor(
      values.size(),
      [&](size_t k) {
        const std::string& v = values[k];
        // Literals: plain data, matching no contact.
        for (const std::string& filter : HostileFilters(v)) {
          v1::ListContactsRequest request;
          request.set_filter(filter);
          request.set_page_size(1000);
          v1::ListContactsResponse response;
          grpc::Status status =
              List(request, "filter " + Show(filter), &response);
          if (!status.ok()) continue;  // e.g. too long
          EXPECT_THAT(response.contacts(), IsEmpty())
              << "filter " << Show(filter) << " matched "
              << response.contacts(0).ShortDebugString();
          EXPECT_EQ(response.total_size(), 0) << Show(filter);
        }
        // Negated literal: everything (the hostile value is nobody's name).
        v1::ListContactsRequest probe;
        probe.set_filter(v);
        if (v.size() < 1000 && Parses(probe)) {
          for (const std::string& prefix :
               {std::string("family_name != "),
                std::string("NOT family_name = "), std::string("-tags:")}) {
            v1::ListContactsRequest request;
            request.set_filter(prefix + Literal(v));
            request.set_page_size(1000);
            v1::ListContactsResponse response;
            grpc::Status status =
                List(request, "filter " + Show(request.filter()), &response);
            EXPECT_OK(status) << Show(request.filter());
            EXPECT_EQ(response.total_size(), live) << Show(request.filter());
          }
        }
        // Syntax: INVALID_ARGUMENT, or OK without matching the canary.
        for (const std::string& filter : HostileSyntax(v)) {
          v1::ListContactsRequest request;
          request.set_filter(filter);
          request.set_page_size(1000);
          v1::ListContactsResponse response;
          grpc::Status status =
              List(request, "filter " + Show(filter), &response);
          // `= *` is "any value", `= null` "no value" and a blank filter no
          // filter: legitimate matches.
          if (!status.ok() || v == "*" || v == "null" ||
              absl::StripAsciiWhitespace(filter).empty()) {
            continue;
          }
          for (const v1::Contact& c : response.contacts()) {
            EXPECT_NE(c.id(), canary_.id())
                << "filter " << Show(filter) << " matched the canary";
          }
        }
        // Export takes the same filter and query.
        for (const std::string& filter :
             {"family_name = " + Literal(v), "family_name = " + v}) {
          v1::ExportContactsRequest request;
          request.set_filter(filter);
          std::vector<std::string> ids;
          // A bare * is the wildcard "any value".
          if (Export(request, "filter " + Show(filter), &ids).ok() &&
              !absl::StrContains(filter, "= *")) {
            EXPECT_THAT(ids, IsEmpty()) << Show(filter);
          }
        }
        {
          v1::ExportContactsRequest request;
          request.set_query(v);
          std::vector<std::string> ids;
          Export(request, "query " + Show(v), &ids);
        }

        // Free text: data; a word that is not in the canary's text never finds
        // it.
        {
          v1::ListContactsRequest request;
          request.set_query(v);
          request.set_page_size(1000);
          v1::ListContactsResponse response;
          grpc::Status status = List(request, "query " + Show(v), &response);
          if (status.ok() && IsAscii(v)) {
            const std::string canary_text = absl::AsciiStrToLower(absl::StrCat(
                canary_.given_name(), " ", canary_.family_name(), " ",
                canary_.display_name(), " ", canary_.company(), " ",
                absl::StrJoin(canary_.emails(), " "), " ",
                absl::StrJoin(canary_.phones(), " ")));
            bool all_words_in_canary = true;
            for (absl::string_view word : absl::StrSplit(
                     v, absl::ByAnyChar(" \t,;"), absl::SkipEmpty())) {
              if (!absl::StrContains(canary_text,
                                     absl::AsciiStrToLower(word))) {
                all_words_in_canary = false;
              }
            }
            if (!all_words_in_canary) {
              for (const v1::Contact& c : response.contacts()) {
                EXPECT_NE(c.id(), canary_.id())
                    << "query " << Show(v) << " matched the canary";
              }
            }
          }
        }

        // order_by: only sortable field names and asc/desc.
        for (const std::string& order_by :
             {v, "family_name " + v, v + ", id", "family_name, " + v,
              "id " + v + " desc"}) {
          v1::ListContactsRequest request;
          request.set_order_by(order_by);
          v1::ListContactsResponse response;
          grpc::Status status =
              List(request, "order_by " + Show(order_by), &response);
          // Whitespace alone is the default order.
          if (Parses(request) && !absl::StripAsciiWhitespace(v).empty()) {
            EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
                << "order_by " << Show(order_by) << ": "
                << status.error_message();
          }
        }

        // page_token: as given, and as URL-safe base64 of the hostile bytes.
        std::string encoded;
        absl::WebSafeBase64Escape(v, &encoded);
        for (const std::string& page_token :
             {v, encoded, absl::Base64Escape(v)}) {
          v1::ListContactsRequest request;
          request.set_page_token(page_token);
          v1::ListContactsResponse response;
          grpc::Status status =
              List(request, "page_token " + Show(page_token), &response);
          if (Parses(request)) {
            EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
                << "page_token " << Show(page_token) << ": "
                << status.error_message();
          }
        }
      },
      // One at a time: some of these values get a status message too large
      // for the client (the BUG in CheckCall), which upsets the next few
      // calls on the connection; in parallel they would hit other workers'
      // calls too often for CallPaced's retries to tell them apart.
      /*threads=*/1);
}

TEST_F(HostileInputTest, PageTokensFromElsewhereOrForgedAreRejected) {
  for (int i = 0; i < 12; ++i) {
    NoteCreated(MustCreate(MakeContact(absl::StrCat("Page", i),
                                       absl::StrCat("O'Brien", i), ""))
                    .id());
  }
  // Real tokens.
  auto token_for = [&](const std::string& filter, const std::string& query,
                       const std::string& order_by) {
    v1::ListContactsRequest request;
    request.set_filter(filter);
    request.set_query(query);
    request.set_order_by(order_by);
    request.set_page_size(2);
    v1::ListContactsResponse response;
    EXPECT_OK(List(request, "setup", &response));
    EXPECT_FALSE(response.next_page_token().empty());
    return response.next_page_token();
  };
  const std::string by_id = token_for("", "", "");
  const std::string by_name = token_for("", "", "family_name");
  const std::string filtered = token_for("given_name = \"Page*\"", "", "");
  const std::string queried = token_for("", "o'brien", "");
  // The test's token model must be the server's, or the forged tokens below
  // would prove nothing.
  ASSERT_EQ(token::FingerprintOf(by_name),
            token::Fnv1a(token::ContactsDescription("", "", "family_name")));
  ASSERT_EQ(token::FingerprintOf(filtered),
            token::Fnv1a(
                token::ContactsDescription("given_name = \"Page*\"", "", "")));

  struct Case {
    std::string what;
    std::string filter;
    std::string query;
    std::string order_by;
    std::string page_token;
    bool may_succeed;
  };
  std::vector<Case> cases = {
      {"id token with another order", "", "", "family_name", by_id, false},
      {"name token with default order", "", "", "", by_name, false},
      {"filtered token without filter", "", "", "", filtered, false},
      {"filtered token, other filter", "given_name = \"Page1*\"", "", "",
       filtered, false},
      {"filtered token, injected filter", "given_name = \"Page*\" OR id > 0",
       "", "", filtered, false},
      {"query token without query", "", "", "", queried, false},
      {"query token, other query", "", "o'brien1", "", queried, false},
      {"token truncated", "", "", "", by_id.substr(0, by_id.size() - 1), false},
      {"token with a char flipped", "", "", "",
       std::string(1, by_id[0] == 'A' ? 'B' : 'A') + by_id.substr(1), false},
      {"token padded", "", "", "", by_id + "==", false},
      {"token doubled", "", "", "", by_id + by_id, false},
      {"token with a quote", "", "", "", by_id + "'", false},
      {"token with SQL", "", "", "", by_id + "' OR '1'='1", false},
      {"standard base64", "", "", "",
       absl::StrReplaceAll(by_id, {{"-", "+"}, {"_", "/"}}), true},
      {"4 KiB token", "", "", "", std::string(4096, 'A'), false},
      {"5 KiB token", "", "", "", std::string(5000, 'A'), false},
      {"1 MiB token", "", "", "", std::string(1 << 20, 'A'), false},
  };
  // Forged: valid checksum and fingerprint, hostile cursor values.
  using token::Value;
  const std::string name_desc =
      token::ContactsDescription("", "", "family_name");
  const std::string id_desc = token::ContactsDescription("", "", "");
  const std::string time_desc =
      token::ContactsDescription("", "", "create_time desc");
  const std::string last_desc =
      token::ContactsDescription("", "", "last_interaction_time");
  auto forge = [&](std::string what, const std::string& desc,
                   const std::string& order_by, std::vector<Value> values,
                   bool may_succeed) {
    cases.push_back({"forged: " + what, "", "", order_by,
                     token::Forge(desc, values), may_succeed});
  };
  for (const std::string& v :
       {std::string("' OR '1'='1"), std::string("\"; DROP TABLE contacts; --"),
        std::string("\\' ; SELECT SLEEP(5) --"), std::string("%"),
        std::string("\xF0\x9F\x98\x80"), std::string("\0", 1),
        std::string(2000, '\'')}) {
    forge("name " + Show(v), name_desc, "family_name",
          {token::Str(v), token::Int(1)}, true);
  }
  // Bytes no text column can hold: bound as a parameter all the same.
  for (const std::string& v :
       {std::string("\xff\xfe"), std::string("\xC0\xA7 OR 1=1"),
        std::string("\xED\xA0\x80"), std::string("caf\xe9")}) {
    forge("name with invalid UTF-8 " + Show(v), name_desc, "family_name",
          {token::Str(v), token::Int(1)}, true);
  }
  forge("id INT64_MIN", id_desc, "",
        {token::Int(std::numeric_limits<int64_t>::min())}, true);
  forge("id INT64_MAX", id_desc, "",
        {token::Int(std::numeric_limits<int64_t>::max())}, true);
  forge("id as string", id_desc, "", {token::Str("1 OR 1=1")}, false);
  forge("id as double", id_desc, "", {token::Double(1.5)}, false);
  forge("id as NaN", id_desc, "", {token::Double(std::nan(""))}, false);
  forge("id as bool", id_desc, "", {token::Bool(true)}, false);
  forge("id NULL", id_desc, "", {token::Null()}, false);
  forge("no values", id_desc, "", {}, false);
  forge("too many values", id_desc, "", std::vector<Value>(64, token::Int(1)),
        false);
  forge("swapped types", name_desc, "family_name",
        {token::Int(1), token::Str("x")}, false);
  forge("NULL name", name_desc, "family_name", {token::Null(), token::Int(1)},
        false);
  forge("unknown tag", id_desc, "", {Value{9, "x"}}, false);
  forge("bad bool", name_desc, "family_name",
        {token::Str("x"), Value{1, std::string(1, '\x02')}}, false);
  forge("string longer than token", name_desc, "family_name",
        {Value{4, std::string("\xff\xff\xff\xff\x0f", 5)}, token::Int(1)},
        false);
  forge("10-byte varint", id_desc, "",
        {Value{2, std::string(10, '\xff') + std::string(1, '\x01')}}, false);
  for (const std::string& t : {std::string("2024-01-01 00:00:00.000000"),
                               std::string("9999-12-31 23:59:59.999999"),
                               std::string("1000-01-01 00:00:00.000000")}) {
    forge("time " + t, time_desc, "create_time desc",
          {token::Str(t), token::Int(1)}, true);
  }
  for (const std::string& t :
       {std::string("0000-00-00 00:00:00"), std::string("2024-02-30 00:00:00"),
        std::string("2024-01-01' OR '1'='1"), std::string("NOW()"),
        std::string("")}) {
    forge("time " + Show(t), time_desc, "create_time desc",
          {token::Str(t), token::Int(1)}, false);
  }
  // A 5-digit year passes the server's timestamp check (ParseSqlDateTime)
  // and the listing answers OK: odd, harmless.
  forge("time 99999-01-01", time_desc, "create_time desc",
        {token::Str("99999-01-01 00:00:00"), token::Int(1)}, true);
  forge("NULL last_interaction_time", last_desc, "last_interaction_time",
        {token::Null(), token::Int(1)}, true);
  {
    // Version 2, and trailing bytes after the values.
    cases.push_back({"forged: version 2", "", "", "",
                     token::Seal(token::Body(id_desc, {token::Int(1)}, 2)),
                     false});
    cases.push_back(
        {"forged: trailing bytes", "", "", "",
         token::Seal(token::Body(id_desc, {token::Int(1)}) + "' OR 1=1"),
         false});
  }
  // Random bytes, sealed and not.
  std::mt19937 rng(20240501);
  for (int i = 0; i < 30; ++i) {
    std::string junk(1 + rng() % 200, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    std::string encoded;
    absl::WebSafeBase64Escape(junk, &encoded);
    cases.push_back({"random base64", "", "", "", encoded, false});
    cases.push_back({"random sealed", "", "", "", token::Seal(junk), false});
    cases.push_back({"random raw", "", "", "", junk, false});
  }

  for (const Case& c : cases) {
    const std::string input =
        absl::StrCat(c.what, " page_token ", Show(c.page_token));
    v1::ListContactsRequest request;
    request.set_filter(c.filter);
    request.set_query(c.query);
    request.set_order_by(c.order_by);
    request.set_page_token(c.page_token);
    request.set_page_size(1000);
    v1::ListContactsResponse response;
    grpc::Status status = List(request, input, &response);
    if (!Parses(request)) continue;
    if (c.may_succeed) {
      EXPECT_TRUE(status.ok() ||
                  status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
          << input << ": " << CodeName(status.error_code()) << " "
          << status.error_message();
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << input << ": " << status.error_message();
    }
    // Never more than the listing itself holds.
    EXPECT_LE(response.contacts_size(), Count("SELECT COUNT(*) FROM contacts"));
  }

  // Interaction listings take no contact token, and vice versa.
  for (const std::string& t : {by_id, by_name, filtered}) {
    v1::ListInteractionsRequest request;
    request.set_page_token(t);
    v1::ListInteractionsResponse response;
    EXPECT_EQ(
        ListInteractions(request, "contact token", &response).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }
  const std::string interaction_desc =
      token::InteractionsDescription("", "occur_time");
  for (const auto& values : std::vector<std::vector<Value>>{
           {token::Str("2024-01-01 00:00:00.000000"), token::Int(1)},
           {token::Str("' OR '1'='1"), token::Int(1)},
           {token::Str("\xff"), token::Int(1)},
           {token::Null(), token::Int(1)},
           {token::Int(1)}}) {
    v1::ListInteractionsRequest request;
    request.set_order_by("occur_time");
    request.set_page_token(token::Forge(interaction_desc, values));
    v1::ListInteractionsResponse response;
    grpc::Status status =
        ListInteractions(request, "forged interaction token", &response);
    EXPECT_TRUE(status.ok() ||
                status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
  }
}

// ------------------------------------------------- ImportContacts

TEST_F(HostileInputTest, ImportContactsKeepsHostileRowsAsDataOrRowErrors) {
  const std::vector<ContactField> fields = ContactFields();
  std::vector<v1::Contact> rows;
  int n = 0;
  for (const ContactField& field : fields) {
    for (const std::string& value : Corpus()) {
      v1::Contact c = MakeContact(absl::StrCat("imp", n++), "Import", "");
      field.set(&c, value);
      if (Parses(c)) rows.push_back(std::move(c));  // invalid UTF-8: below
    }
  }
  // Streams `batches` and returns the status; the response goes to
  // `response`. Counts what the stream created straight from the table.
  auto import = [&](const std::string& input,
                    const std::vector<v1::ImportContactsRequest>& batches,
                    v1::ImportContactsResponse* response) {
    const int64_t before = Count("SELECT COUNT(*) FROM contacts");
    const bool parses = std::all_of(
        batches.begin(), batches.end(),
        [](const v1::ImportContactsRequest& b) { return Parses(b); });
    absl::Duration elapsed;
    grpc::Status status = CallPaced(
        [&](grpc::ClientContext* c) {
          response->Clear();
          auto writer = contacts().ImportContacts(c, response);
          for (const v1::ImportContactsRequest& batch : batches) {
            if (!writer->Write(batch)) break;
          }
          writer->WritesDone();
          return writer->Finish();
        },
        &elapsed);
    CheckCall("ContactService.ImportContacts", input, status, elapsed, parses,
              /*client_stream=*/true);
    imported_contacts_ += Count("SELECT COUNT(*) FROM contacts") - before;
    return status;
  };

  std::vector<v1::ImportContactsRequest> batches;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i % 500 == 0) batches.emplace_back();
    *batches.back().add_contacts() = rows[i];
  }
  v1::ImportContactsResponse response;
  ASSERT_OK(
      import(absl::StrCat(rows.size(), " hostile rows"), batches, &response));
  EXPECT_EQ(response.received_count(), static_cast<int64_t>(rows.size()));
  EXPECT_EQ(response.created_count() + response.updated_count() +
                response.failed_count(),
            response.received_count());
  EXPECT_EQ(response.updated_count(), 0);  // no row names a live e-mail
  EXPECT_EQ(response.errors_size(), response.failed_count());
  EXPECT_GT(response.created_count(), 0);
  EXPECT_GT(response.failed_count(), 0);
  std::set<int64_t> seen;
  for (const v1::ImportError& e : response.errors()) {
    EXPECT_GE(e.index(), 0);
    EXPECT_LT(e.index(), response.received_count());
    EXPECT_TRUE(seen.insert(e.index()).second) << "row " << e.index();
    EXPECT_FALSE(e.message().empty()) << "row " << e.index();
  }
  // A created hostile row reads back as sent.
  const std::vector<std::string> found =
      FilterIds("family_name = \"Import\" AND company = " +
                Literal("'; DROP TABLE contacts; --"));
  EXPECT_EQ(found.size(), 1u);

  // More than 1000 rows in one message: refused, earlier batches stay.
  {
    std::vector<v1::ImportContactsRequest> big(2);
    *big[0].add_contacts() = MakeContact("BigFirst", "Import", "");
    for (int i = 0; i < 1001; ++i) {
      *big[1].add_contacts() = MakeContact("Big", "Import", "");
    }
    v1::ImportContactsResponse big_response;
    EXPECT_EQ(
        import("1001 rows in one message", big, &big_response).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }

  // Rows with invalid UTF-8: protobuf cannot parse the message that holds
  // them, so gRPC ends the stream there (kGrpcClientStreamParseFailure):
  // the first message is imported, the bad one and the one after it are
  // dropped, and the call is OK. received_count is how a client can tell.
  for (const std::string& value : Corpus()) {
    v1::Contact bad = MakeContact("Bad", "Import", "");
    bad.set_company(value);
    if (Parses(bad)) continue;
    std::vector<v1::ImportContactsRequest> stream(3);
    *stream[0].add_contacts() = MakeContact("Before", "Utf8Import", "");
    *stream[1].add_contacts() = MakeContact("Beside", "Utf8Import", "");
    *stream[1].add_contacts() = bad;
    *stream[2].add_contacts() = MakeContact("After", "Utf8Import", "");
    v1::ImportContactsResponse utf8_response;
    grpc::Status status =
        import("invalid UTF-8 row " + Show(value), stream, &utf8_response);
    if (status.ok()) {
      EXPECT_EQ(utf8_response.received_count(), 1) << Show(value);
      EXPECT_EQ(utf8_response.created_count(), 1) << Show(value);
    }
    utf8_import_outcomes_.insert(absl::StrCat(
        CodeName(status.error_code()), " \"", status.error_message(),
        "\" received_count=", utf8_response.received_count(),
        " created_count=", utf8_response.created_count()));
  }
  for (const std::string& outcome : utf8_import_outcomes_) {
    std::cout << "import with an unparseable message: " << outcome << "\n";
  }
}

// ------------------------------------------------- InteractionService

struct InteractionField {
  std::string name;
  std::string filter;  // prefix comparing it to a literal, or ""
  std::function<void(v1::Interaction*, const std::string&)> set;
  std::function<std::string(const v1::Interaction&)> get;
  ContactField::Rule rule;
};

std::vector<InteractionField> InteractionFields() {
  using R = ContactField::Rule;
  return {
      {"channel", "channel = ",
       [](v1::Interaction* i, const std::string& v) { i->set_channel(v); },
       [](const v1::Interaction& i) { return i.channel(); }, R::kTrimLower},
      {"subject", "",
       [](v1::Interaction* i, const std::string& v) { i->set_subject(v); },
       [](const v1::Interaction& i) { return i.subject(); }, R::kTrim},
      {"body", "",
       [](v1::Interaction* i, const std::string& v) { i->set_body(v); },
       [](const v1::Interaction& i) { return i.body(); }, R::kExact},
      {"actor", "actor = ",
       [](v1::Interaction* i, const std::string& v) { i->set_actor(v); },
       [](const v1::Interaction& i) { return i.actor(); }, R::kTrim},
      {"attributes[key]", "",
       [](v1::Interaction* i, const std::string& v) {
         (*i->mutable_attributes())[v] = "value";
       },
       [](const v1::Interaction& i) {
         return i.attributes().empty() ? "" : i.attributes().begin()->first;
       },
       R::kExact},
      {"attributes.note", "attributes.note = ",
       [](v1::Interaction* i, const std::string& v) {
         (*i->mutable_attributes())["note"] = v;
       },
       [](const v1::Interaction& i) {
         auto it = i.attributes().find("note");
         return it == i.attributes().end() ? "" : it->second;
       },
       R::kExact},
      {"amount.currency_code", "amount.currency_code = ",
       [](v1::Interaction* i, const std::string& v) {
         i->set_type(v1::PURCHASE);
         i->mutable_amount()->set_currency_code(v);
         i->mutable_amount()->set_amount_minor(100);
       },
       [](const v1::Interaction& i) { return i.amount().currency_code(); },
       R::kOther},
      {"id (output only)", "",
       [](v1::Interaction* i, const std::string& v) { i->set_id(v); },
       [](const v1::Interaction&) { return std::string(); }, R::kOther},
  };
}

TEST_F(HostileInputTest, InteractionFieldsAndListParametersAreData) {
  const std::string victim = MakeVictim("Interactions");
  // List parameters first, while the canary interaction is the only one.
  ParallelFor(Corpus().size(), [&](size_t k) {
    const std::string& v = Corpus()[k];
    std::vector<std::string> literal_filters;
    for (const InteractionField& field : InteractionFields()) {
      if (!field.filter.empty()) {
        literal_filters.push_back(field.filter + Literal(v));
      }
    }
    for (const std::string& filter : literal_filters) {
      v1::ListInteractionsRequest request;
      request.set_filter(filter);
      v1::ListInteractionsResponse response;
      if (ListInteractions(request, "filter " + Show(filter), &response).ok()) {
        EXPECT_THAT(response.interactions(), IsEmpty()) << Show(filter);
      }
    }
    for (const std::string& filter :
         {v, "type = " + v, "channel = " + v, "actor = \"x\" OR " + v,
          "attributes." + v + " = \"x\"", "attributes:" + v,
          "attributes:" + Literal(v), "amount.amount_minor > " + v,
          "amount.amount_minor = " + Literal(v), "occur_time < " + Literal(v),
          "direction = " + v, "contact_id = " + v, "id = " + v, "(" + v + ")",
          "NOT " + v}) {
      v1::ListInteractionsRequest request;
      request.set_filter(filter);
      v1::ListInteractionsResponse response;
      grpc::Status status =
          ListInteractions(request, "filter " + Show(filter), &response);
      if (status.ok() && v != "*" && v != "null" &&
          !absl::StripAsciiWhitespace(filter).empty()) {
        for (const v1::Interaction& i : response.interactions()) {
          EXPECT_NE(i.id(), canary_interaction_.id())
              << "filter " << Show(filter) << " matched the canary";
        }
      }
    }
    for (const std::string& order_by :
         {v, "occur_time " + v, v + " desc", "id, " + v}) {
      v1::ListInteractionsRequest request;
      request.set_order_by(order_by);
      v1::ListInteractionsResponse response;
      grpc::Status status =
          ListInteractions(request, "order_by " + Show(order_by), &response);
      if (Parses(request) && !absl::StripAsciiWhitespace(v).empty()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << "order_by " << Show(order_by) << ": " << status.error_message();
      }
    }
    std::string encoded;
    absl::WebSafeBase64Escape(v, &encoded);
    for (const std::string& page_token : {v, encoded}) {
      v1::ListInteractionsRequest request;
      request.set_page_token(page_token);
      v1::ListInteractionsResponse response;
      grpc::Status status = ListInteractions(
          request, "page_token " + Show(page_token), &response);
      if (Parses(request)) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << "page_token " << Show(page_token) << ": "
            << status.error_message();
      }
    }
  });

  // Text fields on LogInteraction.
  struct Accepted {
    std::string id;
    std::string stored;
  };
  absl::Mutex mu;
  std::map<std::string, std::vector<Accepted>> accepted;  // guarded by mu
  const std::vector<InteractionField> fields = InteractionFields();
  ParallelFor(fields.size(), [&](size_t f) {
    const InteractionField& field = fields[f];
    for (const std::string& value : Corpus()) {
      const std::string input = absl::StrCat(field.name, "=", Show(value));
      v1::LogInteractionRequest request;
      v1::Interaction* i = request.mutable_interaction();
      i->set_contact_id(victim);
      i->set_type(v1::NOTE);
      field.set(i, value);
      v1::Interaction logged;
      if (!Log(request, input, &logged).ok()) continue;
      EXPECT_NE(logged.id(), value) << input;
      EXPECT_EQ(logged.contact_id(), victim) << input;
      const v1::Interaction got = GetInteractionOrDie(logged.id());
      EXPECT_TRUE(MessageDifferencer::Equals(got, logged))
          << input << "\nlogged: " << logged.ShortDebugString()
          << "\nread:   " << got.ShortDebugString();
      if (field.rule == ContactField::Rule::kOther) continue;
      const std::string expected = Expected(value, field.rule);
      if (expected.empty()) continue;
      EXPECT_EQ(field.get(logged), expected) << input;
      absl::MutexLock lock(&mu);
      accepted[field.name].push_back({logged.id(), expected});
    }
  });
  absl::MutexLock lock(&mu);
  for (const InteractionField& field : fields) {
    if (field.filter.empty()) continue;
    for (const Accepted& a : accepted[field.name]) {
      v1::ListInteractionsRequest request;
      request.set_filter(field.filter + Literal(a.stored));
      request.set_page_size(1000);
      v1::ListInteractionsResponse response;
      EXPECT_OK(ListInteractions(request, "filter " + Show(request.filter()),
                                 &response));
      std::vector<std::string> ids;
      for (const v1::Interaction& i : response.interactions()) {
        ids.push_back(i.id());
      }
      EXPECT_THAT(ids, Contains(a.id)) << Show(request.filter());
      EXPECT_THAT(ids, Not(Contains(canary_interaction_.id())));
      if (!IsPrintableAscii(a.stored)) continue;
      // Interaction attributes are JSON, compared byte for byte (unlike
      // contact attributes, which compare case-insensitively).
      const bool binary = absl::StartsWith(field.filter, "attributes.");
      std::vector<std::string> want;
      for (const Accepted& b : accepted[field.name]) {
        if (IsPrintableAscii(b.stored) &&
            (binary ? b.stored == a.stored
                    : CollationKey(b.stored) == CollationKey(a.stored))) {
          want.push_back(b.id);
        }
      }
      EXPECT_THAT(ids, UnorderedElementsAreArray(want))
          << Show(request.filter());
    }
  }

  // Hostile numbers and times.
  struct Numeric {
    std::string what;
    std::function<void(v1::Interaction*)> set;
  };
  const std::vector<Numeric> numerics = {
      {"type 999",
       [](v1::Interaction* i) {
         i->set_type(static_cast<v1::InteractionType>(999));
       }},
      {"type -1",
       [](v1::Interaction* i) {
         i->set_type(static_cast<v1::InteractionType>(-1));
       }},
      {"direction 999",
       [](v1::Interaction* i) {
         i->set_direction(static_cast<v1::Direction>(999));
       }},
      {"occur_time max seconds",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(
             std::numeric_limits<int64_t>::max());
       }},
      {"occur_time min seconds",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(
             std::numeric_limits<int64_t>::min());
       }},
      {"occur_time nanos -1",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(1700000000);
         i->mutable_occur_time()->set_nanos(-1);
       }},
      {"occur_time nanos 1e9",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(1700000000);
         i->mutable_occur_time()->set_nanos(1000000000);
       }},
      {"occur_time year 0",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(-62167219200);
       }},
      {"occur_time year 9999",
       [](v1::Interaction* i) {
         i->mutable_occur_time()->set_seconds(253402300799);
       }},
      {"purchase of INT64_MIN",
       [](v1::Interaction* i) {
         i->set_type(v1::PURCHASE);
         i->mutable_amount()->set_currency_code("EUR");
         i->mutable_amount()->set_amount_minor(
             std::numeric_limits<int64_t>::min());
       }},
      {"refund of INT64_MIN",
       [](v1::Interaction* i) {
         i->set_type(v1::REFUND);
         i->mutable_amount()->set_currency_code("EUR");
         i->mutable_amount()->set_amount_minor(
             std::numeric_limits<int64_t>::min());
       }},
      {"purchase of INT64_MAX",
       [](v1::Interaction* i) {
         i->set_type(v1::PURCHASE);
         i->mutable_amount()->set_currency_code("EUR");
         i->mutable_amount()->set_amount_minor(
             std::numeric_limits<int64_t>::max());
       }},
      {"refund of INT64_MIN+1",
       [](v1::Interaction* i) {
         i->set_type(v1::REFUND);
         i->mutable_amount()->set_currency_code("EUR");
         i->mutable_amount()->set_amount_minor(
             std::numeric_limits<int64_t>::min() + 1);
       }},
  };
  for (const Numeric& num : numerics) {
    v1::LogInteractionRequest request;
    request.mutable_interaction()->set_contact_id(victim);
    request.mutable_interaction()->set_type(v1::NOTE);
    num.set(request.mutable_interaction());
    v1::Interaction logged;
    grpc::Status status = Log(request, num.what, &logged);
    if (status.ok() && logged.type() == v1::REFUND) {
      EXPECT_GT(logged.amount().amount_minor(), 0) << num.what;
    }
  }
  v1::ListInteractionsRequest sum;
  sum.set_filter("amount.amount_minor > 9223372036854775806");
  v1::ListInteractionsResponse sum_response;
  EXPECT_OK(ListInteractions(sum, "INT64_MAX filter", &sum_response));
}

// ------------------------------------------------- malformed protobuf bytes

// Raw protobuf wire-format helpers.
namespace wire {

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Tag(uint32_t field, int wire_type) {
  return Varint((uint64_t{field} << 3) | static_cast<uint64_t>(wire_type));
}
std::string Len(uint32_t field, const std::string& payload) {
  return Tag(field, 2) + Varint(payload.size()) + payload;
}

}  // namespace wire

struct GenericResult {
  grpc::Status status;
  std::vector<std::string> responses;
};

// One generic call on `stub`: start, send `messages`, half-close, read every
// response into `responses`, finish; returns the status.
grpc::Status GenericCall(grpc::GenericStub& stub, grpc::ClientContext* context,
                         const std::string& method,
                         const std::vector<std::string>& messages,
                         std::vector<std::string>* responses) {
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> rpc =
      stub.PrepareCall(context, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto wait = [&] {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return ok;
  };
  rpc->StartCall(reinterpret_cast<void*>(1));
  bool open = wait();
  for (const std::string& bytes : messages) {
    if (!open) break;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    rpc->Write(buffer, reinterpret_cast<void*>(2));
    open = wait();
  }
  if (open) {
    rpc->WritesDone(reinterpret_cast<void*>(3));
    wait();
  }
  for (;;) {
    grpc::ByteBuffer buffer;
    rpc->Read(&buffer, reinterpret_cast<void*>(4));
    if (!wait()) break;
    std::vector<grpc::Slice> slices;
    (void)buffer.Dump(&slices);
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    responses->push_back(std::move(bytes));
  }
  grpc::Status status;
  rpc->Finish(&status, reinterpret_cast<void*>(5));
  wait();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(HostileInputTest, MalformedProtobufBytesNeverReachTheHandlers) {
  const std::string canary_id = canary_.id();
  struct Method {
    std::string name;  // full gRPC method
    const Message* request_type;
    const Message* response_type;
  };
  const std::vector<Method> methods = {
      {"/rapport.v1.ContactService/CreateContact",
       &v1::CreateContactRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/GetContact",
       &v1::GetContactRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/UpdateContact",
       &v1::UpdateContactRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/DeleteContact",
       &v1::DeleteContactRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/UndeleteContact",
       &v1::UndeleteContactRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/ListContacts",
       &v1::ListContactsRequest::default_instance(),
       &v1::ListContactsResponse::default_instance()},
      {"/rapport.v1.ContactService/MergeContacts",
       &v1::MergeContactsRequest::default_instance(),
       &v1::Contact::default_instance()},
      {"/rapport.v1.ContactService/ImportContacts",
       &v1::ImportContactsRequest::default_instance(),
       &v1::ImportContactsResponse::default_instance()},
      {"/rapport.v1.ContactService/ExportContacts",
       &v1::ExportContactsRequest::default_instance(),
       &v1::ExportContactsResponse::default_instance()},
      {"/rapport.v1.ContactService/EraseContact",
       &v1::EraseContactRequest::default_instance(),
       &v1::EraseContactResponse::default_instance()},
      {"/rapport.v1.InteractionService/LogInteraction",
       &v1::LogInteractionRequest::default_instance(),
       &v1::Interaction::default_instance()},
      {"/rapport.v1.InteractionService/GetInteraction",
       &v1::GetInteractionRequest::default_instance(),
       &v1::Interaction::default_instance()},
      {"/rapport.v1.InteractionService/ListInteractions",
       &v1::ListInteractionsRequest::default_instance(),
       &v1::ListInteractionsResponse::default_instance()},
  };

  // Payloads. Ids in valid messages name no contact, so nothing is changed.
  const std::string no_id = "9223372036854775807";
  std::vector<std::pair<std::string, std::string>> payloads = {
      {"empty", ""},
      {"field 1 varint", wire::Tag(1, 0) + wire::Varint(1)},
      {"field 1 fixed64", wire::Tag(1, 1) + std::string(8, 'x')},
      {"field 1 fixed32", wire::Tag(1, 5) + std::string(4, 'x')},
      {"field 1 group", wire::Tag(1, 3) + wire::Tag(1, 4)},
      {"field 2 as string", wire::Len(2, "' OR '1'='1")},
      {"field 2 as group", wire::Tag(2, 3) + wire::Tag(2, 4)},
      {"field 1 wire type 6", wire::Tag(1, 6) + "x"},
      {"field 1 wire type 7", wire::Tag(1, 7) + "x"},
      {"field number 0", wire::Tag(0, 2) + wire::Varint(1) + "x"},
      {"end group without start", wire::Tag(5, 4)},
      {"mismatched end group", wire::Tag(5, 3) + wire::Tag(6, 4)},
      {"unterminated group", wire::Tag(5, 3) + wire::Len(1, no_id)},
      {"huge length", wire::Tag(1, 2) + wire::Varint(0xFFFFFFFFu) + "abc"},
      {"2^62 length", wire::Tag(1, 2) + wire::Varint(uint64_t{1} << 62) + "a"},
      {"negative length",
       wire::Tag(1, 2) + wire::Varint(static_cast<uint64_t>(-1)) + "a"},
      {"length past end", wire::Tag(1, 2) + wire::Varint(100) + "abc"},
      {"11-byte varint", wire::Tag(2, 0) + std::string(10, '\xff') + "\x01"},
      {"truncated varint", wire::Tag(2, 0) + "\xff\xff"},
      {"truncated tag", "\xff"},
      {"invalid UTF-8 string", wire::Len(1, "\xC0\xA7 OR 1=1")},
      {"CESU-8 string", wire::Len(1, "\xED\xA0\xBD\xED\xB8\x80")},
      {"NUL string", wire::Len(1, std::string("1\0", 2))},
      {"SQL string", wire::Len(1, "1 OR 1=1")},
      {"unknown field 536870911", wire::Len(536870911, "x")},
      {"reserved field 19000", wire::Len(19000, "x")},
      {"100k unknown fields",
       Repeat(wire::Tag(99, 0) + wire::Varint(1), 200000)},
  };
  {
    std::string open;
    std::string close;
    for (int i = 0; i < 50; ++i) {
      open += wire::Tag(99, 3);
      close = wire::Tag(99, 4) + close;
    }
    payloads.push_back({"unknown groups nested 50 deep", open + close});
    std::string deep_open;
    std::string deep_close;
    for (int i = 0; i < 100000; ++i) {
      deep_open += wire::Tag(99, 3);
      deep_close += wire::Tag(99, 4);
    }
    payloads.push_back(
        {"unknown groups nested 100000 deep", deep_open + deep_close});
    payloads.push_back({"unknown groups opened 100000 deep", deep_open});
    std::string nested = "x";
    for (int i = 0; i < 200; ++i) nested = wire::Len(98, nested);
    payloads.push_back({"unknown messages nested 200 deep", nested});
  }
  // Known message fields nested past protobuf's recursion limit: a contact
  // whose address is itself a message (field 9), and so on, as far as the
  // schema goes, then unknown groups.
  {
    std::string groups;
    for (int i = 0; i < 200; ++i) groups = wire::Tag(7, 3) + groups;
    payloads.push_back(
        {"contact with 200 open groups",
         wire::Len(1, wire::Len(9, groups + std::string(200, '\x3c')))});
  }
  // Truncations of valid messages of each kind.
  std::vector<std::string> valid;
  {
    v1::CreateContactRequest create;
    *create.mutable_contact() = canary_;
    create.mutable_contact()->clear_emails();
    create.mutable_contact()->set_id(no_id);
    create.mutable_contact()->clear_etag();
    valid.push_back(create.SerializeAsString());
    v1::ListContactsRequest list;
    list.set_filter("family_name = \"O'Brien\"");
    list.set_order_by("family_name desc");
    list.set_page_size(7);
    valid.push_back(list.SerializeAsString());
    v1::MergeContactsRequest merge;
    merge.set_primary_id(no_id);
    merge.add_duplicate_ids("9223372036854775806");
    valid.push_back(merge.SerializeAsString());
  }
  for (size_t v = 0; v < valid.size(); ++v) {
    for (size_t cut = 1; cut < valid[v].size();
         cut += 1 + valid[v].size() / 8) {
      payloads.push_back({absl::StrCat("valid message ", v, " cut at ", cut),
                          valid[v].substr(0, cut)});
    }
  }
  // Random bytes (fixed seed: the same bytes on every run).
  std::mt19937 rng(42);
  for (int i = 0; i < 12; ++i) {
    const size_t size = i < 6 ? 1 + rng() % 16 : 1 + rng() % 4096;
    std::string junk(size, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    payloads.push_back({absl::StrCat("random ", size, " bytes #", i), junk});
  }

  grpc::GenericStub stub(channel());
  // One call: start, send `messages`, half-close, read everything, finish.
  // Paced and checked like every other call.
  auto call = [&](const std::string& method,
                  const std::vector<std::string>& messages,
                  const std::string& input, bool parses,
                  const std::string& label = "") {
    GenericResult result;
    absl::Duration elapsed;
    result.status = CallPaced(
        [&](grpc::ClientContext* context) {
          result.responses.clear();
          return GenericCall(stub, context, method, messages,
                             &result.responses);
        },
        &elapsed);
    CheckCall(label.empty() ? method : label, input, result.status, elapsed,
              parses,
              /*client_stream=*/absl::EndsWith(method, "/ImportContacts"));
    return result;
  };

  const int64_t contacts_before = Count("SELECT COUNT(*) FROM contacts");
  const int64_t interactions_before =
      Count("SELECT COUNT(*) FROM interactions");
  for (const Method& m : methods) {
    for (const auto& [what, bytes] : payloads) {
      std::unique_ptr<Message> probe(m.request_type->New());
      const bool parses = probe->ParseFromString(bytes);
      const std::string input = absl::StrCat(what, " (", bytes.size(), " B)");
      GenericResult r = call(m.name, {bytes}, input, parses);
      if (!parses) {
        malformed_outcomes_.insert(
            absl::StrCat(m.name, ": ", CodeName(r.status.error_code()), " \"",
                         r.status.error_message(), "\""));
      }
      // Whatever a response holds must itself parse.
      for (const std::string& response : r.responses) {
        std::unique_ptr<Message> out(m.response_type->New());
        EXPECT_TRUE(out->ParseFromString(response)) << m.name << " " << input;
      }
    }
  }
  // Client streaming: garbage after a good message, and several garbage
  // messages.
  {
    v1::ImportContactsRequest good;
    *good.add_contacts() = MakeContact("Streamed", "Generic", "");
    const std::string good_bytes = good.SerializeAsString();
    for (const auto& [what, bytes] : payloads) {
      std::unique_ptr<Message> probe(
          v1::ImportContactsRequest::default_instance().New());
      const bool parses = probe->ParseFromString(bytes);
      GenericResult r = call(
          "/rapport.v1.ContactService/ImportContacts",
          {good_bytes, bytes, good_bytes}, what, parses,
          "/rapport.v1.ContactService/ImportContacts (good, payload, good)");
      v1::ImportContactsResponse response;
      if (r.status.ok() && !r.responses.empty() &&
          response.ParseFromString(r.responses[0]) && !parses) {
        // Only the first good message was read (kGrpcClientStreamParse...).
        EXPECT_EQ(response.received_count(), 1) << what;
        malformed_outcomes_.insert(absl::StrCat(
            "ImportContacts stream good+garbage+good: OK received_count=",
            response.received_count(),
            " created_count=", response.created_count()));
      } else if (!parses) {
        malformed_outcomes_.insert(
            absl::StrCat("ImportContacts stream good+garbage+good: ",
                         CodeName(r.status.error_code()), " \"",
                         r.status.error_message(), "\""));
      }
    }
  }
  // What a parseable payload did is counted like any create.
  imported_contacts_ +=
      Count("SELECT COUNT(*) FROM contacts") - contacts_before;
  for (const auto& [what, bytes] : payloads) {
    (void)what;
    v1::LogInteractionRequest probe;
    if (probe.ParseFromString(bytes) && probe.has_interaction()) {
      ADD_FAILURE() << "a payload parses as an interaction to log: " << what;
    }
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interactions"), interactions_before);
  for (const std::string& outcome : malformed_outcomes_) {
    std::cout << "unparseable request -> " << outcome << "\n";
  }
}

// ------------------------------------------------- the issue's scenario

TEST_F(HostileInputTest, InjectionInAFilterLiteralMatchesNothing) {
  const std::string hostile = "O'Brien\"; DROP TABLE contacts; --";
  v1::CreateContactRequest request;
  *request.mutable_contact() = MakeContact("Conor", hostile, "");
  v1::Contact created;
  ASSERT_OK(Create(request, Show(hostile), &created));
  EXPECT_EQ(created.family_name(), hostile);
  EXPECT_EQ(GetOrDie(created.id()).family_name(), hostile);

  // Quoted properly, it is found, and only it.
  EXPECT_THAT(FilterIds("family_name = " + Literal(hostile)),
              UnorderedElementsAreArray({created.id()}));
  EXPECT_THAT(FilterIds("family_name = 'O\\'Brien\"; DROP TABLE contacts; --'"),
              UnorderedElementsAreArray({created.id()}));
  EXPECT_THAT(FilterIds("family_name = \"O'Brien*\""),
              UnorderedElementsAreArray({created.id()}));
  EXPECT_THAT(FilterIds("", "o'brien\""),
              UnorderedElementsAreArray({created.id()}));

  // Injection inside a literal matches nothing while there are contacts.
  ASSERT_GT(Count("SELECT COUNT(*) FROM contacts"), 1);
  for (const std::string& filter :
       {std::string("family_name = \"x' OR '1'='1\""),
        std::string("family_name = 'x\\' OR \\'1\\'=\\'1'"),
        std::string("family_name = \"x\\\" OR \\\"1\\\"=\\\"1\""),
        std::string("family_name = \"') OR ('1'='1\""),
        std::string("family_name = \"%\""), std::string("family_name = \"_%\""),
        std::string("family_name = \"\\\\\""),
        std::string("family_name = \"\\\\' OR 1=1 -- \""),
        std::string("family_name = \"x' OR SLEEP(5) OR 'x\""),
        std::string("attributes.role = \"x' OR '1'='1\""),
        std::string("attributes.role = \"canary' OR 1=1 --\""),
        std::string("tags:\"x' OR '1'='1\""), std::string("emails:\"%\""),
        std::string("emails = \"_%_\""),
        std::string("company = \"' UNION SELECT 1 --\"")}) {
    EXPECT_THAT(FilterIds(filter), IsEmpty()) << filter;
  }
  // Injection in field names and attribute keys is a syntax error.
  for (const std::string& filter :
       {std::string("attributes.x' OR 1=1 = \"y\""),
        std::string("attributes.role' OR '1'='1 = \"canary\""),
        std::string("attributes.`role` = \"canary\""),
        std::string("attributes.role/**/ = \"canary\""),
        std::string("attributes:\"role' OR 1=1 --\""),
        std::string("family_name' OR '1'='1 = \"x\""),
        std::string("c.family_name = \"Sentinel\""),
        std::string("family_name = \"x\" OR 1=1"),
        std::string("family_name = \"x\"; DROP TABLE contacts")}) {
    v1::ListContactsRequest list;
    list.set_filter(filter);
    v1::ListContactsResponse response;
    EXPECT_EQ(List(list, "filter " + filter, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << filter;
  }
  EXPECT_THAT(FilterIds("", "x' OR '1'='1"), IsEmpty());
  EXPECT_THAT(FilterIds("", "%"), IsEmpty());
  EXPECT_THAT(FilterIds("", "_"), IsEmpty());

  // Resource exhaustion through the filter: long OR / AND chains of
  // sub-queries, deep nesting, LIKE back-tracking. Must answer in < 2 s,
  // without INTERNAL.
  std::vector<std::string> heavy;
  for (const std::string& op : {std::string(" AND "), std::string(" OR ")}) {
    for (const std::string& term :
         {std::string("tags:\"t%d\""), std::string("emails:\"e%d*\""),
          std::string("attributes.k%d = \"*v*\""),
          std::string("NOT phones:\"%d\"")}) {
      std::vector<std::string> terms;
      std::string filter;
      for (int i = 0; filter.size() < 4000; ++i) {
        terms.push_back(absl::StrReplaceAll(term, {{"%d", absl::StrCat(i)}}));
        filter = absl::StrJoin(terms, op);
      }
      terms.pop_back();
      heavy.push_back(absl::StrJoin(terms, op));
    }
  }
  {
    std::string nested = "family_name = \"x\"";
    for (int i = 0; i < 63; ++i) nested = "NOT (" + nested + ")";
    heavy.push_back(nested);
    std::string too_deep = "family_name = \"x\"";
    for (int i = 0; i < 200; ++i) too_deep = "(" + too_deep + ")";
    heavy.push_back(too_deep);
    heavy.push_back(Repeat("NOT ", 1000) + "id = 1");
    heavy.push_back(Repeat("-", 4000) + "id = 1");
  }
  {
    // A value LIKE has to back-track over: "a" x 200 against *a*a*...*b.
    v1::Contact aaa = MakeContact("Like", std::string(200, 'a'), "");
    aaa.set_company(std::string(200, 'a'));
    (*aaa.mutable_attributes())["k"] = std::string(1024, 'a');
    v1::CreateContactRequest create;
    *create.mutable_contact() = aaa;
    v1::Contact made;
    ASSERT_OK(Create(create, "LIKE victim", &made));
    std::string pattern;
    while (pattern.size() < 1900) pattern += "*a";
    heavy.push_back("company = \"" + pattern + "*b\"");
    heavy.push_back("family_name = \"" + pattern + "*b\" OR company = \"" +
                    pattern + "*b\"");
    heavy.push_back("attributes.k = \"" + pattern + "*b\"");
  }
  for (const std::string& filter : heavy) {
    for (const std::string& query : {std::string(), std::string("a a a a")}) {
      v1::ListContactsRequest list;
      list.set_filter(filter);
      list.set_query(query);
      v1::ListContactsResponse response;
      List(list,
           absl::StrCat("heavy filter ", Show(filter), " query ", Show(query)),
           &response);
    }
  }
}

// ------------------------------------------------- the largest valid values

// Values at every documented limit, made of characters that grow when
// stored (4-byte UTF-8, JSON-escaped): the contract says they are valid, so
// they must be stored and read back, not refused by a column that is too
// small.
TEST_F(HostileInputTest, LargestValidValuesAreStored) {
  const std::string emoji = "\xF0\x9F\x98\x80";
  const std::string html = "<>&'\"\\";
  const std::string victim = MakeVictim("Largest");
  for (const std::string& unit : {emoji, html, std::string("\xE2\x80\xAE")}) {
    SCOPED_TRACE(absl::StrCat("made of ", Show(unit)));
    // `n` characters: `html` is six one-byte characters, cycled; the others
    // are one character each, repeated.
    auto chars = [&](size_t n) {
      std::string out;
      for (size_t k = 0; k < n; ++k) {
        out += unit == html ? unit.substr(k % unit.size(), 1) : unit;
      }
      return out;
    };
    v1::Contact c;
    c.set_given_name(chars(200));
    c.set_family_name(chars(200));
    c.set_display_name(chars(400));
    c.set_company(chars(200));
    c.set_job_title(chars(200));
    c.set_owner(chars(200));
    c.set_source(chars(200));
    for (int i = 0; i < 50; ++i) {
      c.add_tags(absl::StrCat(i, chars(62)));
    }
    for (int i = 0; i < 100; ++i) {
      (*c.mutable_attributes())[absl::StrCat("k", i)] = chars(1024);
    }
    v1::PostalAddress* a = c.mutable_address();
    for (int i = 0; i < 5; ++i) a->add_lines(chars(200));
    a->set_locality(chars(200));
    a->set_region(chars(200));
    a->set_postal_code(chars(200));
    a->set_country_code("DE");
    v1::CreateContactRequest request;
    *request.mutable_contact() = c;
    v1::Contact created;
    grpc::Status status = Create(request, "largest valid contact", &created);
    // BUG: contacts.address holds the address as JSON in VARBINARY(4096);
    // 8 fields of 200 characters (5 lines, locality, region, postal code)
    // need up to 6400 bytes of UTF-8, more once JSON-escaped, so a valid
    // contact is refused with INVALID_ARGUMENT "creating contact: a value is
    // too long (Data too long for column 'address' at row 1)".
    EXPECT_OK(status) << "BUG: largest valid contact refused";
    if (status.ok()) {
      const v1::Contact got = GetOrDie(created.id());
      EXPECT_TRUE(MessageDifferencer::Equals(got, created));
      EXPECT_EQ(got.address().lines(4), chars(200));
      EXPECT_EQ(got.attributes().at("k99"), chars(1024));
    }
    // Only the address at its limit.
    v1::CreateContactRequest address_only;
    *address_only.mutable_contact()->mutable_address() = *a;
    v1::Contact created_address;
    EXPECT_OK(Create(address_only, "largest valid address", &created_address))
        << "BUG: an address of 5 x 200 + 3 x 200 characters is valid";

    v1::LogInteractionRequest log;
    v1::Interaction* i = log.mutable_interaction();
    i->set_contact_id(victim);
    i->set_type(v1::NOTE);
    i->set_channel(std::string(64, 'c'));
    i->set_subject(chars(500));
    std::string body;
    while (body.size() + unit.size() <= 65536) body += unit;
    i->set_body(body);
    i->set_actor(chars(200));
    // Keys of one length ("k00".."k99"), so that the JSON's layout does not
    // depend on the map's (random) iteration order.
    for (int k = 0; k < 100; ++k) {
      (*i->mutable_attributes())[absl::StrCat("k", k / 10, k % 10)] =
          chars(1024);
    }
    v1::Interaction logged;
    status = Log(log, "largest valid interaction", &logged);
    // BUG: interactions.attributes holds the map as JSON in TEXT (at most
    // 65535 bytes), but 100 values of 1024 characters are valid (up to
    // ~400 KiB): refused with INVALID_ARGUMENT "logging interaction: a value
    // is too long (Data too long for column 'attributes' at row 1)".
    EXPECT_OK(status) << "BUG: largest valid interaction refused";
    if (status.ok()) {
      const v1::Interaction got = GetInteractionOrDie(logged.id());
      EXPECT_TRUE(MessageDifferencer::Equals(got, logged));
    }
    if (unit == emoji) {
      // BUG, and an INTERNAL: when byte 65535 of that JSON falls inside a
      // multi-byte character, MariaDB reports error 1366 (Incorrect string
      // value ... for column attributes) instead of 1406, which
      // sql_error.cc maps to INTERNAL "logging interaction: database error
      // 1366 (see server log)". 100 values of 1000 emoji put the cut 3
      // bytes into one.
      for (int k = 0; k < 100; ++k) {
        (*i->mutable_attributes())[absl::StrCat("k", k / 10, k % 10)] =
            chars(1000);
      }
      v1::Interaction cut;
      EXPECT_OK(Log(log, "interaction with 100 x 1000 emoji attributes", &cut))
          << "BUG: valid interaction refused";
    }
    // The same characters in attributes that fit in 64 KiB are stored:
    // only the size is the problem.
    i->clear_attributes();
    for (int k = 0; k < 10; ++k) {
      (*i->mutable_attributes())[absl::StrCat("k", k)] = chars(1024);
    }
    v1::Interaction smaller;
    EXPECT_OK(Log(log, "interaction with 10 attributes", &smaller));
  }
}

// Minimal reproductions of the oversized-status-message bug flagged by
// CheckCall ("BUG: ... too large for gRPC trailers").
TEST_F(HostileInputTest, ErrorMessagesFitInTrailers) {
  const std::string victim = MakeVictim("Trailers");
  // BUG: the filter compiler quotes the whole offending value
  // (QuoteForMessage in server/query/filter_parser.cc has no length bound;
  // used by ValueError and the attribute-key errors in filter_compiler.cc):
  // 1500 x "\u00e9" (3000 bytes, well under the 4096-byte filter limit)
  // becomes ~9 KB once percent-encoded in grpc-message.
  v1::ListContactsRequest list;
  list.set_filter("create_time > \"" + Repeat("\xC3\xA9", 3000) + "\"");
  v1::ListContactsResponse response;
  EXPECT_EQ(
      List(list, "create_time > \"\u00e9 x 1500\"", &response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  list.set_filter("id = " + std::string(2100, '\x01'));
  EXPECT_EQ(List(list, "id = \\x01 x 2100", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Consequence, observed with gRPC 1.51 but not on every run (so only
  // printed, not asserted): after such a response the client's HTTP/2
  // connection can stay out of step for the next few calls, whoever makes
  // them; the client answered RESOURCE_EXHAUSTED "received initial metadata
  // size exceeds limit" for the next 3 calls (a valid GetContact of the
  // canary included), and the server logged INTERNAL "Couldn't initialize
  // byte buffer reader" for valid ListContacts requests arriving then. So
  // one hostile caller can break calls of others that share its connection
  // (e.g. behind a proxy). CallPaced retries such calls.
  {
    auto context = Context();
    list.set_filter("id = " + std::string(2100, '\x01'));
    (void)contacts().ListContacts(context.get(), list, &response);
    int failed = 0;
    for (int i = 0; i < 3; ++i) {
      v1::GetContactRequest get;
      get.set_id(canary_.id());
      v1::Contact got;
      auto get_context = Context();
      if (!contacts().GetContact(get_context.get(), get, &got).ok()) ++failed;
    }
    std::cout << "valid GetContact calls that failed right after an oversized "
                 "error response: "
              << failed << " of 3\n";
  }
  // BUG: CheckEtag (server/storage/contact_store.cc) echoes the caller's
  // etag whole in the ABORTED message.
  v1::UpdateContactRequest update;
  update.mutable_contact()->set_id(victim);
  update.mutable_contact()->set_etag(std::string(10000, 'x'));
  update.mutable_contact()->set_given_name("Etag");
  update.mutable_update_mask()->add_paths("given_name");
  v1::Contact updated;
  EXPECT_EQ(Update(update, "etag of 10000 x", &updated).error_code(),
            grpc::StatusCode::ABORTED);
  v1::DeleteContactRequest del;
  del.set_id(victim);
  del.set_etag(std::string(10000, 'x'));
  v1::Contact deleted;
  EXPECT_EQ(Run("ContactService.DeleteContact", "etag of 10000 x", del,
                [&](grpc::ClientContext* c) {
                  return contacts().DeleteContact(c, del, &deleted);
                })
                .error_code(),
            grpc::StatusCode::ABORTED);
}

}  // namespace
}  // namespace rapport::testing
