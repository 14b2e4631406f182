// End to end: the real rapportd binary as a child process, configured the way
// admins configure it (environment variables and flags), talking gRPC over
// loopback to the test MariaDB.
#include "tests/support/rapportd_process.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "server/storage/migrations.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::HasSubstr;

class RapportdProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
  }

  // The inherited environment minus every RAPPORT_* setting, plus the test
  // database and `extra`.
  std::map<std::string, std::string> Environment(
      const std::map<std::string, std::string>& extra) const {
    return RapportdEnvironment(*db_, extra);
  }

  // rapportd with `args`, waited for; its exit code or -1 if it hung.
  int RunToExit(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env,
                std::unique_ptr<ChildProcess>* child_out) {
    std::vector<std::string> argv = {RAPPORTD_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    *child_out = ChildProcess::Start(argv, env);
    if (*child_out == nullptr) return -1;
    return (*child_out)->Wait(absl::Seconds(30)).value_or(-1);
  }

  // Starts `rapportd` serving plaintext on a port the kernel picks, and
  // waits until it logged that port and answers health SERVING.
  void StartServing(const std::map<std::string, std::string>& extra = {}) {
    server_ = RapportdProcess::Start(RAPPORTD_PATH, *db_, extra);
    ASSERT_NE(server_, nullptr);
    channel_ = server_->channel();
    contacts_ = v1::ContactService::NewStub(channel_);
  }

  grpc::Status CreateContact(const std::string& given, v1::Contact* out) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name(given);
    request.mutable_contact()->set_family_name("Process");
    return contacts_->CreateContact(&context, request, out);
  }

  // Sends SIGTERM and expects exit code 0 within the 5 s drain deadline
  // (plus slack for a loaded machine). An idle client connection holds the
  // drain until that client acknowledges the GOAWAY (a gRPC C++ client does
  // so within its 5 s backup poll) or the deadline passes.
  void TerminateCleanly() {
    const absl::Time start = absl::Now();
    server_->Signal(SIGTERM);
    std::optional<int> code = server_->Wait(absl::Seconds(10));
    ASSERT_TRUE(code.has_value()) << "rapportd ignored SIGTERM";
    EXPECT_EQ(*code, 0) << server_->Stderr();
    EXPECT_LT(absl::Now() - start, absl::Seconds(5) + absl::Seconds(2));
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<RapportdProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContactService::Stub> contacts_;
};

TEST_F(RapportdProcessTest, HelpListsEveryContractVariable) {
  std::unique_ptr<ChildProcess> child;
  ASSERT_EQ(RunToExit({"--help"}, Environment({}), &child), 0);
  const std::string help = child->Stdout();
  for (const char* variable :
       {"RAPPORT_LISTEN", "RAPPORT_METRICS_LISTEN", "RAPPORT_DB_HOST",
        "RAPPORT_DB_PORT", "RAPPORT_DB_USER", "RAPPORT_DB_PASSWORD",
        "RAPPORT_DB_NAME", "RAPPORT_DB_POOL_SIZE", "RAPPORT_PLUGIN_DIR",
        "RAPPORT_CONFIG", "RAPPORT_BOOTSTRAP_ADMIN_KEY", "RAPPORT_TLS_CERT",
        "RAPPORT_TLS_KEY", "RAPPORT_TLS_CLIENT_CA", "RAPPORT_INSECURE"}) {
    EXPECT_THAT(help, HasSubstr(variable));
  }
  EXPECT_THAT(help, HasSubstr("migrate"));
}

TEST_F(RapportdProcessTest, UnknownFlagExitsTwoNamingIt) {
  std::unique_ptr<ChildProcess> child;
  EXPECT_EQ(RunToExit({"--no-such-flag=1"}, Environment({}), &child), 2);
  EXPECT_THAT(child->Stderr(), HasSubstr("--no-such-flag"));
}

TEST_F(RapportdProcessTest, PlaintextWithoutInsecureExitsTwoExplainingFix) {
  std::unique_ptr<ChildProcess> child;
  EXPECT_EQ(
      RunToExit({}, Environment({{"RAPPORT_LISTEN", "127.0.0.1:0"}}), &child),
      2);
  const std::string err = child->Stderr();
  EXPECT_THAT(err, HasSubstr("RAPPORT_TLS_CERT"));
  EXPECT_THAT(err, HasSubstr("RAPPORT_INSECURE=1"));
}

TEST_F(RapportdProcessTest, MigrateAppliesMigrationsAndExits) {
  std::unique_ptr<ChildProcess> child;
  EXPECT_EQ(RunToExit({"migrate"}, Environment({}), &child), 0)
      << child->Stderr();
  EXPECT_THAT(db_->QueryInt("SELECT COUNT(*) FROM schema_migrations WHERE "
                            "component = 'core'"),
              IsOkAndHolds(static_cast<int64_t>(
                  rapport::storage::CoreMigrations().size())));
  EXPECT_THAT(db_->QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(0));
}

TEST_F(RapportdProcessTest, ServesHealthAndContacts) {
  ASSERT_NO_FATAL_FAILURE(StartServing());
  v1::Contact created;
  ASSERT_OK(CreateContact("Ada", &created));
  EXPECT_FALSE(created.id().empty());
  EXPECT_THAT(db_->QueryInt(absl::StrCat(
                  "SELECT COUNT(*) FROM contacts WHERE id = ", created.id())),
              IsOkAndHolds(1));
  v1::GetContactRequest get;
  get.set_id(created.id());
  v1::Contact got;
  grpc::ClientContext context;
  ASSERT_OK(contacts_->GetContact(&context, get, &got));
  EXPECT_EQ(got.given_name(), "Ada");
}

// With an idle client still connected, as load balancers and clients are.
TEST_F(RapportdProcessTest, SigtermExitsZeroWithinDrainDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartServing());
  v1::Contact created;
  ASSERT_OK(CreateContact("Ada", &created));
  TerminateCleanly();
  EXPECT_THAT(server_->Stderr(), HasSubstr("\"msg\":\"stopped\""));
}

TEST_F(RapportdProcessTest, LogsJsonWithOneAccessLinePerCall) {
  ASSERT_NO_FATAL_FAILURE(StartServing());
  v1::Contact created;
  ASSERT_OK(CreateContact("Ada", &created));
  ASSERT_OK(CreateContact("Grace", &created));
  {
    grpc::ClientContext context;
    v1::GetContactRequest get;
    get.set_id("999999");
    v1::Contact missing;
    EXPECT_THAT(contacts_->GetContact(&context, get, &missing),
                StatusIs(grpc::StatusCode::NOT_FOUND));
  }
  // Disconnect first: the drain then need not wait for an idle connection.
  contacts_.reset();
  channel_.reset();
  server_->CloseChannel();
  ASSERT_NO_FATAL_FAILURE(TerminateCleanly());

  std::map<std::string, int> calls;  // "method code" -> access lines
  int lines = 0;
  for (const std::string& line : NonEmptyLines(server_->Stderr())) {
    ++lines;
    auto object = ParseJsonLine(line);
    ASSERT_TRUE(object.has_value()) << "not JSON: " << line;
    EXPECT_FALSE(StringField(*object, "ts").empty()) << line;
    EXPECT_FALSE(StringField(*object, "level").empty()) << line;
    EXPECT_FALSE(StringField(*object, "msg").empty()) << line;
    if (StringField(*object, "msg") != "rpc") continue;
    EXPECT_FALSE(StringField(*object, "method").empty()) << line;
    EXPECT_FALSE(StringField(*object, "code").empty()) << line;
    ASSERT_TRUE(object->fields().contains("latency_ms")) << line;
    EXPECT_GE(object->fields().at("latency_ms").number_value(), 0) << line;
    ++calls[absl::StrCat(StringField(*object, "method"), " ",
                         StringField(*object, "code"))];
  }
  EXPECT_GT(lines, 0);
  EXPECT_EQ(calls["/rapport.v1.ContactService/CreateContact OK"], 2);
  EXPECT_EQ(calls["/rapport.v1.ContactService/GetContact NOT_FOUND"], 1);
  int health_lines = 0;
  for (const auto& [key, count] : calls) {
    if (absl::StartsWith(key, "/grpc.health.v1.Health/Check ")) {
      health_lines += count;
    }
  }
  EXPECT_EQ(health_lines, server_->health_checks());
  int access_lines = 0;
  for (const auto& [key, count] : calls) access_lines += count;
  EXPECT_EQ(access_lines,
            3 + server_->health_checks());  // nothing logged twice
}

TEST_F(RapportdProcessTest, SigtermLetsInFlightCallFinish) {
  ASSERT_NO_FATAL_FAILURE(StartServing());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::ImportContactsResponse response;
  auto stream = contacts_->ImportContacts(&context, &response);
  v1::ImportContactsRequest batch;
  for (int n = 0; n < 5; ++n) {
    v1::Contact* c = batch.add_contacts();
    c->set_given_name(absl::StrCat("Before", n));
    c->add_emails(absl::StrCat("before", n, "@example.com"));
  }
  ASSERT_TRUE(stream->Write(batch));
  // The handler has the call once the first batch is stored.
  const absl::Time stored_by = absl::Now() + absl::Seconds(10);
  while (db_->QueryInt("SELECT COUNT(*) FROM contacts").value_or(0) < 5 &&
         absl::Now() < stored_by) {
    absl::SleepFor(absl::Milliseconds(10));  // polling
  }
  ASSERT_THAT(db_->QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(5));

  server_->Signal(SIGTERM);
  // Go on only once rapportd is draining.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!absl::StrContains(server_->Stderr(), "\"msg\":\"shutting down\"") &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));  // polling the log
  }
  ASSERT_THAT(server_->Stderr(), HasSubstr("\"msg\":\"shutting down\""));
  EXPECT_FALSE(server_->Wait(absl::ZeroDuration()).has_value());

  batch.Clear();
  for (int n = 0; n < 5; ++n) {
    v1::Contact* c = batch.add_contacts();
    c->set_given_name(absl::StrCat("After", n));
    c->add_emails(absl::StrCat("after", n, "@example.com"));
  }
  EXPECT_TRUE(stream->Write(batch));
  EXPECT_TRUE(stream->WritesDone());
  EXPECT_OK(stream->Finish());
  EXPECT_EQ(response.created_count(), 10);
  EXPECT_THAT(db_->QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(10));

  std::optional<int> code = server_->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.has_value()) << "rapportd did not exit after draining";
  EXPECT_EQ(*code, 0) << server_->Stderr();
}

}  // namespace
}  // namespace rapport::testing
