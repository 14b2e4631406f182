#include "server/plugins/loader.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rapport::plugins {
namespace {

constexpr char kManifestSymbol[] = "rapport_plugin_manifest";
constexpr char kFactorySymbol[] = "rapport_plugin_create";

// The manifest fields every SDK 1.x plugin has.
constexpr uint32_t kMinManifestSize =
    offsetof(RapportPluginManifest, description) + sizeof(const char*);

// Plugin names are dotted lower-case words: "rapport.loyalty".
bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (absl::string_view part : absl::StrSplit(name, '.')) {
    if (part.empty() || !absl::ascii_islower(part[0])) return false;
    for (char c : part) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
        return false;
      }
    }
  }
  return name.find('.') != std::string::npos;
}

ManifestInfo Copy(const RapportPluginManifest& m) {
  ManifestInfo info;
  info.struct_size = m.struct_size;
  info.sdk_major = m.sdk_major;
  info.sdk_minor = m.sdk_minor;
  info.sdk_patch = m.sdk_patch;
  auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
  if (m.struct_size >= kMinManifestSize) {
    info.build_signature = str(m.build_signature);
    info.name = str(m.name);
    info.version = str(m.version);
    info.description = str(m.description);
  }
  return info;
}

// Child → parent wire format: one line per field, key=value; values have no
// newlines (we strip them).
std::string Encode(const ManifestInfo& m) {
  auto clean = [](std::string s) {
    for (char& c : s) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return s;
  };
  return absl::StrCat("size=", m.struct_size, "\nmajor=", m.sdk_major,
                      "\nminor=", m.sdk_minor, "\npatch=", m.sdk_patch,
                      "\nsignature=", clean(m.build_signature),
                      "\nname=", clean(m.name), "\nversion=", clean(m.version),
                      "\ndescription=", clean(m.description), "\n");
}

ManifestInfo Decode(const std::string& text) {
  ManifestInfo m;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = line.substr(0, eq);
    std::string value(line.substr(eq + 1));
    uint32_t n = 0;
    if (key == "size" && absl::SimpleAtoi(value, &n)) m.struct_size = n;
    if (key == "major" && absl::SimpleAtoi(value, &n)) m.sdk_major = n;
    if (key == "minor" && absl::SimpleAtoi(value, &n)) m.sdk_minor = n;
    if (key == "patch" && absl::SimpleAtoi(value, &n)) m.sdk_patch = n;
    if (key == "signature") m.build_signature = value;
    if (key == "name") m.name = value;
    if (key == "version") m.version = value;
    if (key == "description") m.description = value;
  }
  return m;
}

// Exit codes of the probe child.
constexpr int kChildOk = 0;
constexpr int kChildLoadFailed = 3;
constexpr int kChildNotPlugin = 4;

}  // namespace

absl::Status CheckManifest(const ManifestInfo& m, const HostVersion& host) {
  if (m.struct_size < kMinManifestSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        "its manifest is incomplete (", m.struct_size, " bytes, need ",
        kMinManifestSize, "); rebuild it with the SDK's RAPPORT_PLUGIN macro"));
  }
  if (m.sdk_major != host.sdk_major) {
    return absl::FailedPreconditionError(absl::StrCat(
        "built for SDK ", m.sdk_major, ".", m.sdk_minor,
        " but this server speaks SDK ", host.sdk_major, ".", host.sdk_minor,
        " (the major version must match); rebuild it against SDK ",
        host.sdk_major, ".x"));
  }
  if (m.sdk_minor > host.sdk_minor) {
    return absl::FailedPreconditionError(absl::StrCat(
        "built for SDK ", m.sdk_major, ".", m.sdk_minor,
        ", newer than this server's SDK ", host.sdk_major, ".", host.sdk_minor,
        "; upgrade rapportd or rebuild the plugin against SDK ", host.sdk_major,
        ".", host.sdk_minor));
  }
  if (m.build_signature != host.build_signature) {
    return absl::FailedPreconditionError(absl::StrCat(
        "is not binary compatible: built with \"", m.build_signature,
        "\", this server with \"", host.build_signature,
        "\"; build it with the same compiler and protobuf/gRPC/Abseil "
        "versions as the server"));
  }
  if (!ValidName(m.name)) {
    return absl::FailedPreconditionError(
        absl::StrCat("has an invalid name \"", m.name,
                     "\"; use dotted lower-case words such as \"acme.sync\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<ManifestInfo> ProbeLibrary(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no such file: ", path));
  }
  int fds[2];
  if (pipe(fds) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: load, read the manifest, report, and leave without running
    // atexit handlers or destructors of the parent's state.
    close(fds[0]);
    int code = kChildOk;
    std::string report;
    try {
      boost::dll::shared_library lib(
          path,
          boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
      if (!lib.has(kManifestSymbol) || !lib.has(kFactorySymbol)) {
        code = kChildNotPlugin;
      } else {
        report = Encode(
            Copy(lib.get_alias<const RapportPluginManifest>(kManifestSymbol)));
      }
    } catch (const std::exception& e) {
      code = kChildLoadFailed;
      report = e.what();
    } catch (...) {
      code = kChildLoadFailed;
    }
    const char* p = report.data();
    size_t left = report.size();
    while (left > 0) {
      ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  while (true) {
    ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "crashed while loading (signal ", WTERMSIG(status),
        "); a common cause is a plugin that compiles the core protos itself "
        "or links its own protobuf/gRPC instead of the SDK library"));
  }
  switch (WEXITSTATUS(status)) {
    case kChildOk:
      return Decode(output);
    case kChildNotPlugin:
      return absl::FailedPreconditionError(
          "is not a Rapport plugin (it exports no rapport_plugin_manifest / "
          "rapport_plugin_create; build it with RAPPORT_PLUGIN)");
    case kChildLoadFailed:
      return absl::FailedPreconditionError(
          absl::StrCat("cannot be loaded: ", output));
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "exited with status ", WEXITSTATUS(status), " while loading"));
  }
}

absl::StatusOr<LoadedLibrary> LoadLibrary(const std::string& path) {
  try {
    // Leaked on purpose: plugins are never unloaded (see loader.h).
    auto* lib = new boost::dll::shared_library(
        path,
        boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    LoadedLibrary loaded;
    loaded.manifest =
        Copy(lib->get_alias<const RapportPluginManifest>(kManifestSymbol));
    loaded.factory = &lib->get_alias<rapport::sdk::Plugin*()>(kFactorySymbol);
    return loaded;
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot be loaded: ", e.what()));
  }
}

}  // namespace rapport::plugins
