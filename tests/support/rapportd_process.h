// The rapportd binary as a child process, for end-to-end tests.
//
// ChildProcess runs any program with stdout and stderr captured to files and
// kills (SIGKILL) and reaps it when destroyed, so a failed assertion never
// leaves a process behind. RapportdProcess starts rapportd serving plaintext
// gRPC on a port the kernel picks, against a TestDatabase, and returns once
// the server answers grpc.health.v1 SERVING.
//
// Typical use (RAPPORTD_PATH is "$<TARGET_FILE:rapportd>"):
//
//   std::unique_ptr<RapportdProcess> server =
//       RapportdProcess::Start(RAPPORTD_PATH, *db, {{"RAPPORT_THREADS", "8"}});
//   ASSERT_NE(server, nullptr);
//   auto contacts = rapport::v1::ContactService::NewStub(server->channel());
//   ...
//   server->Kill();  // kill -9: a crash
//
// Thread safety: a ChildProcess or RapportdProcess belongs to one thread;
// channel() may be shared with other threads.
#ifndef RAPPORT_TESTS_SUPPORT_RAPPORTD_PROCESS_H_
#define RAPPORT_TESTS_SUPPORT_RAPPORTD_PROCESS_H_

#include <google/protobuf/struct.pb.h>
#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_database.h"

namespace rapport::testing {

// The contents of the file at `path`; empty if it cannot be read.
std::string ReadWholeFile(const std::string& path);

// Parses one log line; nullopt unless it is a JSON object.
std::optional<google::protobuf::Struct> ParseJsonLine(const std::string& line);

// The string field `name` of `object`; empty if it is missing.
std::string StringField(const google::protobuf::Struct& object,
                        const std::string& name);

// The lines of `text`, without empty ones.
std::vector<std::string> NonEmptyLines(const std::string& text);

// The environment for rapportd against `db`: the inherited environment minus
// every RAPPORT_* setting, plus the database settings, metrics on a free
// loopback port, 4 threads and 4 database connections, then `extra` (which
// overrides any of these).
std::map<std::string, std::string> RapportdEnvironment(
    const TestDatabase& db, const std::map<std::string, std::string>& extra);

// A child process with stdout and stderr captured to files under
// ::testing::TempDir() (kept when the test failed, for a post-mortem).
class ChildProcess {
 public:
  // Starts `args` (args[0] is the program's path) with exactly `env`, stdin
  // from /dev/null, default signal handling and no signal blocked. Adds a
  // test failure and returns nullptr when the process cannot be started.
  static std::unique_ptr<ChildProcess> Start(
      const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Kills (SIGKILL) and reaps the process if it is still running.
  ~ChildProcess();

  // Sends `signal_number` unless the process was already reaped.
  void Signal(int signal_number);

  // Waits up to `timeout` for the process to exit. Returns its exit code
  // (128 + signal when a signal ended it), or nullopt if it is still running.
  std::optional<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }
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

// How RapportdProcess::Start runs and reaches a server other than the
// default plaintext one (e.g. TLS only, as in production).
struct RapportdStartOptions {
  // Variables removed from the environment after the defaults and
  // `extra_env` are applied, e.g. RAPPORT_INSECURE for a TLS-only server or
  // RAPPORT_BOOTSTRAP_ADMIN_KEY when RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE is set.
  std::vector<std::string> unset_env;
  // The transport credentials of channel() and of the readiness probe
  // (e.g. grpc::SslCredentials trusting the server's CA); plaintext when
  // null. The target is "127.0.0.1:<port>", which the server's certificate
  // must name (or set GRPC_SSL_TARGET_NAME_OVERRIDE_ARG in channel_args).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments channel_args;
};

// rapportd serving gRPC on 127.0.0.1 with a kernel-picked port: plaintext
// by default, or as RapportdStartOptions say.
class RapportdProcess {
 public:
  // Starts `rapportd_path` with RapportdEnvironment(db, ...) plus
  // RAPPORT_LISTEN=127.0.0.1:0, RAPPORT_INSECURE=1,
  // RAPPORT_BOOTSTRAP_ADMIN_KEY=kTestAdminKey and RAPPORT_SHUTDOWN_GRACE=5s,
  // then `extra_env` (which overrides any of them), minus
  // `options.unset_env`. Waits up to 30 s for the "rapportd listening" log
  // line (for the port) and for health SERVING over a channel with
  // `options.credentials`. Adds a test failure (with rapportd's stderr) and
  // returns nullptr if rapportd exits or does not get there.
  static std::unique_ptr<RapportdProcess> Start(
      const std::string& rapportd_path, const TestDatabase& db,
      const std::map<std::string, std::string>& extra_env = {},
      const RapportdStartOptions& options = {});

  RapportdProcess(const RapportdProcess&) = delete;
  RapportdProcess& operator=(const RapportdProcess&) = delete;
  ~RapportdProcess() = default;  // SIGKILL and reap, if still running

  int port() const { return port_; }

  // A channel to the server (plaintext, or with the options' credentials)
  // whose calls carry kTestAdminKey unless they set their own
  // authorization metadata. Null after CloseChannel().
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Drops this object's channel and health stub, so that the connection
  // closes once the test dropped its own copies of channel() too (a
  // draining rapportd then need not wait for an idle connection).
  void CloseChannel();

  // One grpc.health.v1 Check (overall health; waits for ready, 5 s
  // deadline); UNKNOWN if the call fails or CloseChannel() was called.
  grpc::health::v1::HealthCheckResponse::ServingStatus Health();

  // Health checks made through this object, including Start's.
  int health_checks() const { return health_checks_; }

  void Signal(int signal_number) { process_->Signal(signal_number); }
  std::optional<int> Wait(absl::Duration timeout) {
    return process_->Wait(timeout);
  }

  // kill -9: SIGKILL, then reaps the process (adds a test failure if it
  // has not exited within 10 s).
  void Kill();

  std::string Stdout() const { return process_->Stdout(); }
  std::string Stderr() const { return process_->Stderr(); }
  ChildProcess& process() { return *process_; }

 private:
  explicit RapportdProcess(std::unique_ptr<ChildProcess> process)
      : process_(std::move(process)) {}

  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  int health_checks_ = 0;
};

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_SUPPORT_RAPPORTD_PROCESS_H_
