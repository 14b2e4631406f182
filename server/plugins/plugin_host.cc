#include "server/plugins/plugin_host.h"

#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/auth/permissions.h"
#include "server/common/logging.h"
#include "server/plugins/sql_guard.h"
#include "server/storage/database.h"
#include "server/storage/sql_error.h"

namespace rapport::plugins {
namespace {

std::vector<sdk::Row> ReadRows(sql::ResultSet& rs) {
  std::vector<sdk::Row> rows;
  const unsigned int columns = rs.getMetaData()->getColumnCount();
  while (rs.next()) {
    sdk::Row row;
    row.reserve(columns);
    for (unsigned int c = 1; c <= columns; ++c) {
      if (rs.isNull(c)) {
        row.push_back(std::nullopt);
      } else {
        row.push_back(std::string(rs.getString(c)));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The statement kinds Query and Execute accept.
bool IsSelect(absl::string_view sql) {
  absl::string_view s = absl::StripLeadingAsciiWhitespace(sql);
  return absl::StartsWithIgnoreCase(s, "select") ||
         absl::StartsWithIgnoreCase(s, "with");
}

}  // namespace

std::string TablePrefixFor(absl::string_view plugin_name) {
  return absl::StrCat(absl::StrReplaceAll(plugin_name, {{".", "_"}}), "_");
}

class PluginHost::PluginLogger final : public sdk::Logger {
 public:
  explicit PluginLogger(std::string plugin) : plugin_(std::move(plugin)) {}
  void Log(sdk::LogLevel level, absl::string_view message,
           const sdk::LogFields& fields) override {
    // The fixed-size field list of log::Log takes the plugin name plus the
    // plugin's fields folded into one "fields" object.
    std::string extra;
    for (const auto& [k, v] : fields) {
      absl::StrAppend(&extra, extra.empty() ? "" : " ", k, "=", v);
    }
    const auto lvl = static_cast<log::Level>(static_cast<int>(level));
    if (extra.empty()) {
      log::Log(lvl, message, {{"plugin", plugin_}});
    } else {
      log::Log(lvl, message, {{"plugin", plugin_}, {"fields", extra}});
    }
  }

 private:
  const std::string plugin_;
};

// sdk::Database for one plugin: every statement passes the SQL guard first.
// Outside a transaction each call runs on a pooled connection in autocommit
// mode; Transaction hands `fn` a view bound to one connection.
class PluginHost::PluginDatabase final : public sdk::Database {
 public:
  PluginDatabase(storage::Database* db, std::string prefix)
      : db_(db), prefix_(std::move(prefix)) {}

  absl::StatusOr<std::vector<sdk::Row>> Query(
      absl::string_view sql, const std::vector<sdk::Value>& params) override {
    if (!IsSelect(sql)) {
      return absl::InvalidArgumentError(
          "Query runs SELECT statements; use Execute");
    }
    absl::Status guard = Guard(sql);
    if (!guard.ok()) return guard;
    std::vector<sdk::Row> rows;
    absl::Status status = db_->Run("plugin query", [&](storage::Connection& c) {
      rows = ReadRows(*c.Query(sql, params));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return rows;
  }

  absl::StatusOr<int64_t> Execute(
      absl::string_view sql, const std::vector<sdk::Value>& params) override {
    if (IsSelect(sql)) {
      return absl::InvalidArgumentError(
          "Execute does not run SELECT; use Query");
    }
    absl::Status guard = Guard(sql);
    if (!guard.ok()) return guard;
    int64_t affected = 0;
    absl::Status status =
        db_->Run("plugin statement", [&](storage::Connection& c) {
          affected = c.Update(sql, params);
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
    return affected;
  }

  absl::StatusOr<int64_t> LastInsertId() override {
    return absl::FailedPreconditionError(
        "LastInsertId is only meaningful inside Database::Transaction");
  }

  absl::Status Transaction(
      const std::function<absl::Status(sdk::Database&)>& fn) override;

  absl::Status Guard(absl::string_view sql) const {
    return CheckPluginStatement(sql, prefix_, StatementUse::kData);
  }

 private:
  storage::Database* const db_;  // not owned
  const std::string prefix_;
};

// The view of one transaction. A database error poisons it: later calls
// return the same error, and the transaction rolls back (and retries on a
// deadlock) whatever `fn` returns, because MySQL may already have rolled the
// transaction back and further statements would autocommit.
class TransactionView final : public sdk::Database {
 public:
  TransactionView(storage::Connection& conn, const std::string& prefix)
      : conn_(conn), prefix_(prefix) {}

  absl::StatusOr<std::vector<sdk::Row>> Query(
      absl::string_view sql, const std::vector<sdk::Value>& params) override {
    if (!IsSelect(sql)) {
      return absl::InvalidArgumentError(
          "Query runs SELECT statements; use Execute");
    }
    absl::Status guard =
        CheckPluginStatement(sql, prefix_, StatementUse::kData);
    if (!guard.ok()) return guard;
    if (failure_) return status_;
    try {
      return ReadRows(*conn_.Query(sql, params));
    } catch (const sql::SQLException& e) {
      return Poison(e);
    }
  }

  absl::StatusOr<int64_t> Execute(
      absl::string_view sql, const std::vector<sdk::Value>& params) override {
    if (IsSelect(sql)) {
      return absl::InvalidArgumentError(
          "Execute does not run SELECT; use Query");
    }
    absl::Status guard =
        CheckPluginStatement(sql, prefix_, StatementUse::kData);
    if (!guard.ok()) return guard;
    if (failure_) return status_;
    try {
      return conn_.Update(sql, params);
    } catch (const sql::SQLException& e) {
      return Poison(e);
    }
  }

  absl::StatusOr<int64_t> LastInsertId() override {
    if (failure_) return status_;
    try {
      return conn_.LastInsertId();
    } catch (const sql::SQLException& e) {
      return Poison(e);
    }
  }

  absl::Status Transaction(
      const std::function<absl::Status(sdk::Database&)>& fn) override {
    return absl::FailedPreconditionError(
        "already inside a transaction; transactions do not nest");
  }

  // Re-raises the first database error so that Database::Transaction rolls
  // back, maps it, and retries deadlocks.
  void RethrowIfFailed() const {
    if (failure_) throw *failure_;
  }

 private:
  absl::Status Poison(const sql::SQLException& e) {
    failure_.emplace(e);
    status_ = storage::StatusFromSqlException(e, "plugin transaction");
    return status_;
  }

  storage::Connection& conn_;
  const std::string& prefix_;
  std::optional<sql::SQLException> failure_;
  absl::Status status_;
};

absl::Status PluginHost::PluginDatabase::Transaction(
    const std::function<absl::Status(sdk::Database&)>& fn) {
  return db_->Transaction("plugin transaction", [&](storage::Connection& c) {
    TransactionView view(c, prefix_);
    absl::Status status;
    try {
      status = fn(view);
    } catch (const std::exception& e) {
      status = absl::InternalError(
          absl::StrCat("plugin transaction threw: ", e.what()));
    } catch (...) {
      status = absl::InternalError("plugin transaction threw");
    }
    view.RethrowIfFailed();
    return status;
  });
}

PluginHost::PluginHost(std::string plugin_name, PluginConfigSection config,
                       CoreAccess core)
    : name_(std::move(plugin_name)),
      prefix_(TablePrefixFor(name_)),
      config_(std::move(config)),
      core_(std::move(core)),
      logger_(std::make_unique<PluginLogger>(name_)),
      database_(std::make_unique<PluginDatabase>(core_.db, prefix_)) {}

PluginHost::~PluginHost() = default;

sdk::Logger& PluginHost::logger() { return *logger_; }
sdk::Database& PluginHost::database() { return *database_; }

absl::Status PluginHost::CheckRegistration(absl::string_view what) const {
  if (sealed_) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is only possible during Plugin::Start"));
  }
  return absl::OkStatus();
}

absl::Status PluginHost::RegisterService(grpc::Service* service) {
  if (absl::Status s = CheckRegistration("RegisterService"); !s.ok()) return s;
  if (service == nullptr) {
    return absl::InvalidArgumentError("RegisterService: service is null");
  }
  services_.push_back(service);
  return absl::OkStatus();
}

absl::Status PluginHost::AddMigrations(std::vector<sdk::Migration> migrations) {
  if (absl::Status s = CheckRegistration("AddMigrations"); !s.ok()) return s;
  for (const sdk::Migration& m : migrations) {
    const int expected = static_cast<int>(migrations_.size()) + 1;
    if (m.version != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration \"", m.name, "\" has version ", m.version, ", expected ",
          expected, " (versions run 1..n without gaps)"));
    }
    migrations_.push_back(m);
  }
  return absl::OkStatus();
}

absl::Status PluginHost::Subscribe(absl::string_view name,
                                   std::vector<rapport::v1::EventType> types,
                                   sdk::EventHandler handler) {
  if (absl::Status s = CheckRegistration("Subscribe"); !s.ok()) return s;
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        "Subscribe: the name must be 1-64 characters");
  }
  if (types.empty() || !handler) {
    return absl::InvalidArgumentError(
        "Subscribe: name at least one event type and a handler");
  }
  for (rapport::v1::EventType t : types) {
    if (t == rapport::v1::EVENT_TYPE_UNSPECIFIED ||
        !rapport::v1::EventType_IsValid(t)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Subscribe: unknown event type ", static_cast<int>(t)));
    }
  }
  const std::string subscriber = absl::StrCat(name_, "/", name);
  for (const events::Subscription& s : subscriptions_) {
    if (s.subscriber == subscriber) {
      return absl::AlreadyExistsError(
          absl::StrCat("Subscribe: \"", name, "\" is already subscribed"));
    }
  }
  subscriptions_.push_back(events::Subscription{
      subscriber, name_, std::move(types), std::move(handler)});
  return absl::OkStatus();
}

absl::Status PluginHost::Schedule(absl::string_view name, absl::Duration period,
                                  sdk::Job job) {
  if (absl::Status s = CheckRegistration("Schedule"); !s.ok()) return s;
  if (name.empty() || name.size() > 64 || !job) {
    return absl::InvalidArgumentError(
        "Schedule: name the job (1-64 characters) and give a function");
  }
  if (period < absl::Seconds(1)) {
    return absl::InvalidArgumentError("Schedule: the period must be >= 1s");
  }
  jobs_.push_back(events::ScheduledJob{absl::StrCat(name_, "/", name), period,
                                       std::move(job)});
  return absl::OkStatus();
}

sdk::Counter& PluginHost::counter(absl::string_view name,
                                  absl::string_view help) {
  return core_.counters->Get(absl::StrCat(prefix_, name), help);
}

absl::StatusOr<rapport::v1::Interaction> PluginHost::LogInteraction(
    const rapport::v1::Interaction& interaction, absl::string_view request_id) {
  if (!core_.log_interaction) {
    return absl::UnavailableError("interactions are not available yet");
  }
  rapport::v1::Interaction copy = interaction;
  if (copy.actor().empty()) copy.set_actor(name_);
  return core_.log_interaction(copy, request_id);
}

absl::Status PluginHost::DeclareMethod(absl::string_view method,
                                       absl::string_view permission,
                                       bool mutating) {
  if (absl::Status s = CheckRegistration("DeclareMethod"); !s.ok()) return s;
  if (core_.permissions == nullptr) {
    return absl::FailedPreconditionError("DeclareMethod: no permission table");
  }
  return core_.permissions->DeclareMethod(name_, method, permission, mutating);
}

absl::Status PluginHost::GrantPermission(absl::string_view role,
                                         absl::string_view permission) {
  if (absl::Status s = CheckRegistration("GrantPermission"); !s.ok()) {
    return s;
  }
  if (core_.permissions == nullptr) {
    return absl::FailedPreconditionError(
        "GrantPermission: no permission table");
  }
  return core_.permissions->GrantPermission(name_, role, permission);
}

}  // namespace rapport::plugins
