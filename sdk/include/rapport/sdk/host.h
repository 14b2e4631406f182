// What the Rapport server offers a plugin: the Host passed to Plugin::Start.
//
// Ownership: the host owns every object these interfaces hand out (Logger,
// Database, Counter, the config); they stay valid until Plugin::Stop returns.
// The plugin owns what it passes in (services, handlers, jobs) and must keep
// services alive until Stop returns.
//
// Thread-safety: every method may be called from any thread after Start.
// Event handlers and scheduled jobs run on host threads, one call at a time
// per subscription or job.
//
// ABI: Host, Logger, Database and Counter are implemented by the host. New
// virtual methods are only ever appended at the end of a class (a MINOR
// version bump); plugins must not derive from these classes.
#ifndef RAPPORT_SDK_HOST_H_
#define RAPPORT_SDK_HOST_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapport/v1/event.pb.h"
#include "rapport/v1/interaction.pb.h"

namespace grpc {
class Service;
}

namespace rapport::sdk {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
using LogFields = std::vector<std::pair<std::string, std::string>>;

// Structured log lines, tagged with the plugin's name.
class Logger {
 public:
  virtual void Log(LogLevel level, absl::string_view message,
                   const LogFields& fields) = 0;

  void Info(absl::string_view m, const LogFields& f = {}) {
    Log(LogLevel::kInfo, m, f);
  }
  void Warning(absl::string_view m, const LogFields& f = {}) {
    Log(LogLevel::kWarning, m, f);
  }
  void Error(absl::string_view m, const LogFields& f = {}) {
    Log(LogLevel::kError, m, f);
  }

 protected:
  ~Logger() = default;
};

// A value bound to a `?` placeholder: NULL, bool, integer, double or text
// (timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", UTC).
using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

// One result row: each column as text, nullopt for NULL.
using Row = std::vector<std::optional<std::string>>;

// SQL access for a plugin: prepared statements only (values go in `params`,
// never into the text), one statement per call. Writes and DDL may touch only
// the plugin's own tables (names starting with Host::table_prefix()); reads
// may also use the core tables contacts, contact_emails, contact_phones,
// contact_tags, contact_attributes and interactions. Anything else is
// PERMISSION_DENIED. Errors follow the server's mapping: ALREADY_EXISTS for a
// duplicate key, ABORTED for a deadlock (retry), UNAVAILABLE when the
// database is down (retry later).
class Database {
 public:
  // Runs a SELECT and returns its rows.
  virtual absl::StatusOr<std::vector<Row>> Query(
      absl::string_view sql, const std::vector<Value>& params) = 0;
  // Runs an INSERT, UPDATE, DELETE or DDL statement; returns affected rows.
  virtual absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                          const std::vector<Value>& params) = 0;
  // The AUTO_INCREMENT id of this session's last INSERT. Meaningful inside
  // Transaction only (outside, each call may use another connection).
  virtual absl::StatusOr<int64_t> LastInsertId() = 0;
  // Runs `fn` in one transaction on one connection: commits when it returns
  // OK, rolls back otherwise. Deadlocks retry `fn` up to 3 times, so `fn`
  // must have no side effects outside the database.
  virtual absl::Status Transaction(
      const std::function<absl::Status(Database& tx)>& fn) = 0;

 protected:
  ~Database() = default;
};

// A monotonically increasing metric.
class Counter {
 public:
  virtual void Increment(int64_t n) = 0;
  void Increment() { Increment(1); }

 protected:
  ~Counter() = default;
};

// One numbered schema migration of the plugin's own tables. Versions run
// 1..n without gaps, each once, recorded per plugin. Never edit an applied
// migration: add a new one.
struct Migration {
  int version = 0;
  std::string name;
  // Statements separated by ";" at the end of a line.
  std::string sql;
};

// Handles one event. Return OK when done (or when the event was already
// handled: delivery is at least once, use Event.id to be idempotent); an
// error makes the host retry with back-off and, after repeated failures,
// park the event for an admin to look at.
using EventHandler = std::function<absl::Status(const rapport::v1::Event&)>;

// A periodic job. An error is logged and counted; the job runs again next
// period.
using Job = std::function<absl::Status()>;

class Host {
 public:
  // The plugin's name ("rapport.loyalty") and its table prefix
  // ("rapport_loyalty_"): the name with dots as underscores, plus "_".
  virtual const std::string& plugin_name() const = 0;
  virtual const std::string& table_prefix() const = 0;

  virtual Logger& logger() = 0;

  // The plugin's config section (plugins.config.<name> in the server's YAML
  // file), flattened to dotted keys ("tiers.gold" -> "1000"), and as YAML.
  virtual const std::map<std::string, std::string>& config() const = 0;
  virtual const std::string& config_yaml() const = 0;

  virtual Database& database() = 0;

  // --- Only during Start ---------------------------------------------------
  // Each returns FAILED_PRECONDITION when called after Start returned.

  // Serves `service` on the server's gRPC port (with the core services,
  // listed by reflection). Not owned; must outlive Stop.
  virtual absl::Status RegisterService(grpc::Service* service) = 0;

  // Migrations of the plugin's tables, applied in order after Start and
  // before the server reports SERVING.
  virtual absl::Status AddMigrations(std::vector<Migration> migrations) = 0;

  // Delivers events of `types` to `handler`, every event committed after the
  // subscription was first registered (by any replica). `name` (unique
  // within the plugin, e.g. "points") identifies the subscription: keep it
  // stable across releases; a new name is a new subscription that starts
  // with the events committed after it.
  virtual absl::Status Subscribe(absl::string_view name,
                                 std::vector<rapport::v1::EventType> types,
                                 EventHandler handler) = 0;

  // Runs `job` every `period`, once per period across all server replicas
  // (a database lease elects the replica).
  virtual absl::Status Schedule(absl::string_view name, absl::Duration period,
                                Job job) = 0;

  // --- Any time --------------------------------------------------------------

  // A counter named "<plugin>_<name>" in the server's metrics. The same name
  // returns the same counter.
  virtual Counter& counter(absl::string_view name, absl::string_view help) = 0;

  // Logs an interaction on a contact's timeline through the core (validated
  // like InteractionService.LogInteraction, idempotent with `request_id`,
  // and published as INTERACTION_LOGGED).
  virtual absl::StatusOr<rapport::v1::Interaction> LogInteraction(
      const rapport::v1::Interaction& interaction,
      absl::string_view request_id) = 0;

  // --- Only during Start (SDK 1.1) -------------------------------------------
  // Authorization of the plugin's own gRPC methods. Every call is
  // authenticated by the server; a method of a plugin service that was not
  // declared here may be called by ADMIN keys only.

  // Declares what calling `method` ("/pkg.Service/Method", one of the
  // plugin's services) needs: `permission`, named "<plugin name>.<verb>",
  // e.g. "rapport.loyalty.redeem". `mutating` methods are written to the
  // audit log, with the outcome of every call. INVALID_ARGUMENT for a
  // malformed name, a permission outside the plugin's namespace or a core
  // method; ALREADY_EXISTS when declared twice.
  virtual absl::Status DeclareMethod(absl::string_view method,
                                     absl::string_view permission,
                                     bool mutating) = 0;
  // Grants one of the plugin's permissions to `role`: "READER" or "AGENT"
  // (core roles; ADMIN holds every permission), or a plugin-scoped role
  // "<plugin name>.<role>" (e.g. "rapport.loyalty.manager"), which exists
  // once granted something and can then be given to API keys.
  virtual absl::Status GrantPermission(absl::string_view role,
                                       absl::string_view permission) = 0;

 protected:
  ~Host() = default;
};

}  // namespace rapport::sdk

#endif  // RAPPORT_SDK_HOST_H_
