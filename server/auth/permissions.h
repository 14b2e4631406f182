// Who may call what: the one table that maps every gRPC method to the
// permission it needs, and roles to the permissions they hold.
//
// Core methods are declared in permissions.cc (kCoreMethods), in one place,
// and a test checks that every method of every core service is there.
// Plugins declare their methods and plugin-scoped roles through the SDK
// (Host::DeclareMethod / Host::GrantPermission) while they start. A method
// nobody declared (a plugin that did not declare it) is ADMIN-only.
//
// Roles: ADMIN holds every permission, plugins' included. READER reads
// contacts and interactions; AGENT also writes them. Plugin-scoped roles are
// named "<plugin name>.<role>" and hold what their plugin granted them.
//
// Thread-safety: declarations happen while the server assembles (before it
// serves); afterwards the table is only read, from any thread.
#ifndef RAPPORT_SERVER_AUTH_PERMISSIONS_H_
#define RAPPORT_SERVER_AUTH_PERMISSIONS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rapport::auth {

inline constexpr char kRoleAdmin[] = "ADMIN";
inline constexpr char kRoleAgent[] = "AGENT";
inline constexpr char kRoleReader[] = "READER";

// What a method needs.
struct MethodRule {
  // Empty for public methods (health checks): no credentials needed.
  std::string permission;
  // Changes state: every call is written to the audit log.
  bool mutating = false;
};

// An authenticated caller.
struct Principal {
  // "apiKeys/<key id>" or "clientCertificates/<identity>".
  std::string name;
  std::string role;
};

class Permissions {
 public:
  // The core table: core services, health (public) and reflection.
  Permissions();

  // For a plugin's own service method ("/pkg.Service/Method"): the
  // permission it needs ("<plugin>.<verb>", e.g. "rapport.loyalty.redeem")
  // and whether it mutates. INVALID_ARGUMENT for a malformed method or
  // permission, a permission outside the plugin's namespace, or a method of
  // a core service; ALREADY_EXISTS when the method was declared already.
  absl::Status DeclareMethod(absl::string_view plugin, absl::string_view method,
                             absl::string_view permission, bool mutating);

  // Gives `role` the plugin's `permission`. `role` is READER, AGENT (ADMIN
  // holds everything already) or "<plugin>.<name>", which exists from then
  // on. INVALID_ARGUMENT for another plugin's permission or role.
  absl::Status GrantPermission(absl::string_view plugin, absl::string_view role,
                               absl::string_view permission);

  // The rule for `method`, or nullptr when nobody declared it.
  const MethodRule* Find(absl::string_view method) const;

  // Whether API keys may be created with this role.
  bool RoleExists(absl::string_view role) const;
  // Every role, core ones first.
  std::vector<std::string> Roles() const;

  // OK when `principal` may call `method`; PERMISSION_DENIED naming the
  // role, the method and the permission it lacks otherwise.
  absl::Status Authorize(const Principal& principal,
                         absl::string_view method) const;

  // Every method with a rule (for tests and `rapportd --help`-like listings).
  const std::map<std::string, MethodRule, std::less<>>& methods() const {
    return methods_;
  }

 private:
  bool Holds(absl::string_view role, absl::string_view permission) const;

  std::map<std::string, MethodRule, std::less<>> methods_;
  // role -> permissions (ADMIN is implicit: it holds every permission).
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>>
      grants_;
};

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_PERMISSIONS_H_
