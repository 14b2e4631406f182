// Maps MySQL/MariaDB errors to canonical status codes, so that retry
// semantics follow the code: UNAVAILABLE -> retry the call (the connection
// was lost), ABORTED -> retry the transaction (deadlock, lock wait timeout),
// ALREADY_EXISTS -> a unique key was hit. Thread-safe (pure functions).
#ifndef RAPPORT_SERVER_STORAGE_SQL_ERROR_H_
#define RAPPORT_SERVER_STORAGE_SQL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sql {
class SQLException;
}

namespace rapport::storage {

// MySQL/MariaDB error numbers we act on.
inline constexpr int kErrDupEntry = 1062;
inline constexpr int kErrLockWaitTimeout = 1205;
inline constexpr int kErrDeadlock = 1213;

// Converts a Connector/C++ exception into a status. `context` says what we
// were doing ("creating contact"); it starts the message.
absl::Status StatusFromSqlException(const sql::SQLException& e,
                                    absl::string_view context);

// True if the error means the connection is gone and must not be reused.
bool IsConnectionLost(int mysql_error_code);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_SQL_ERROR_H_
