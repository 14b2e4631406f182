#include "tests/support/rapportd_process.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace rapport::testing {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

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

std::map<std::string, std::string> RapportdEnvironment(
    const TestDatabase& db, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = entry.substr(0, eq);
    if (absl::StartsWith(name, "RAPPORT_")) continue;
    env[name] = entry.substr(eq + 1);
  }
  const auto& options = db.options();
  env["RAPPORT_DB_HOST"] = options.host;
  env["RAPPORT_DB_PORT"] = absl::StrCat(options.port);
  env["RAPPORT_DB_USER"] = options.user;
  if (!options.password.empty()) env["RAPPORT_DB_PASSWORD"] = options.password;
  env["RAPPORT_DB_NAME"] = db.name();
  env["RAPPORT_METRICS_LISTEN"] = "127.0.0.1:0";
  env["RAPPORT_THREADS"] = "4";
  env["RAPPORT_DB_POOL_SIZE"] = "4";
  for (const auto& [name, value] : extra) env[name] = value;
  return env;
}

std::unique_ptr<ChildProcess> ChildProcess::Start(
    const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env) {
  static std::atomic<int> counter{0};
  const std::string base =
      absl::StrCat(::testing::TempDir(), "rapportd_", getpid(), "_", ++counter);
  auto child = std::unique_ptr<ChildProcess>(
      new ChildProcess(base + ".stdout", base + ".stderr"));

  std::vector<char*> argv;
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
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
    child->pid_ = -1;
    ADD_FAILURE() << "posix_spawn " << args[0] << ": " << strerror(rc);
    return nullptr;
  }
  return child;
}

ChildProcess::~ChildProcess() {
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

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0 && !exit_status_) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0 && !exit_status_) {
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

std::unique_ptr<RapportdProcess> RapportdProcess::Start(
    const std::string& rapportd_path, const TestDatabase& db,
    const std::map<std::string, std::string>& extra_env,
    const RapportdStartOptions& options) {
  std::map<std::string, std::string> env =
      RapportdEnvironment(db, {{"RAPPORT_LISTEN", "127.0.0.1:0"},
                               {"RAPPORT_INSECURE", "1"},
                               {"RAPPORT_BOOTSTRAP_ADMIN_KEY", kTestAdminKey},
                               {"RAPPORT_SHUTDOWN_GRACE", "5s"}});
  for (const auto& [name, value] : extra_env) env[name] = value;
  for (const std::string& name : options.unset_env) env.erase(name);
  std::unique_ptr<ChildProcess> child =
      ChildProcess::Start({rapportd_path}, env);
  if (child == nullptr) return nullptr;
  std::unique_ptr<RapportdProcess> server(
      new RapportdProcess(std::move(child)));

  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (server->port_ == 0 && absl::Now() < deadline) {
    if (server->Wait(absl::ZeroDuration()).has_value()) {
      ADD_FAILURE() << "rapportd exited early:\n" << server->Stderr();
      return nullptr;
    }
    for (const std::string& line : NonEmptyLines(server->Stderr())) {
      auto object = ParseJsonLine(line);
      if (object && StringField(*object, "msg") == "rapportd listening") {
        server->port_ =
            static_cast<int>(object->fields().at("port").number_value());
      }
    }
    if (server->port_ == 0) absl::SleepFor(absl::Milliseconds(20));  // polling
  }
  if (server->port_ == 0) {
    ADD_FAILURE() << "rapportd did not log its port:\n" << server->Stderr();
    return nullptr;
  }
  server->channel_ = CreateKeyedChannel(
      absl::StrCat("127.0.0.1:", server->port_), kTestAdminKey,
      options.credentials, options.channel_args);
  server->health_ = grpc::health::v1::Health::NewStub(server->channel_);
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
  while (absl::Now() < deadline) {
    status = server->Health();
    if (status == HealthCheckResponse::SERVING) break;
    absl::SleepFor(absl::Milliseconds(50));  // polling
  }
  if (status != HealthCheckResponse::SERVING) {
    ADD_FAILURE() << "rapportd is not SERVING but "
                  << HealthCheckResponse::ServingStatus_Name(status) << ":\n"
                  << server->Stderr();
    return nullptr;
  }
  return server;
}

void RapportdProcess::CloseChannel() {
  health_.reset();
  channel_.reset();
}

HealthCheckResponse::ServingStatus RapportdProcess::Health() {
  if (health_ == nullptr) return HealthCheckResponse::UNKNOWN;
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

void RapportdProcess::Kill() {
  process_->Signal(SIGKILL);
  if (!process_->Wait(absl::Seconds(10)).has_value()) {
    ADD_FAILURE() << "rapportd (pid " << process_->pid()
                  << ") did not die from SIGKILL";
  }
}

}  // namespace rapport::testing
