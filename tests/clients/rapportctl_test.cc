// End to end: the rapportctl binary against a real rapportd (plaintext, on a
// kernel-picked port) on a private test database. Every sub-command's happy
// path and one error path with its exit code; JSON output parsed back into
// the API's messages.
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/v1/admin_service.pb.h"
#include "rapport/v1/contact_service.pb.h"
#include "rapport/v1/interaction_service.pb.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Parses `json` into a message; a test failure if it does not parse.
template <typename Message>
Message Parse(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

class RapportctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    server_ = RapportdProcess::Start(RAPPORTD_PATH, *db_).release();
    ASSERT_NE(server_, nullptr);
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    config_path_ = absl::StrCat(
        ::testing::TempDir(), "/rapportctl_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".yaml");
    std::remove(config_path_.c_str());
  }

  std::string Addr() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  // Runs rapportctl with `args`; RAPPORT_ADDR points at the server unless
  // `env` overrides it (an empty value removes it).
  RunResult Run(const std::vector<std::string>& args,
                std::map<std::string, std::string> env = {}) {
    std::map<std::string, std::string> full = {
        {"PATH", "/usr/bin:/bin"},
        {"HOME", ::testing::TempDir()},
        {"RAPPORTCTL_CONFIG", config_path_},
        {"RAPPORT_ADDR", Addr()},
        {"RAPPORT_API_KEY", kTestAdminKey}};
    for (auto& [key, value] : env) {
      if (value.empty()) {
        full.erase(key);
      } else {
        full[key] = value;
      }
    }
    std::vector<std::string> argv = {RAPPORTCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult result;
    std::unique_ptr<ChildProcess> child = ChildProcess::Start(argv, full);
    if (child == nullptr) return result;
    result.code = child->Wait(absl::Seconds(120)).value_or(-1);
    result.out = child->Stdout();
    result.err = child->Stderr();
    return result;
  }

  // Creates a contact with `args` (plus -o json); its parsed result.
  v1::Contact Create(const std::vector<std::string>& args) {
    std::vector<std::string> full = {"contacts", "create", "-o", "json"};
    full.insert(full.end(), args.begin(), args.end());
    RunResult r = Run(full);
    EXPECT_EQ(r.code, 0) << r.err;
    return Parse<v1::Contact>(r.out);
  }

  static TestDatabase* db_;
  static RapportdProcess* server_;
  std::string config_path_;
};

TestDatabase* RapportctlTest::db_ = nullptr;
RapportdProcess* RapportctlTest::server_ = nullptr;

TEST_F(RapportctlTest, HelpAndUsageErrors) {
  RunResult help = Run({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Examples:"));
  RunResult import_help = Run({"contacts", "import", "--help"});
  EXPECT_EQ(import_help.code, 0);
  EXPECT_THAT(import_help.out, HasSubstr("attr.<key>"));

  EXPECT_EQ(Run({}).code, 2);
  EXPECT_EQ(Run({"contacts"}).code, 2);
  RunResult bad_flag = Run({"contacts", "list", "--no-such-flag"});
  EXPECT_EQ(bad_flag.code, 2);
  EXPECT_THAT(bad_flag.err, StartsWith("error: USAGE: "));
  EXPECT_EQ(Run({"contacts", "list", "-o", "xml"}).code, 2);
}

TEST_F(RapportctlTest, CreateGetUpdateAndTableOutput) {
  v1::Contact ada =
      Create({"--given-name", "Ada", "--family-name", "Lovelace", "--email",
              "ada@crud.example", "--tag", "vip", "--attr", "plan=gold",
              "--lifecycle-stage", "customer"});
  ASSERT_FALSE(ada.id().empty());
  EXPECT_EQ(ada.given_name(), "Ada");
  EXPECT_THAT(ada.emails(), ::testing::ElementsAre("ada@crud.example"));
  EXPECT_EQ(ada.lifecycle_stage(), v1::CUSTOMER);
  EXPECT_EQ(ada.attributes().at("plan"), "gold");

  RunResult table = Run({"contacts", "get", ada.id()});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("ID"));
  EXPECT_THAT(table.out, HasSubstr(ada.id()));
  EXPECT_THAT(table.out, HasSubstr("ada@crud.example"));

  RunResult yaml = Run({"contacts", "get", ada.id(), "-o", "yaml"});
  ASSERT_EQ(yaml.code, 0) << yaml.err;
  EXPECT_THAT(yaml.out, HasSubstr("givenName: Ada"));

  RunResult updated = Run({"contacts", "update", ada.id(), "--company",
                           "Analytical Engines", "-o", "json"});
  ASSERT_EQ(updated.code, 0) << updated.err;
  v1::Contact after = Parse<v1::Contact>(updated.out);
  EXPECT_EQ(after.company(), "Analytical Engines");
  EXPECT_EQ(after.given_name(), "Ada");  // not in the mask: kept

  // Error paths: nothing to update (usage), stale etag (ABORTED: other).
  EXPECT_EQ(Run({"contacts", "update", ada.id()}).code, 2);
  RunResult stale = Run(
      {"contacts", "update", ada.id(), "--company", "X", "--etag", ada.etag()});
  EXPECT_EQ(stale.code, 1) << stale.err;
  EXPECT_THAT(stale.err, StartsWith("error: ABORTED: "));
  // Duplicate e-mail: ALREADY_EXISTS.
  RunResult dup = Run({"contacts", "create", "--email", "ada@crud.example"});
  EXPECT_EQ(dup.code, 1);
  EXPECT_THAT(dup.err, StartsWith("error: ALREADY_EXISTS: "));
}

TEST_F(RapportctlTest, DeleteUndeleteMergeErase) {
  v1::Contact a =
      Create({"--given-name", "Grace", "--email", "g@life.example"});
  v1::Contact b =
      Create({"--given-name", "Grace H", "--email", "gh@life.example"});

  ASSERT_EQ(Run({"contacts", "delete", a.id()}).code, 0);
  RunResult gone = Run({"contacts", "get", a.id()});
  EXPECT_EQ(gone.code, 3);
  EXPECT_THAT(gone.err, StartsWith("error: NOT_FOUND: "));
  RunResult shown =
      Run({"contacts", "get", a.id(), "--show-deleted", "-o", "json"});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_TRUE(Parse<v1::Contact>(shown.out).has_delete_time());
  ASSERT_EQ(Run({"contacts", "undelete", a.id()}).code, 0);
  EXPECT_EQ(Run({"contacts", "get", a.id()}).code, 0);
  // Undeleting a live contact: ALREADY_EXISTS.
  EXPECT_EQ(Run({"contacts", "undelete", a.id()}).code, 1);

  RunResult merged = Run({"contacts", "merge", a.id(), b.id(), "-o", "json"});
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_THAT(
      Parse<v1::Contact>(merged.out).emails(),
      ::testing::UnorderedElementsAre("g@life.example", "gh@life.example"));
  RunResult dup =
      Run({"contacts", "get", b.id(), "--show-deleted", "-o", "json"});
  ASSERT_EQ(dup.code, 0);
  EXPECT_EQ(Parse<v1::Contact>(dup.out).merged_into(), a.id());
  // Merging a contact into itself: INVALID_ARGUMENT.
  EXPECT_EQ(Run({"contacts", "merge", a.id(), a.id()}).code, 1);

  EXPECT_EQ(Run({"contacts", "erase", a.id()}).code, 2);  // needs --yes
  RunResult erased = Run({"contacts", "erase", a.id(), "--yes", "-o", "json"});
  ASSERT_EQ(erased.code, 0) << erased.err;
  EXPECT_EQ(Parse<v1::EraseContactResponse>(erased.out).id(), a.id());
  EXPECT_EQ(Run({"contacts", "get", a.id(), "--show-deleted"}).code, 3);
  EXPECT_EQ(Run({"contacts", "erase", a.id(), "--yes"}).code, 3);
}

TEST_F(RapportctlTest, ListPagesAndFollowsTokens) {
  for (int i = 0; i < 5; ++i) {
    Create({"--given-name", absl::StrCat("Page", i), "--tag", "paged"});
  }
  RunResult first = Run({"contacts", "list", "--filter", "tags:\"paged\"",
                         "--page-size", "2", "-o", "json"});
  ASSERT_EQ(first.code, 0) << first.err;
  auto page1 = Parse<v1::ListContactsResponse>(first.out);
  EXPECT_EQ(page1.contacts_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());

  RunResult second =
      Run({"contacts", "list", "--filter", "tags:\"paged\"", "--page-size", "2",
           "--page-token", page1.next_page_token(), "-o", "json"});
  ASSERT_EQ(second.code, 0) << second.err;
  auto page2 = Parse<v1::ListContactsResponse>(second.out);
  EXPECT_EQ(page2.contacts_size(), 2);
  EXPECT_NE(page2.contacts(0).id(), page1.contacts(0).id());

  RunResult all = Run({"contacts", "list", "--filter", "tags:\"paged\"",
                       "--page-size", "2", "--all", "-o", "json"});
  ASSERT_EQ(all.code, 0) << all.err;
  auto every = Parse<v1::ListContactsResponse>(all.out);
  EXPECT_EQ(every.contacts_size(), 5);
  EXPECT_TRUE(every.next_page_token().empty());

  RunResult query = Run({"contacts", "list", "--query", "Page3", "-o", "json"});
  ASSERT_EQ(query.code, 0) << query.err;

  RunResult bad = Run({"contacts", "list", "--filter", "(tags:"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, StartsWith("error: INVALID_ARGUMENT: "));
}

TEST_F(RapportctlTest, Interactions) {
  v1::Contact c =
      Create({"--given-name", "Buyer", "--email", "buyer@i.example"});
  RunResult logged = Run({"interactions", "log", "--contact", c.id(), "--type",
                          "purchase", "--amount-minor", "4999", "--currency",
                          "EUR", "--subject", "Order 1", "-o", "json"});
  ASSERT_EQ(logged.code, 0) << logged.err;
  auto interaction = Parse<v1::Interaction>(logged.out);
  EXPECT_EQ(interaction.type(), v1::PURCHASE);
  EXPECT_EQ(interaction.amount().amount_minor(), 4999);

  RunResult got = Run({"interactions", "get", interaction.id(), "-o", "json"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(Parse<v1::Interaction>(got.out).subject(), "Order 1");

  RunResult list =
      Run({"interactions", "list", "--contact", c.id(), "--all", "-o", "json"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(Parse<v1::ListInteractionsResponse>(list.out).interactions_size(),
            1);
  RunResult table = Run({"interactions", "list", "--contact", c.id()});
  EXPECT_THAT(table.out, HasSubstr("PURCHASE"));

  EXPECT_EQ(
      Run({"interactions", "log", "--contact", c.id(), "--type", "BOGUS"}).code,
      2);
  // An interaction for an erased contact: NOT_FOUND.
  ASSERT_EQ(Run({"contacts", "erase", c.id(), "--yes"}).code, 0);
  EXPECT_EQ(Run({"interactions", "get", interaction.id()}).code, 3);
}

TEST_F(RapportctlTest, Admin) {
  RunResult plugins = Run({"admin", "plugins", "-o", "json"});
  ASSERT_EQ(plugins.code, 0) << plugins.err;
  Parse<v1::ListPluginsResponse>(plugins.out);
  RunResult table = Run({"admin", "plugins"});
  EXPECT_THAT(table.out, StartsWith("NAME"));

  RunResult parked = Run({"admin", "parked", "-o", "json"});
  ASSERT_EQ(parked.code, 0) << parked.err;
  EXPECT_EQ(
      Parse<v1::ListParkedEventsResponse>(parked.out).parked_events_size(), 0);

  RunResult retry = Run({"admin", "retry-parked", "nobody", "12345"});
  EXPECT_EQ(retry.code, 3) << retry.err;
  EXPECT_THAT(retry.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(RapportctlTest, ConnectionSettingsAndContexts) {
  // Nothing listens on port 1: UNAVAILABLE, exit 5.
  RunResult down =
      Run({"contacts", "list", "--addr", "127.0.0.1:1", "--timeout", "3"});
  EXPECT_EQ(down.code, 5);
  EXPECT_THAT(down.err, StartsWith("error: UNAVAILABLE: "));

  std::map<std::string, std::string> no_env = {{"RAPPORT_ADDR", ""}};
  ASSERT_EQ(Run({"config", "set-context", "dead", "--addr", "127.0.0.1:1",
                 "--plaintext"},
                no_env)
                .code,
            0);
  ASSERT_EQ(
      Run({"config", "set-context", "test", "--addr", Addr(), "--plaintext"},
          no_env)
          .code,
      0);
  RunResult contexts = Run({"config", "get-contexts"}, no_env);
  ASSERT_EQ(contexts.code, 0);
  EXPECT_THAT(contexts.out, HasSubstr("*"));  // the first one became current
  EXPECT_EQ(Run({"contacts", "list", "--timeout", "3"}, no_env).code, 5);
  ASSERT_EQ(Run({"config", "use-context", "test"}, no_env).code, 0);
  EXPECT_EQ(Run({"contacts", "list"}, no_env).code, 0);
  EXPECT_EQ(
      Run({"contacts", "list", "--context", "dead", "--timeout", "3"}, no_env)
          .code,
      5);
  // A flag beats the context; the environment too.
  EXPECT_EQ(
      Run({"contacts", "list", "--context", "dead", "--addr", Addr()}, no_env)
          .code,
      0);
  EXPECT_EQ(
      Run({"contacts", "list", "--context", "dead"}, {{"RAPPORT_ADDR", Addr()}})
          .code,
      0);
  EXPECT_EQ(Run({"config", "use-context", "nope"}, no_env).code, 3);
  // The API key is sent: a wrong one is refused (exit 4, permission), and
  // the flag beats the environment's (valid) key.
  RunResult wrong = Run({"contacts", "list", "--api-key", "rk_test"});
  EXPECT_EQ(wrong.code, 4);
  EXPECT_THAT(wrong.err, ::testing::HasSubstr("UNAUTHENTICATED"));
  EXPECT_EQ(Run({"contacts", "list", "--api-key", kTestAdminKey},
                {{"RAPPORT_API_KEY", "rk_wrong"}})
                .code,
            0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(RapportctlTest, ImportTenThousandRowsReportsBadOnesAndRoundTrips) {
  const std::string dir = ::testing::TempDir();
  const std::string csv = dir + "/rapportctl_import.csv";
  const std::string report = dir + "/rapportctl_report.csv";
  std::set<int64_t> bad_rows;
  {
    std::ofstream out(csv);
    out << "given_name,family_name,email,tags,lifecycle_stage,source,attr."
           "plan\n";
    for (int i = 0; i < 10000; ++i) {
      int64_t row = i + 2;  // row 1 is the header
      if (i % 1000 == 7) {
        bad_rows.insert(row);
        switch ((i / 1000) % 3) {
          case 0:  // the server rejects the e-mail
            out << "Bad" << i << ",Row,bad" << i << "@,imported,LEAD,bulk,\n";
            break;
          case 1:  // rapportctl rejects the stage
            out << "Bad" << i << ",Row,b" << i
                << "@bulk.example,imported,VIP,bulk,\n";
            break;
          case 2:  // wrong number of fields
            out << "Bad" << i << ",Row\n";
            break;
        }
        continue;
      }
      out << "Given" << i << ",\"Family, " << i << "\",user" << i
          << "@bulk.example,imported;batch" << (i % 3) << ",CUSTOMER,bulk,"
          << (i % 2 ? "gold" : "") << "\n";
    }
  }
  ASSERT_EQ(bad_rows.size(), 10u);

  RunResult imported =
      Run({"contacts", "import", csv, "--report", report, "-o", "json"});
  EXPECT_EQ(imported.code, 1) << imported.err;
  EXPECT_THAT(imported.err, HasSubstr("10 of 10000 rows failed"));
  auto summary = Parse<v1::ImportContactsResponse>(imported.out);
  EXPECT_EQ(summary.received_count(), 10000);
  EXPECT_EQ(summary.created_count(), 9990);
  EXPECT_EQ(summary.failed_count(), 10);

  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(report), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[0], "row,field,message");
  std::set<int64_t> reported;
  for (size_t i = 1; i < lines.size(); ++i) {
    int64_t row = 0;
    ASSERT_TRUE(absl::SimpleAtoi(lines[i].substr(0, lines[i].find(',')), &row))
        << lines[i];
    reported.insert(row);
  }
  EXPECT_EQ(reported, bad_rows);

  RunResult vips = Run({"contacts", "list", "--filter",
                        "source = \"bulk\" AND attributes.plan = \"gold\"",
                        "--page-size", "1", "-o", "json"});
  ASSERT_EQ(vips.code, 0) << vips.err;
  EXPECT_EQ(Parse<v1::ListContactsResponse>(vips.out).total_size(),
            4990);  // odd rows, minus the 10 bad ones

  // Export the gold ones to CSV and import the file again: every row
  // updates its contact, none is created, nothing fails.
  const std::string gold = "source = \"bulk\" AND attributes.plan = \"gold\"";
  const std::string exported = dir + "/rapportctl_export.csv";
  RunResult exp = Run({"contacts", "export", "--filter", gold, "--format",
                       "csv", "-O", exported});
  ASSERT_EQ(exp.code, 0) << exp.err;
  EXPECT_THAT(exp.err, HasSubstr("exported 4990 rows"));
  RunResult again = Run({"contacts", "import", exported, "-o", "json"});
  ASSERT_EQ(again.code, 0) << again.err;
  auto second = Parse<v1::ImportContactsResponse>(again.out);
  EXPECT_EQ(second.received_count(), 4990);
  EXPECT_EQ(second.created_count(), 0);
  EXPECT_EQ(second.updated_count(), 4990);
  EXPECT_EQ(second.failed_count(), 0);
  RunResult count = Run({"contacts", "list", "--filter", "source = \"bulk\"",
                         "--page-size", "1", "-o", "json"});
  ASSERT_EQ(count.code, 0) << count.err;
  EXPECT_EQ(Parse<v1::ListContactsResponse>(count.out).total_size(), 9990);

  // JSON Lines to stdout: one parseable contact per line, same fields.
  RunResult jsonl =
      Run({"contacts", "export", "--filter", gold, "--format", "jsonl"});
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;
  std::vector<std::string> json_lines =
      absl::StrSplit(jsonl.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(json_lines.size(), 4990u);
  v1::Contact first = Parse<v1::Contact>(json_lines[0]);
  EXPECT_EQ(first.attributes().at("plan"), "gold");
  EXPECT_EQ(first.lifecycle_stage(), v1::CUSTOMER);
  EXPECT_THAT(first.tags(), ::testing::Contains("imported"));
  EXPECT_THAT(first.family_name(), StartsWith("Family, "));

  // Error path: an unknown column stops the import before any row.
  const std::string bad_header = dir + "/rapportctl_bad_header.csv";
  std::ofstream(bad_header) << "given_name,shoe_size\nAda,38\n";
  RunResult rejected = Run({"contacts", "import", bad_header});
  EXPECT_EQ(rejected.code, 1);
  EXPECT_THAT(rejected.err, HasSubstr("unknown column \"shoe_size\""));
  EXPECT_EQ(Run({"contacts", "import", dir + "/missing.csv"}).code, 3);
}

}  // namespace
}  // namespace rapport::testing
