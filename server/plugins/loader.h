// Loading plugin libraries and the version handshake.
//
// A library is first probed in a forked child process: the child dlopens it
// (running its static initialisers), reads the manifest and reports it over
// a pipe. A library that aborts while loading (the classic cause: it carries
// its own copy of the core protos, "File already exists in database") or
// that is not a plugin at all only takes the child down; the server records
// it as REJECTED and goes on. Only a library whose manifest passes the
// handshake is loaded into the server process.
//
// Libraries are never unloaded: objects the plugin created (services,
// handlers, exceptions, protobuf descriptors) may outlive any point where
// unloading would look safe, and dlclose of a library with registered
// protobuf descriptors crashes. So LoadLibrary leaks its handle on purpose.
//
// Thread-safety: ProbeLibrary forks; call it before the process starts
// threads that hold locks (rapportd loads plugins first thing).
#ifndef RAPPORT_SERVER_PLUGINS_LOADER_H_
#define RAPPORT_SERVER_PLUGINS_LOADER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rapport/sdk/plugin.h"

namespace rapport::plugins {

// A plugin manifest copied out of the library (no pointers into it).
struct ManifestInfo {
  uint32_t struct_size = 0;
  uint32_t sdk_major = 0;
  uint32_t sdk_minor = 0;
  uint32_t sdk_patch = 0;
  std::string build_signature;
  std::string name;
  std::string version;
  std::string description;
};

// What this host accepts: its own SDK version and build signature.
struct HostVersion {
  uint32_t sdk_major = RAPPORT_SDK_VERSION_MAJOR;
  uint32_t sdk_minor = RAPPORT_SDK_VERSION_MINOR;
  std::string build_signature = RAPPORT_SDK_BUILD_SIGNATURE;
};

// The handshake: a complete manifest, same major, plugin minor <= host
// minor, identical build signature and a valid dotted name. Returns OK or
// FAILED_PRECONDITION with a reason a person can act on.
absl::Status CheckManifest(const ManifestInfo& manifest,
                           const HostVersion& host);

// Loads `path` in a child process and returns its manifest. Returns
// NOT_FOUND when the file does not exist; FAILED_PRECONDITION when it is not
// a Rapport plugin, cannot be loaded, or crashes while loading (the message
// says which).
absl::StatusOr<ManifestInfo> ProbeLibrary(const std::string& path);

// A library loaded into this process, with its factory. Never unloaded.
struct LoadedLibrary {
  ManifestInfo manifest;
  rapport::sdk::Plugin* (*factory)() = nullptr;
};

// Loads `path` into the process (after ProbeLibrary and CheckManifest said
// yes). FAILED_PRECONDITION when loading fails.
absl::StatusOr<LoadedLibrary> LoadLibrary(const std::string& path);

}  // namespace rapport::plugins

#endif  // RAPPORT_SERVER_PLUGINS_LOADER_H_
