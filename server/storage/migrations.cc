#include "server/storage/migrations.h"

#include <cppconn/exception.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/common/logging.h"
#include "server/common/time_util.h"
#include "server/storage/database.h"
#include "server/storage/sql_error.h"

namespace rapport::storage {
namespace {

constexpr char kLockName[] = "rapport.schema_migrations";
constexpr int kLockWaitSeconds = 120;

// FNV-1a: a stable fingerprint of a migration's text, to notice edits to a
// migration that was already applied (schema changes go in new files).
std::string Checksum(absl::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

}  // namespace

std::vector<std::string> SplitSqlStatements(absl::string_view sql) {
  std::vector<std::string> statements;
  std::string current;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || absl::StartsWith(trimmed, "--")) continue;
    absl::StrAppend(&current, line, "\n");
    if (absl::EndsWith(trimmed, ";")) {
      std::string stmt(absl::StripAsciiWhitespace(current));
      stmt.pop_back();  // the ';'
      statements.push_back(std::move(stmt));
      current.clear();
    }
  }
  if (!absl::StripAsciiWhitespace(current).empty()) {
    statements.emplace_back(absl::StripAsciiWhitespace(current));
  }
  return statements;
}

absl::Status ApplyMigrations(Database& db, absl::string_view component,
                             const std::vector<Migration>& migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i + 1)) {
      return absl::FailedPreconditionError(absl::StrCat(
          component, " migrations must be numbered 1..n without gaps; found ",
          migrations[i].version, " at position ", i + 1));
    }
  }
  absl::StatusOr<Connection> lease = db.Acquire(/*ignore_ready=*/true);
  if (!lease.ok()) return lease.status();
  absl::Status status = absl::OkStatus();
  // The migration being applied, so that its failure names it.
  std::string current;
  // DDL commits implicitly in MySQL, so migrations run in autocommit mode
  // under a named lock rather than in one transaction.
  try {
    Connection& conn = *lease;
    conn.ExecuteDirect(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " component VARCHAR(64) NOT NULL,"
        " version INT NOT NULL,"
        " name VARCHAR(200) NOT NULL,"
        " checksum CHAR(16) NOT NULL,"
        " applied_at DATETIME(6) NOT NULL,"
        " PRIMARY KEY (component, version)"
        ") ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin");
    {
      auto rs = conn.Query(
          "SELECT GET_LOCK(?, ?)",
          {std::string(kLockName), static_cast<int64_t>(kLockWaitSeconds)});
      if (!rs->next() || rs->isNull(1) || rs->getInt(1) != 1) {
        return absl::UnavailableError(absl::StrCat(
            "another rapportd has been applying migrations for over ",
            kLockWaitSeconds, " s; retry"));
      }
    }
    std::map<int, std::string> applied;  // version -> checksum
    {
      auto rs = conn.Query(
          "SELECT version, checksum FROM schema_migrations WHERE component = ?",
          {std::string(component)});
      while (rs->next()) {
        applied[rs->getInt(1)] = rs->getString(2);
      }
    }
    for (const Migration& m : migrations) {
      const std::string sum = Checksum(m.sql);
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != sum) {
          status = absl::FailedPreconditionError(absl::StrFormat(
              "%s migration %04d_%s was edited after it was applied "
              "(checksum %s, recorded %s); put schema changes in a new "
              "migration",
              component, m.version, m.name, sum, it->second));
          break;
        }
        continue;
      }
      log::Info(
          "applying migration",
          {{"component", component}, {"version", m.version}, {"name", m.name}});
      current = absl::StrFormat(" migration %04d_%s", m.version, m.name);
      for (const std::string& stmt : SplitSqlStatements(m.sql)) {
        conn.ExecuteDirect(stmt);
      }
      conn.Update(
          "INSERT INTO schema_migrations"
          " (component, version, name, checksum, applied_at)"
          " VALUES (?, ?, ?, ?, ?)",
          {std::string(component), static_cast<int64_t>(m.version), m.name, sum,
           ToSqlDateTime(absl::Now())});
      current.clear();
    }
    if (!applied.empty() &&
        applied.rbegin()->first > static_cast<int>(migrations.size())) {
      // A newer rapportd migrated this database (rolling upgrade in
      // progress): migrations only ever add, so this binary keeps working.
      log::Warning(
          "database schema is newer than this rapportd",
          {{"component", component},
           {"database_version", applied.rbegin()->first},
           {"known_version", static_cast<int64_t>(migrations.size())}});
    }
    conn.Query("SELECT RELEASE_LOCK(?)", {std::string(kLockName)});
  } catch (const sql::SQLException& e) {
    // The named lock dies with the session if RELEASE_LOCK did not run.
    lease->MarkBroken();
    return StatusFromSqlException(
        e, current.empty() ? absl::StrCat("applying ", component, " migrations")
                           : absl::StrCat("applying ", component, current));
  }
  return status;
}

absl::Status CheckMigrationsApplied(Database& db, absl::string_view component,
                                    const std::vector<Migration>& migrations) {
  int64_t applied = 0;
  absl::StatusOr<Connection> lease = db.Acquire(/*ignore_ready=*/true);
  if (!lease.ok()) return lease.status();
  try {
    auto rs = lease->Query(
        "SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND "
        "version <= ?",
        {std::string(component), static_cast<int64_t>(migrations.size())});
    if (rs->next()) applied = rs->getInt64(1);
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() == 1146)
      applied = 0;  // no table yet
    else
      return StatusFromSqlException(e, "checking migrations");
  }
  if (applied < static_cast<int64_t>(migrations.size())) {
    return absl::UnavailableError(absl::StrCat(
        applied, " of ", migrations.size(), " ", component,
        " migrations are applied; waiting for `rapportd migrate`"));
  }
  return absl::OkStatus();
}

}  // namespace rapport::storage
