#include "cli/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace rapport::cli {

const ContextConfig* ConfigFile::Find(const std::string& name) const {
  for (const ContextConfig& context : contexts) {
    if (context.name == name) return &context;
  }
  return nullptr;
}

ContextConfig* ConfigFile::Find(const std::string& name) {
  for (ContextConfig& context : contexts) {
    if (context.name == name) return &context;
  }
  return nullptr;
}

std::string ConfigPath() {
  if (const char* path = std::getenv("RAPPORTCTL_CONFIG"); path && *path) {
    return path;
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return absl::StrCat(xdg, "/rapport/config.yaml");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home ? home : ".", "/.config/rapport/config.yaml");
}

absl::StatusOr<ConfigFile> LoadConfig(const std::string& path) {
  ConfigFile config;
  if (!std::filesystem::exists(path)) return config;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root || root.IsNull()) return config;
    if (root["current-context"]) {
      config.current_context = root["current-context"].as<std::string>();
    }
    for (const YAML::Node& node : root["contexts"]) {
      ContextConfig context;
      auto get = [&node](const char* key) {
        return node[key] ? node[key].as<std::string>() : std::string();
      };
      context.name = get("name");
      context.addr = get("addr");
      context.api_key = get("api-key");
      context.tls_ca = get("tls-ca");
      context.tls_cert = get("tls-cert");
      context.tls_key = get("tls-key");
      context.tls = node["tls"] && node["tls"].as<bool>();
      context.insecure = node["insecure"] && node["insecure"].as<bool>();
      if (context.name.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": a context has no name"));
      }
      config.contexts.push_back(std::move(context));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  return config;
}

absl::Status SaveConfig(const std::string& path, const ConfigFile& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "current-context" << YAML::Value
      << config.current_context;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq;
  for (const ContextConfig& context : config.contexts) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << context.name;
    auto put = [&out](const char* key, const std::string& value) {
      if (!value.empty()) out << YAML::Key << key << YAML::Value << value;
    };
    put("addr", context.addr);
    put("api-key", context.api_key);
    put("tls-ca", context.tls_ca);
    put("tls-cert", context.tls_cert);
    put("tls-key", context.tls_key);
    if (context.tls) out << YAML::Key << "tls" << YAML::Value << true;
    if (context.insecure) out << YAML::Key << "insecure" << YAML::Value << true;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(),
                                      error);
  std::ofstream file(path, std::ios::trunc);
  if (!file)
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  file << out.c_str() << "\n";
  file.close();
  chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

}  // namespace rapport::cli
