// rapportd: the Rapport CRM gRPC server. Parses the configuration, then
// either applies migrations and exits (`rapportd migrate`) or serves until
// SIGTERM/SIGINT, draining in-flight calls before it exits.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/app/server.h"
#include "server/common/logging.h"
#include "server/config/config.h"
#include "server/storage/database.h"
#include "server/storage/migrations.h"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "unknown"
#endif

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

int Migrate(const rapport::config::Config& config) {
  rapport::storage::Database db(config.db, 1);
  // A Job may start before the database: retry connection failures for a
  // while, fail at once on anything else.
  absl::Duration backoff = absl::Milliseconds(200);
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (true) {
    absl::Status status = rapport::storage::ApplyMigrations(
        db, "core", rapport::storage::CoreMigrations());
    if (status.ok()) {
      rapport::log::Info("migrations applied");
      return 0;
    }
    if (status.code() != absl::StatusCode::kUnavailable ||
        absl::Now() + backoff > deadline) {
      rapport::log::Error("migrations failed", {{"error", status.ToString()}});
      return kExitFailure;
    }
    rapport::log::Warning("database not reachable; retrying",
                          {{"error", std::string(status.message())}});
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

int Serve(const rapport::config::Config& config) {
  // Signals are taken by one thread with sigwait, so block them before any
  // other thread (gRPC's, the pool's) starts and inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = rapport::app::RapportServer::Start(config);
  if (!server.ok()) {
    rapport::log::Error("cannot start",
                        {{"error", server.status().ToString()}});
    return server.status().code() == absl::StatusCode::kInvalidArgument
               ? kExitBadConfig
               : kExitFailure;
  }
  absl::Notification stop;
  int signal_number = 0;
  std::thread signal_thread([&] {
    sigwait(&signals, &signal_number);
    stop.Notify();
  });
  // Wake on a signal, or on a fatal error from the server.
  std::thread fatal_thread([&] {
    while (!stop.HasBeenNotified()) {
      if ((*server)->fatal().WaitForNotificationWithTimeout(
              absl::Milliseconds(200))) {
        // Hand the exit to the signal thread so it can be joined.
        kill(getpid(), SIGTERM);
        return;
      }
    }
  });
  stop.WaitForNotification();
  fatal_thread.join();
  signal_thread.join();
  rapport::log::Info("signal received; draining", {{"signal", signal_number}});
  (*server)->Shutdown(config.shutdown_grace);
  const absl::Status fatal = (*server)->fatal_error();
  server->reset();
  return fatal.ok() ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil keeps absl::Mutex deadlock detection on, which records
  // every lock acquisition in a global graph (GraphCycles showed up in
  // profiles of GetContact); the tests and sanitizer runs keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<rapport::config::Config> config = rapport::config::Load(
      args, [](const char* name) { return getenv(name); });
  if (!config.ok()) {
    std::fprintf(stderr, "rapportd: %s\n",
                 std::string(config.status().message()).c_str());
    return kExitBadConfig;
  }
  switch (config->command) {
    case rapport::config::Command::kHelp:
      std::fputs(rapport::config::HelpText().c_str(), stdout);
      return 0;
    case rapport::config::Command::kVersion:
      std::printf("rapportd %s\n", RAPPORT_VERSION);
      return 0;
    default:
      break;
  }
  rapport::log::Level level;
  if (rapport::log::ParseLevel(config->log_level, &level)) {
    rapport::log::SetMinLevel(level);
  }
  if (config->command == rapport::config::Command::kMigrate) {
    return Migrate(*config);
  }
  return Serve(*config);
}
