#include "server/auth/permissions.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rapport::auth {
namespace {

struct CoreMethod {
  const char* method;
  const char* permission;  // "" = public
  bool mutating;
};

// THE table of core methods. Adding an RPC to a core proto without a line
// here fails permissions_test (and the method would be ADMIN-only).
constexpr CoreMethod kCoreMethods[] = {
    // Contacts.
    {"/rapport.v1.ContactService/CreateContact", "contacts.write", true},
    {"/rapport.v1.ContactService/GetContact", "contacts.read", false},
    {"/rapport.v1.ContactService/UpdateContact", "contacts.write", true},
    {"/rapport.v1.ContactService/DeleteContact", "contacts.write", true},
    {"/rapport.v1.ContactService/UndeleteContact", "contacts.write", true},
    {"/rapport.v1.ContactService/ListContacts", "contacts.read", false},
    {"/rapport.v1.ContactService/MergeContacts", "contacts.write", true},
    {"/rapport.v1.ContactService/ImportContacts", "contacts.import", true},
    // Bulk extraction of personal data: not for read-only dashboards.
    {"/rapport.v1.ContactService/ExportContacts", "contacts.export", false},
    // Privacy erasure destroys data for good: ADMIN only.
    {"/rapport.v1.ContactService/EraseContact", "contacts.erase", true},
    // Interactions.
    {"/rapport.v1.InteractionService/LogInteraction", "interactions.write",
     true},
    {"/rapport.v1.InteractionService/GetInteraction", "interactions.read",
     false},
    {"/rapport.v1.InteractionService/ListInteractions", "interactions.read",
     false},
    // Administration.
    {"/rapport.v1.AdminService/ListPlugins", "admin.plugins.read", false},
    {"/rapport.v1.AdminService/ListParkedEvents", "admin.events.read", false},
    {"/rapport.v1.AdminService/RetryParkedEvent", "admin.events.retry", true},
    {"/rapport.v1.AdminService/CreateApiKey", "admin.keys.write", true},
    {"/rapport.v1.AdminService/ListApiKeys", "admin.keys.read", false},
    {"/rapport.v1.AdminService/RevokeApiKey", "admin.keys.write", true},
    {"/rapport.v1.AdminService/ListAuditEvents", "admin.audit.read", false},
    // Infrastructure: probes need no key; reflection shows only the schema.
    {"/grpc.health.v1.Health/Check", "", false},
    {"/grpc.health.v1.Health/Watch", "", false},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
     "reflection.read", false},
};

struct CoreGrant {
  const char* role;
  const char* permissions[8];
};

constexpr CoreGrant kCoreGrants[] = {
    {kRoleReader, {"contacts.read", "interactions.read", "reflection.read"}},
    {kRoleAgent,
     {"contacts.read", "interactions.read", "reflection.read", "contacts.write",
      "contacts.import", "contacts.export", "interactions.write"}},
};

// Core services a plugin must not claim methods of.
constexpr const char* kCorePrefixes[] = {"/rapport.v1.", "/grpc."};

bool IsName(absl::string_view s) {
  if (s.empty() || s.size() > 190) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return s.front() != '.' && s.back() != '.';
}

// "/package.Service/Method".
bool IsMethod(absl::string_view m) {
  if (m.size() < 4 || m.size() > 255 || m.front() != '/') return false;
  size_t slash = m.find('/', 1);
  if (slash == absl::string_view::npos || slash == 1 || slash + 1 == m.size()) {
    return false;
  }
  return IsName(m.substr(1, slash - 1)) && IsName(m.substr(slash + 1));
}

// "<plugin>." prefix: plugins name their permissions and roles inside their
// own namespace so that they cannot grant themselves core permissions.
bool InPluginNamespace(absl::string_view plugin, absl::string_view name) {
  return name.size() > plugin.size() + 1 && absl::StartsWith(name, plugin) &&
         name[plugin.size()] == '.';
}

}  // namespace

Permissions::Permissions() {
  for (const CoreMethod& m : kCoreMethods) {
    methods_[m.method] = MethodRule{m.permission, m.mutating};
  }
  grants_[kRoleAdmin];
  for (const CoreGrant& g : kCoreGrants) {
    auto& set = grants_[g.role];
    for (const char* p : g.permissions) {
      if (p != nullptr) set.insert(p);
    }
  }
}

absl::Status Permissions::DeclareMethod(absl::string_view plugin,
                                        absl::string_view method,
                                        absl::string_view permission,
                                        bool mutating) {
  if (!IsMethod(method)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", method,
        "\" is not a full gRPC method name (\"/pkg.Service/Method\")"));
  }
  for (const char* core : kCorePrefixes) {
    if (absl::StartsWith(method, core)) {
      return absl::InvalidArgumentError(
          absl::StrCat(method, " belongs to the core, not to plugin ", plugin));
    }
  }
  if (!IsName(permission) || !InPluginNamespace(plugin, permission)) {
    return absl::InvalidArgumentError(
        absl::StrCat("permission \"", permission, "\" must be named \"", plugin,
                     ".<name>\" (letters, digits, . _ -)"));
  }
  if (methods_.count(method) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(method, " has already been declared"));
  }
  methods_[std::string(method)] = MethodRule{std::string(permission), mutating};
  return absl::OkStatus();
}

absl::Status Permissions::GrantPermission(absl::string_view plugin,
                                          absl::string_view role,
                                          absl::string_view permission) {
  if (!IsName(permission) || !InPluginNamespace(plugin, permission)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plugin ", plugin, " may only grant its own permissions (\"", plugin,
        ".<name>\"), not \"", permission, "\""));
  }
  if (role == kRoleAdmin) return absl::OkStatus();  // holds everything
  if (role != kRoleReader && role != kRoleAgent &&
      !(IsName(role) && InPluginNamespace(plugin, role))) {
    return absl::InvalidArgumentError(
        absl::StrCat("role \"", role, "\" must be READER, AGENT, ADMIN or \"",
                     plugin, ".<role>\""));
  }
  grants_[std::string(role)].insert(std::string(permission));
  return absl::OkStatus();
}

const MethodRule* Permissions::Find(absl::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? nullptr : &it->second;
}

bool Permissions::RoleExists(absl::string_view role) const {
  return grants_.find(role) != grants_.end();
}

std::vector<std::string> Permissions::Roles() const {
  std::vector<std::string> roles = {kRoleAdmin, kRoleAgent, kRoleReader};
  for (const auto& [role, unused] : grants_) {
    if (role != kRoleAdmin && role != kRoleAgent && role != kRoleReader) {
      roles.push_back(role);
    }
  }
  return roles;
}

bool Permissions::Holds(absl::string_view role,
                        absl::string_view permission) const {
  if (role == kRoleAdmin) return true;
  auto it = grants_.find(role);
  return it != grants_.end() && it->second.count(permission) > 0;
}

absl::Status Permissions::Authorize(const Principal& principal,
                                    absl::string_view method) const {
  const MethodRule* rule = Find(method);
  if (rule == nullptr) {
    // Undeclared plugin methods: only ADMIN, so that forgetting a
    // declaration fails closed.
    if (principal.role == kRoleAdmin) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        method, " declares no permission, so only ADMIN may call it; ",
        principal.name, " has role ", principal.role));
  }
  if (rule->permission.empty() || Holds(principal.role, rule->permission)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      principal.name, " (role ", principal.role, ") lacks permission ",
      rule->permission, " needed by ", method));
}

}  // namespace rapport::auth
