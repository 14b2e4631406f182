// End to end: the real rapportd binary as a child process, configured the way
// admins configure it (environment variables and flags), talking gRPC over
// loopback to the test MariaDB.
#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "server/storage/migrations.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

extern char** environ;

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A child process with stdout and stderr captured to files. The destructor
// kills (SIGKILL) and reaps it if it is still running, so a failed assertion
// never leaves a rapportd behind.
class ChildProcess {
 public:
  // Starts `args` (args[0] is the program) with exactly `env`. Fails the test
  // and returns nullptr when the process cannot be started.
  static std::unique_ptr<ChildProcess> Start(
      const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env) {
    static int counter = 0;
    const std::string base = absl::StrCat(::testing::TempDir(), "rapportd_",
                                          getpid(), "_", ++counter);
    auto child = std::unique_ptr<ChildProcess>(
        new ChildProcess(base + ".stdout", base + ".stderr"));

    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (const auto& [name, value] : env) {
      env_strings.push_back(absl::StrCat(name, "=", value));
    }
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, child->stdout_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, child->stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The child starts with default signal handling and nothing blocked,
    // whatever the test's threads did.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = posix_spawn(&child->pid_, argv[0], &actions, &attr,
                               argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << args[0] << ": " << strerror(rc);
      return nullptr;
    }
    return child;
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
    // Keep the output of a failed test for a post-mortem.
    if (!::testing::Test::HasFailure()) {
      unlink(stdout_path_.c_str());
      unlink(stderr_path_.c_str());
    }
  }

  void Signal(int signal_number) {
    if (!exit_status_) kill(pid_, signal_number);
  }

  // Waits up to `timeout` for the process to exit. Returns its exit code
  // (128 + signal when a signal ended it), or nullopt if it is still running.
  std::optional<int> Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!exit_status_) {
      int status;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_status_ =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(10));  // polling the child's exit
    }
    return exit_status_;
  }

  std::string Stdout() const { return ReadWholeFile(stdout_path_); }
  std::string Stderr() const { return ReadWholeFile(stderr_path_); }

 private:
  ChildProcess(std::string stdout_path, std::string stderr_path)
      : stdout_path_(std::move(stdout_path)),
        stderr_path_(std::move(stderr_path)) {}

  const std::string stdout_path_;
  const std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Parses one log line; nullopt unless it is a JSON object.
std::optional<google::protobuf::Struct> ParseJsonLine(const std::string& line) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(line, &object).ok()) {
    return std::nullopt;
  }
  return object;
}

std::string StringField(const google::protobuf::Struct& object,
                        const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? "" : it->second.string_value();
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

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
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const size_t eq = entry.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = entry.substr(0, eq);
      if (absl::StartsWith(name, "RAPPORT_")) continue;
      env[name] = entry.substr(eq + 1);
    }
    const auto& options = db_->options();
    env["RAPPORT_DB_HOST"] = options.host;
    env["RAPPORT_DB_PORT"] = absl::StrCat(options.port);
    env["RAPPORT_DB_USER"] = options.user;
    if (!options.password.empty())
      env["RAPPORT_DB_PASSWORD"] = options.password;
    env["RAPPORT_DB_NAME"] = db_->name();
    env["RAPPORT_METRICS_LISTEN"] = "127.0.0.1:0";
    env["RAPPORT_THREADS"] = "4";
    env["RAPPORT_DB_POOL_SIZE"] = "4";
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
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
    std::map<std::string, std::string> env =
        Environment({{"RAPPORT_LISTEN", "127.0.0.1:0"},
                     {"RAPPORT_INSECURE", "1"},
                     {"RAPPORT_SHUTDOWN_GRACE", "5s"}});
    for (const auto& [name, value] : extra) env[name] = value;
    server_ = ChildProcess::Start({RAPPORTD_PATH}, env);
    ASSERT_NE(server_, nullptr);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    int port = 0;
    while (port == 0 && absl::Now() < deadline) {
      ASSERT_FALSE(server_->Wait(absl::ZeroDuration()).has_value())
          << "rapportd exited early:\n"
          << server_->Stderr();
      for (const std::string& line : NonEmptyLines(server_->Stderr())) {
        auto object = ParseJsonLine(line);
        if (object && StringField(*object, "msg") == "rapportd listening") {
          port = static_cast<int>(object->fields().at("port").number_value());
        }
      }
      if (port == 0) absl::SleepFor(absl::Milliseconds(20));  // polling
    }
    ASSERT_NE(port, 0) << "rapportd did not log its port:\n"
                       << server_->Stderr();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    health_ = grpc::health::v1::Health::NewStub(channel_);
    contacts_ = v1::ContactService::NewStub(channel_);
    HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
    while (absl::Now() < deadline) {
      status = Health();
      if (status == HealthCheckResponse::SERVING) break;
      absl::SleepFor(absl::Milliseconds(50));  // polling
    }
    ASSERT_EQ(status, HealthCheckResponse::SERVING) << server_->Stderr();
  }

  HealthCheckResponse::ServingStatus Health() {
    ++health_checks_;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    context.set_wait_for_ready(true);
    HealthCheckResponse response;
    grpc::Status status =
        health_->Check(&context, HealthCheckRequest(), &response);
    if (!status.ok()) return HealthCheckResponse::UNKNOWN;
    return response.status();
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
  std::unique_ptr<ChildProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<v1::ContactService::Stub> contacts_;
  int health_checks_ = 0;
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
  health_.reset();
  channel_.reset();
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
  EXPECT_EQ(health_lines, health_checks_);
  int access_lines = 0;
  for (const auto& [key, count] : calls) access_lines += count;
  EXPECT_EQ(access_lines, 3 + health_checks_);  // nothing logged twice
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
