// End to end: the rapportctl binary against a real rapportd (plaintext, on a
// kernel-picked port) on a private test database. Every sub-command's happy
// path and one error path with its exit code; JSON output parsed back into
// the API's messages. API keys end to end: a key made with `admin keys
// create` is used, refused where its role may not go, revoked, refused; the
// audit log shows its creation.
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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
using ::testing::Not;
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

  RunResult keys_help = Run({"admin", "keys", "create", "--help"});
  EXPECT_EQ(keys_help.code, 0);
  EXPECT_THAT(keys_help.out, HasSubstr("shown only once"));
  EXPECT_THAT(keys_help.out, HasSubstr("--ttl"));
  RunResult audit_help = Run({"admin", "audit", "--help"});
  EXPECT_EQ(audit_help.code, 0);
  EXPECT_THAT(audit_help.out, HasSubstr("request_id"));
  EXPECT_EQ(Run({"admin", "keys"}).code, 2);
  // Required flags, a bad --ttl, --ttl with --expire-time, a bad time.
  EXPECT_EQ(Run({"admin", "keys", "create", "--role", "READER"}).code, 2);
  EXPECT_EQ(Run({"admin", "keys", "create", "--display-name", "x"}).code, 2);
  for (const char* ttl : {"90", "90x", "d", "0d", "-1d", "1d2"}) {
    RunResult bad_ttl = Run({"admin", "keys", "create", "--display-name", "x",
                             "--role", "READER", "--ttl", ttl});
    EXPECT_EQ(bad_ttl.code, 2) << ttl;
    EXPECT_THAT(bad_ttl.err, StartsWith("error: USAGE: ")) << ttl;
  }
  EXPECT_EQ(
      Run({"admin", "keys", "create", "--display-name", "x", "--role", "READER",
           "--ttl", "1d", "--expire-time", "2099-01-01T00:00:00Z"})
          .code,
      2);
  EXPECT_EQ(Run({"admin", "keys", "create", "--display-name", "x", "--role",
                 "READER", "--expire-time", "next tuesday"})
                .code,
            2);
  EXPECT_EQ(Run({"admin", "keys", "revoke"}).code, 2);
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

// The key called `name` in a parsed `admin keys list -o json`; nullopt if
// it is not listed.
std::optional<v1::ApiKey> FindKey(const v1::ListApiKeysResponse& list,
                                  const std::string& name) {
  for (const v1::ApiKey& key : list.api_keys()) {
    if (key.name() == name) return key;
  }
  return std::nullopt;
}

TEST_F(RapportctlTest, ApiKeysCreateUseRevokeAndAudit) {
  // A READER key, for 90 days (the role in any case).
  const absl::Time before = absl::Now();
  RunResult created =
      Run({"admin", "keys", "create", "--display-name", "rapportctl reader",
           "--role", "reader", "--ttl", "90d", "-o", "json"});
  ASSERT_EQ(created.code, 0) << created.err;
  const auto response = Parse<v1::CreateApiKeyResponse>(created.out);
  const std::string secret = response.secret();
  const v1::ApiKey& key = response.api_key();
  ASSERT_FALSE(secret.empty()) << created.out;
  ASSERT_THAT(key.name(), StartsWith("apiKeys/"));
  EXPECT_EQ(key.display_name(), "rapportctl reader");
  EXPECT_EQ(key.role(), "READER");
  EXPECT_EQ(key.state(), v1::ApiKey::ACTIVE);
  EXPECT_FALSE(key.secret_prefix().empty());
  EXPECT_THAT(secret, StartsWith(key.secret_prefix()));
  const absl::Time expire = absl::FromUnixSeconds(key.expire_time().seconds());
  EXPECT_GE(expire, before + absl::Hours(24 * 90) - absl::Seconds(2));
  EXPECT_LE(expire, absl::Now() + absl::Hours(24 * 90) + absl::Seconds(2));

  // Table mode: the key, then the secret with a once-only warning.
  RunResult table = Run({"admin", "keys", "create", "--display-name",
                         "rapportctl agent", "--role", "AGENT"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("NAME"));
  EXPECT_THAT(table.out, HasSubstr("rapportctl agent"));
  EXPECT_THAT(table.out, HasSubstr("ACTIVE"));
  EXPECT_THAT(table.out, HasSubstr("never"));  // no expiry
  EXPECT_THAT(table.out, HasSubstr("SECRET: "));
  EXPECT_THAT(table.out, HasSubstr("shown only once"));
  std::string agent_name;
  for (absl::string_view line : absl::StrSplit(table.out, '\n')) {
    if (absl::StartsWith(line, "apiKeys/")) {
      agent_name = std::string(line.substr(0, line.find(' ')));
    }
  }
  ASSERT_THAT(agent_name, StartsWith("apiKeys/")) << table.out;

  // The reader key reads, and may neither write nor manage keys.
  const std::map<std::string, std::string> as_reader = {
      {"RAPPORT_API_KEY", "rk_not_this_one"}};
  RunResult read = Run({"contacts", "list", "--api-key", secret}, as_reader);
  EXPECT_EQ(read.code, 0) << read.err;
  RunResult write =
      Run({"contacts", "create", "--given-name", "Nope", "--api-key", secret},
          as_reader);
  EXPECT_EQ(write.code, 4);
  EXPECT_THAT(write.err, StartsWith("error: PERMISSION_DENIED: "));
  EXPECT_EQ(Run({"admin", "keys", "list", "--api-key", secret}).code, 4);

  // Listed (newest first), never with a secret.
  RunResult listed = Run({"admin", "keys", "list", "--all", "-o", "json"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, Not(HasSubstr(secret)));
  EXPECT_THAT(listed.out, Not(HasSubstr("\"secret\"")));
  const auto keys = Parse<v1::ListApiKeysResponse>(listed.out);
  std::optional<v1::ApiKey> listed_key = FindKey(keys, key.name());
  ASSERT_TRUE(listed_key.has_value()) << listed.out;
  EXPECT_EQ(listed_key->role(), "READER");
  EXPECT_EQ(listed_key->state(), v1::ApiKey::ACTIVE);
  EXPECT_EQ(listed_key->secret_prefix(), key.secret_prefix());
  EXPECT_TRUE(FindKey(keys, agent_name).has_value());
  RunResult listed_table = Run({"admin", "keys", "list"});
  ASSERT_EQ(listed_table.code, 0) << listed_table.err;
  EXPECT_THAT(listed_table.out, StartsWith("NAME"));
  EXPECT_THAT(listed_table.out, HasSubstr(key.name()));
  EXPECT_THAT(listed_table.out, Not(HasSubstr(secret)));
  // Paging: one key a page, then the next page.
  RunResult page1 =
      Run({"admin", "keys", "list", "--page-size", "1", "-o", "json"});
  ASSERT_EQ(page1.code, 0) << page1.err;
  const auto first = Parse<v1::ListApiKeysResponse>(page1.out);
  ASSERT_EQ(first.api_keys_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  RunResult page2 =
      Run({"admin", "keys", "list", "--page-size", "1", "--page-token",
           first.next_page_token(), "-o", "json"});
  ASSERT_EQ(page2.code, 0) << page2.err;
  const auto second = Parse<v1::ListApiKeysResponse>(page2.out);
  ASSERT_EQ(second.api_keys_size(), 1);
  EXPECT_NE(second.api_keys(0).name(), first.api_keys(0).name());
  RunResult more = Run({"admin", "keys", "list", "--page-size", "1"});
  EXPECT_THAT(more.err, HasSubstr("more: --page-token "));

  // Revoked by its bare id: refused from then on.
  const std::string id = key.name().substr(std::string("apiKeys/").size());
  RunResult revoked = Run({"admin", "keys", "revoke", id, "-o", "json"});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_EQ(Parse<v1::ApiKey>(revoked.out).name(), key.name());
  EXPECT_EQ(Parse<v1::ApiKey>(revoked.out).state(), v1::ApiKey::REVOKED);
  RunResult refused = Run({"contacts", "list", "--api-key", secret}, as_reader);
  EXPECT_EQ(refused.code, 4);
  EXPECT_THAT(refused.err, StartsWith("error: UNAUTHENTICATED: "));
  // Revoking again (by the full name) returns it unchanged.
  RunResult again = Run({"admin", "keys", "revoke", key.name()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("REVOKED"));
  // Only --show-revoked lists it.
  RunResult active = Run({"admin", "keys", "list", "--all", "-o", "json"});
  ASSERT_EQ(active.code, 0) << active.err;
  EXPECT_FALSE(FindKey(Parse<v1::ListApiKeysResponse>(active.out), key.name()));
  RunResult with_revoked =
      Run({"admin", "keys", "list", "--show-revoked", "--all", "-o", "yaml"});
  ASSERT_EQ(with_revoked.code, 0) << with_revoked.err;
  EXPECT_THAT(with_revoked.out, HasSubstr(key.name()));
  EXPECT_THAT(with_revoked.out, HasSubstr("REVOKED"));
  EXPECT_THAT(with_revoked.out, Not(HasSubstr(secret)));

  // Error paths: an unknown key, an unknown role, a past expiry.
  RunResult missing = Run({"admin", "keys", "revoke", "0123456789abcdef"});
  EXPECT_EQ(missing.code, 3) << missing.err;
  EXPECT_THAT(missing.err, StartsWith("error: NOT_FOUND: "));
  RunResult bad_role = Run(
      {"admin", "keys", "create", "--display-name", "x", "--role", "OWNER"});
  EXPECT_EQ(bad_role.code, 1);
  EXPECT_THAT(bad_role.err, StartsWith("error: INVALID_ARGUMENT: "));
  RunResult past =
      Run({"admin", "keys", "create", "--display-name", "x", "--role", "READER",
           "--expire-time", "2001-01-01T00:00:00Z"});
  EXPECT_EQ(past.code, 1);
  EXPECT_THAT(past.err, StartsWith("error: INVALID_ARGUMENT: "));

  // The audit log has both creations (written asynchronously: retry).
  const std::string by_method =
      "method = \"/rapport.v1.AdminService/CreateApiKey\"";
  std::optional<v1::AuditEvent> creation;
  bool agent_seen = false;
  RunResult audit;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (true) {
    audit =
        Run({"admin", "audit", "--filter", by_method, "--all", "-o", "json"});
    ASSERT_EQ(audit.code, 0) << audit.err;
    const auto events = Parse<v1::ListAuditEventsResponse>(audit.out);
    for (const v1::AuditEvent& e : events.audit_events()) {
      EXPECT_EQ(e.method(), "/rapport.v1.AdminService/CreateApiKey");
      if (e.resource() == key.name()) creation = e;
      if (e.resource() == agent_name) agent_seen = true;
    }
    if ((creation.has_value() && agent_seen) || absl::Now() > deadline) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(creation.has_value()) << audit.out;
  EXPECT_TRUE(agent_seen) << audit.out;
  EXPECT_EQ(creation->code(), "OK");
  EXPECT_EQ(creation->role(), "ADMIN");
  EXPECT_EQ(creation->principal(), "apiKeys/bootstrap");
  EXPECT_FALSE(creation->request_id().empty());
  EXPECT_TRUE(creation->has_event_time());
  EXPECT_THAT(audit.out, Not(HasSubstr(secret)));

  // Table: short method names; paging as for lists.
  RunResult audit_table =
      Run({"admin", "audit", "--filter", by_method, "--page-size", "1"});
  ASSERT_EQ(audit_table.code, 0) << audit_table.err;
  EXPECT_THAT(audit_table.out, StartsWith("TIME"));
  EXPECT_THAT(audit_table.out, HasSubstr("REQUEST ID"));
  EXPECT_THAT(audit_table.out, HasSubstr(" AdminService/CreateApiKey "));
  EXPECT_THAT(audit_table.out, Not(HasSubstr("rapport.v1.")));
  EXPECT_THAT(audit_table.err, HasSubstr("more: --page-token "));
  RunResult one = Run({"admin", "audit", "--filter", by_method, "--page-size",
                       "1", "-o", "json"});
  ASSERT_EQ(one.code, 0) << one.err;
  const auto audit_page = Parse<v1::ListAuditEventsResponse>(one.out);
  EXPECT_EQ(audit_page.audit_events_size(), 1);
  RunResult rest = Run({"admin", "audit", "--filter", by_method, "--page-size",
                        "1", "--page-token", audit_page.next_page_token(),
                        "--all", "-o", "json"});
  ASSERT_EQ(rest.code, 0) << rest.err;
  const auto rest_pages = Parse<v1::ListAuditEventsResponse>(rest.out);
  EXPECT_GE(rest_pages.audit_events_size(), 1);
  EXPECT_TRUE(rest_pages.next_page_token().empty());
  RunResult by_key =
      Run({"admin", "audit", "--filter",
           absl::StrCat("resource = \"", key.name(), "\""), "-o", "json"});
  ASSERT_EQ(by_key.code, 0) << by_key.err;
  EXPECT_GE(Parse<v1::ListAuditEventsResponse>(by_key.out).audit_events_size(),
            1);

  // The reader's refused write, by principal and outcome (also retried:
  // nothing orders it before the creations' rows).
  const std::string refusal_filter =
      absl::StrCat("code != \"OK\" AND principal = \"", key.name(), "\"");
  v1::ListAuditEventsResponse refusals;
  for (const absl::Time end = absl::Now() + absl::Seconds(5);;) {
    RunResult listed_refusals =
        Run({"admin", "audit", "--filter", refusal_filter, "-o", "json"});
    ASSERT_EQ(listed_refusals.code, 0) << listed_refusals.err;
    refusals = Parse<v1::ListAuditEventsResponse>(listed_refusals.out);
    if (refusals.audit_events_size() > 0 || absl::Now() > end) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(refusals.audit_events_size(), 1);
  EXPECT_EQ(refusals.audit_events(0).method(),
            "/rapport.v1.ContactService/CreateContact");
  EXPECT_EQ(refusals.audit_events(0).code(), "PERMISSION_DENIED");
  EXPECT_EQ(refusals.audit_events(0).role(), "READER");

  RunResult bad_filter = Run({"admin", "audit", "--filter", "(principal ="});
  EXPECT_EQ(bad_filter.code, 1);
  EXPECT_THAT(bad_filter.err, StartsWith("error: INVALID_ARGUMENT: "));
  RunResult unknown_field = Run({"admin", "audit", "--filter", "peer = \"x\""});
  EXPECT_EQ(unknown_field.code, 1);
  EXPECT_THAT(unknown_field.err, StartsWith("error: INVALID_ARGUMENT: "));
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

  // --exact-total: the default count stops at 1,000 matches.
  RunResult vips = Run({"contacts", "list", "--filter",
                        "source = \"bulk\" AND attributes.plan = \"gold\"",
                        "--page-size", "1", "--exact-total", "-o", "json"});
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
                         "--page-size", "1", "--exact-total", "-o", "json"});
  ASSERT_EQ(count.code, 0) << count.err;
  EXPECT_EQ(Parse<v1::ListContactsResponse>(count.out).total_size(), 9990);
  RunResult capped = Run({"contacts", "list", "--filter", "source = \"bulk\"",
                          "--page-size", "1", "-o", "json"});
  ASSERT_EQ(capped.code, 0) << capped.err;
  EXPECT_EQ(Parse<v1::ListContactsResponse>(capped.out).total_size(), 1000);
  EXPECT_TRUE(Parse<v1::ListContactsResponse>(capped.out).total_size_capped());

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
