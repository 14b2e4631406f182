// Numbered schema migrations, applied in order and recorded in the
// `schema_migrations` table per component ("core", later each plugin).
// Several replicas may start at once: a named database lock (GET_LOCK)
// serialises them, and each finds the others' work recorded.
// Thread-safety: ApplyMigrations may be called from any thread.
#ifndef RAPPORT_SERVER_STORAGE_MIGRATIONS_H_
#define RAPPORT_SERVER_STORAGE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rapport::storage {

class Database;

struct Migration {
  int version;       // 1, 2, 3, ... from the file name NNNN_name.sql
  std::string name;  // "contacts_and_interactions"
  std::string sql;   // statements separated by ";" at the end of a line
};

// The core server's migrations (server/storage/migrations/*.sql), embedded at
// build time.
std::vector<Migration> CoreMigrations();

// Splits migration text into statements: ";" ending a line ends a statement;
// "--" comment lines are dropped.
std::vector<std::string> SplitSqlStatements(absl::string_view sql);

// Applies the migrations of `component` that are not yet recorded, in
// version order. Returns OK when the schema is current; UNAVAILABLE when the
// database cannot be reached (retry); FAILED_PRECONDITION when an applied
// migration's text changed since (its checksum differs) or versions are not
// 1..n without gaps; the database error otherwise (the failed migration is
// not recorded, so a fixed one runs again).
absl::Status ApplyMigrations(Database& db, absl::string_view component,
                             const std::vector<Migration>& migrations);

// OK when every migration of `component` is recorded as applied (another
// process, such as a Kubernetes Job running `rapportd migrate`, applied them);
// UNAVAILABLE while some are missing or the database cannot be reached.
absl::Status CheckMigrationsApplied(Database& db, absl::string_view component,
                                    const std::vector<Migration>& migrations);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_MIGRATIONS_H_
