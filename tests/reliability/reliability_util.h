// Helpers shared by the reliability tests (tests/reliability/): contact
// calls with deadlines, SQL through the mariadb command-line client, and
// /proc sampling of a child process.
#ifndef RAPPORT_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
#define RAPPORT_TESTS_RELIABILITY_RELIABILITY_UTIL_H_

#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <stdio.h>
#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rapport::testing {

inline void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// Runs `command` with popen and returns its stdout; nullopt if it failed.
inline std::optional<std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int rc = pclose(pipe);
  if (rc != 0) return std::nullopt;
  return out;
}

// The first column of the first row of `sql` on `database`, through the
// mariadb client on Unix socket `socket`; nullopt if it failed.
inline std::optional<int64_t> CliQueryInt(const std::string& socket,
                                          const std::string& database,
                                          const std::string& sql) {
  std::optional<std::string> out =
      RunCommand(absl::StrCat("mariadb --no-defaults --user=root --socket='",
                              socket, "' --batch --skip-column-names -e \"",
                              sql, "\" ", database, " 2>/dev/null"));
  if (!out.has_value()) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*out), &n)) {
    return std::nullopt;
  }
  return n;
}

// VmRSS of `pid` in KiB; -1 if unknown.
inline int64_t RssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stoll(line.substr(6));  // "   123456 kB"
      } catch (const std::exception&) {
        return -1;
      }
    }
  }
  return -1;
}

// Open file descriptors of `pid`; -1 if unknown.
inline int OpenFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
