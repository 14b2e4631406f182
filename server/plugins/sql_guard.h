// A check of the SQL a plugin sends through sdk::Database: one statement,
// touching only the plugin's own tables (writes, DDL) plus the readable core
// tables contacts, contact_emails, contact_phones, contact_tags,
// contact_attributes and interactions.
//
// This is defence in depth for plugins that run inside the server process,
// NOT a sandbox: an in-process plugin can already do anything the server can.
// The guard catches mistakes and narrows what a buggy plugin can do through
// SQL. It tokenizes the statement (strings, quoted names, comments) and
// walks it once, tracking parentheses, so it understands table positions
// (FROM, JOIN, INTO, UPDATE, TABLE, REFERENCES, DDL targets) without parsing
// full SQL. It errs on the side of refusing: some valid statements are
// rejected (see sql_guard.cc for the list) and must be rewritten, e.g. a
// multi-table UPDATE or DELETE may only join plugin tables; read core tables
// there through a subquery or derived table instead.
//
// It assumes the server's default lexing: backslash escapes in strings (no
// NO_BACKSLASH_ESCAPES), "..." is a string (no ANSI_QUOTES), and a utf8mb4
// connection. Under other SQL modes the server may read a statement
// differently from the guard.
//
// Thread-safe: a pure function.
#ifndef RAPPORT_SERVER_PLUGINS_SQL_GUARD_H_
#define RAPPORT_SERVER_PLUGINS_SQL_GUARD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rapport::plugins {

// What a statement is for: kData is any Database::Query/Execute call;
// kMigration is a statement of one of the plugin's schema migrations, where
// CREATE/ALTER/DROP TABLE, CREATE/DROP INDEX, RENAME TABLE and TRUNCATE of
// its own tables are also allowed.
enum class StatementUse { kData, kMigration };

// Checks that one SQL statement only touches what a plugin may touch.
// `table_prefix` is the plugin's own table prefix, e.g. "rapport_loyalty_";
// names are compared case-insensitively.
//
// Returns OK; PERMISSION_DENIED naming the table or construct (a statement
// kind other than SELECT/WITH/INSERT/UPDATE/DELETE/REPLACE and, in
// migrations, the DDL above; a write to or DDL on a table outside the
// prefix; a read of any other table; a schema-qualified name; INTO
// OUTFILE/DUMPFILE; LOAD_FILE(); @@system variables; /*! executable
// comments */); or INVALID_ARGUMENT for something malformed (an empty
// prefix, an unterminated string, quoted name or comment, unbalanced
// parentheses, more than one statement, no table name where one belongs).
absl::Status CheckPluginStatement(absl::string_view sql,
                                  absl::string_view table_prefix,
                                  StatementUse use);

}  // namespace rapport::plugins

#endif  // RAPPORT_SERVER_PLUGINS_SQL_GUARD_H_
