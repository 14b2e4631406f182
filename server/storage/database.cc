#include "server/storage/database.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/storage/sql_error.h"

namespace rapport::storage {
namespace {

// Prepared statements cached per connection. Filters produce many distinct
// statements; past this many the cache starts over rather than growing
// without bound (the server caps prepared statements globally).
constexpr size_t kMaxCachedStatements = 256;

// A connection unused for longer than this is checked before it is handed
// out: the server (wait_timeout) or a proxy may have closed it.
constexpr absl::Duration kValidateAfterIdle = absl::Seconds(30);

// Statements every new session runs, so that MySQL 8.0 and MariaDB 10.11
// behave alike: UTC for DATETIME text, strict mode, READ COMMITTED (no gap
// locks between concurrent inserts, fewer deadlocks).
constexpr const char* kSessionSetupStatements[] = {
    "SET time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY'",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    // Child rows of a contact are read as GROUP_CONCAT lists (contact_rows.cc);
    // MySQL cuts them at 1024 bytes by default.
    "SET SESSION group_concat_max_len = 1048576",
};

}  // namespace

absl::Span<const char* const> SessionSetupStatements() {
  return kSessionSetupStatements;
}

struct Connection::Slot {
  std::unique_ptr<sql::Connection> conn;
  absl::flat_hash_map<std::string, std::unique_ptr<sql::PreparedStatement>>
      statements;
  absl::Time last_used = absl::InfinitePast();
  // Set when an error showed the connection is gone; the next lease reopens.
  bool broken = false;
};

void BindParams(sql::PreparedStatement* stmt,
                const std::vector<SqlParam>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const unsigned int index = static_cast<unsigned int>(i + 1);
    const SqlParam& p = params[i];
    if (std::holds_alternative<std::monostate>(p)) {
      stmt->setNull(index, 0);
    } else if (const bool* b = std::get_if<bool>(&p)) {
      stmt->setBoolean(index, *b);
    } else if (const int64_t* n = std::get_if<int64_t>(&p)) {
      stmt->setInt64(index, *n);
    } else if (const double* d = std::get_if<double>(&p)) {
      stmt->setDouble(index, *d);
    } else {
      stmt->setString(index, std::get<std::string>(p));
    }
  }
}

int64_t UpdateUncached(Connection& conn, const std::string& sql,
                       const std::vector<SqlParam>& params) {
  std::unique_ptr<sql::PreparedStatement> stmt(
      conn.raw()->prepareStatement(sql));
  BindParams(stmt.get(), params);
  return stmt->executeUpdate();
}

namespace {

std::string MultiRowInsertSql(absl::string_view head, absl::string_view tuple,
                              size_t rows) {
  std::string sql(head);
  sql.reserve(head.size() + rows * (tuple.size() + 2));
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) sql.append(", ");
    sql.append(tuple.data(), tuple.size());
  }
  return sql;
}

}  // namespace

BatchInsert::BatchInsert(Connection& conn, absl::string_view head,
                         absl::string_view tuple, size_t rows_per_statement,
                         std::function<void(size_t rows)> after_statement)
    : conn_(conn),
      head_(head),
      tuple_(tuple),
      rows_per_statement_(std::max<size_t>(1, rows_per_statement)),
      full_sql_(MultiRowInsertSql(head, tuple, rows_per_statement_)),
      after_statement_(std::move(after_statement)) {}

void BatchInsert::Add(std::vector<SqlParam> row) {
  for (SqlParam& p : row) params_.push_back(std::move(p));
  if (++rows_ == rows_per_statement_) {
    conn_.Update(full_sql_, params_);
    Written();
  }
}

void BatchInsert::Flush() {
  if (rows_ == 0) return;
  UpdateUncached(conn_, MultiRowInsertSql(head_, tuple_, rows_), params_);
  Written();
}

void BatchInsert::Written() {
  const size_t rows = std::exchange(rows_, 0);
  params_.clear();
  if (after_statement_) after_statement_(rows);
}

bool ConsecutiveInsertIds(Connection& conn) {
  std::unique_ptr<sql::ResultSet> rs = conn.Query(
      "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment", {});
  return rs->next() && rs->getInt64(1) != 2 && rs->getInt64(2) == 1;
}

Connection::Connection(Connection&& other) noexcept
    : db_(other.db_), slot_(std::exchange(other.slot_, nullptr)) {}

Connection::~Connection() {
  if (slot_ != nullptr) db_->Release(slot_);
}

sql::Connection* Connection::raw() { return slot_->conn.get(); }

void Connection::MarkBroken() { slot_->broken = true; }

sql::PreparedStatement* Connection::Prepare(absl::string_view sql) {
  auto it = slot_->statements.find(sql);
  if (it == slot_->statements.end()) {
    if (slot_->statements.size() >= kMaxCachedStatements) {
      slot_->statements.clear();
    }
    std::unique_ptr<sql::PreparedStatement> stmt(
        slot_->conn->prepareStatement(std::string(sql)));
    it = slot_->statements.emplace(std::string(sql), std::move(stmt)).first;
  } else {
    it->second->clearParameters();
  }
  return it->second.get();
}

std::unique_ptr<sql::ResultSet> Connection::Query(
    absl::string_view sql, const std::vector<SqlParam>& params) {
  sql::PreparedStatement* stmt = Prepare(sql);
  BindParams(stmt, params);
  return std::unique_ptr<sql::ResultSet>(stmt->executeQuery());
}

int64_t Connection::Update(absl::string_view sql,
                           const std::vector<SqlParam>& params) {
  sql::PreparedStatement* stmt = Prepare(sql);
  BindParams(stmt, params);
  return stmt->executeUpdate();
}

void Connection::ExecuteDirect(absl::string_view sql) {
  std::unique_ptr<sql::Statement> stmt(slot_->conn->createStatement());
  stmt->execute(std::string(sql));
}

int64_t Connection::LastInsertId() {
  std::unique_ptr<sql::ResultSet> rs = Query("SELECT LAST_INSERT_ID()", {});
  rs->next();
  return rs->getInt64(1);
}

Database::Database(DbOptions options, int pool_size)
    : options_(std::move(options)) {
  if (pool_size < 1) pool_size = 1;
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < pool_size; ++i) {
    slots_.push_back(std::make_unique<Connection::Slot>());
    free_.push_back(slots_.back().get());
  }
}

Database::~Database() {
  absl::MutexLock lock(&mu_);
  // Every lease must have ended: leases point into slots_.
  for (auto& slot : slots_) {
    slot->statements.clear();
    slot->conn.reset();
  }
}

absl::Status Database::OpenConnection(Connection::Slot* slot) {
  slot->statements.clear();
  slot->conn.reset();
  slot->broken = false;
  sql::ConnectOptionsMap opts;
  if (!options_.socket.empty()) {
    opts["hostName"] = sql::SQLString("localhost");
    opts["socket"] = sql::SQLString(options_.socket);
  } else {
    opts["hostName"] = sql::SQLString(absl::StrCat("tcp://", options_.host));
    opts["port"] = options_.port;
  }
  opts["userName"] = sql::SQLString(options_.user);
  opts["password"] = sql::SQLString(options_.password);
  opts["schema"] = sql::SQLString(options_.database);
  opts["OPT_CONNECT_TIMEOUT"] =
      static_cast<int>(absl::ToInt64Seconds(options_.connect_timeout));
  opts["OPT_READ_TIMEOUT"] =
      static_cast<int>(absl::ToInt64Seconds(options_.io_timeout));
  opts["OPT_WRITE_TIMEOUT"] =
      static_cast<int>(absl::ToInt64Seconds(options_.io_timeout));
  opts["OPT_RECONNECT"] = false;  // we reopen ourselves, with session setup
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  try {
    sql::Driver* driver = sql::mysql::get_mysql_driver_instance();
    slot->conn.reset(driver->connect(opts));
    std::unique_ptr<sql::Statement> stmt(slot->conn->createStatement());
    for (const char* setup : SessionSetupStatements()) stmt->execute(setup);
  } catch (const sql::SQLException& e) {
    slot->conn.reset();
    const std::string where =
        options_.socket.empty()
            ? absl::StrCat(options_.host, ":", options_.port)
            : options_.socket;
    std::string hint;
    if (e.getErrorCode() == 1045) {
      hint = "; check the database user and password";
    } else if (e.getErrorCode() == 1049) {
      hint = absl::StrCat("; create the database \"", options_.database,
                          "\" first");
    }
    log::Warning("database connection failed",
                 {{"address", where},
                  {"mysql_error", e.getErrorCode()},
                  {"error", e.what()}});
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to the database at ", where, ": ", e.what(), hint));
  }
  return absl::OkStatus();
}

absl::StatusOr<Connection> Database::Acquire(bool ignore_ready) {
  if (!ignore_ready && !ready()) {
    return absl::UnavailableError(
        "the server is starting: database migrations are not applied yet; "
        "retry shortly");
  }
  Connection::Slot* slot = nullptr;
  {
    absl::MutexLock lock(&mu_);
    ++waiting_;
    const absl::Time deadline = absl::Now() + options_.acquire_timeout;
    auto has_free = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !free_.empty();
    };
    mu_.AwaitWithDeadline(absl::Condition(&has_free), deadline);
    --waiting_;
    if (free_.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "all ", slots_.size(),
          " database connections stayed busy; the server is overloaded, "
          "retry with back-off"));
    }
    slot = free_.back();
    free_.pop_back();
  }
  Connection lease(this, slot);
  const absl::Time now = absl::Now();
  bool usable = slot->conn != nullptr && !slot->broken;
  if (usable && now - slot->last_used > kValidateAfterIdle) {
    try {
      usable = slot->conn->isValid();
    } catch (const sql::SQLException&) {
      usable = false;
    }
  }
  if (!usable) {
    absl::Status status = OpenConnection(slot);
    if (!status.ok()) return status;  // lease returns the empty slot
  }
  slot->last_used = now;
  return lease;
}

void Database::Release(Connection::Slot* slot) {
  slot->last_used = absl::Now();
  if (slot->broken) {
    slot->statements.clear();
    slot->conn.reset();
  }
  absl::MutexLock lock(&mu_);
  free_.push_back(slot);
}

absl::Status Database::RunOnce(absl::string_view what, bool transaction,
                               absl::FunctionRef<absl::Status(Connection&)> fn,
                               bool* deadlocked) {
  *deadlocked = false;
  absl::StatusOr<Connection> lease = Acquire();
  if (!lease.ok()) return lease.status();
  Connection& conn = *lease;
  bool in_transaction = false;
  try {
    if (transaction) {
      conn.ExecuteDirect("START TRANSACTION");
      in_transaction = true;
    }
    absl::Status status = fn(conn);
    if (transaction) {
      in_transaction = false;
      conn.ExecuteDirect(status.ok() ? "COMMIT" : "ROLLBACK");
    }
    return status;
  } catch (const sql::SQLException& e) {
    if (IsConnectionLost(e.getErrorCode()) || e.getErrorCode() == 0) {
      conn.slot_->broken = true;
    } else if (in_transaction) {
      try {
        conn.ExecuteDirect("ROLLBACK");
      } catch (const sql::SQLException&) {
        conn.slot_->broken = true;
      }
    }
    *deadlocked = e.getErrorCode() == kErrDeadlock ||
                  e.getErrorCode() == kErrLockWaitTimeout;
    return StatusFromSqlException(e, what);
  } catch (const std::exception& e) {
    conn.slot_->broken = true;  // unknown state: do not reuse
    log::Error("unexpected exception",
               {{"context", what}, {"error", e.what()}});
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

absl::Status Database::Run(absl::string_view what,
                           absl::FunctionRef<absl::Status(Connection&)> fn) {
  bool deadlocked;
  return RunOnce(what, /*transaction=*/false, fn, &deadlocked);
}

absl::Status Database::Transaction(
    absl::string_view what, absl::FunctionRef<absl::Status(Connection&)> fn) {
  constexpr int kAttempts = 3;
  absl::Status status;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    bool deadlocked;
    status = RunOnce(what, /*transaction=*/true, fn, &deadlocked);
    // Only conflicts the database reported are retried; an ABORTED that `fn`
    // returns (an etag mismatch) goes straight back to the caller.
    if (!deadlocked) return status;
    // Deadlock victims retry at once: the other transaction has finished.
  }
  return status;
}

absl::Status Database::Ping() {
  absl::StatusOr<Connection> lease = Acquire(/*ignore_ready=*/true);
  if (!lease.ok()) return lease.status();
  try {
    lease->Query("SELECT 1", {});
    return absl::OkStatus();
  } catch (const sql::SQLException& e) {
    lease->slot_->broken = true;
    return StatusFromSqlException(e, "checking the database");
  }
}

Database::Stats Database::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats;
  stats.size = static_cast<int>(slots_.size());
  stats.in_use = stats.size - static_cast<int>(free_.size());
  stats.waiting = waiting_;
  return stats;
}

}  // namespace rapport::storage
