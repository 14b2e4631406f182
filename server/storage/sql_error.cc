#include "server/storage/sql_error.h"

#include <cppconn/exception.h>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace rapport::storage {

bool IsConnectionLost(int code) {
  switch (code) {
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2026:  // CR_SSL_CONNECTION_ERROR
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
      return true;
    default:
      return false;
  }
}

absl::Status StatusFromSqlException(const sql::SQLException& e,
                                    absl::string_view context) {
  const int code = e.getErrorCode();
  const std::string& state = e.getSQLState();
  if (IsConnectionLost(code) || code == 1040 /* too many connections */ ||
      (state.size() >= 2 && state[0] == '0' && state[1] == '8') ||
      // Connector/C++ reports "MySQL server has gone away" from a dead
      // handle with code 0 in some paths.
      (code == 0 && state == "HY000")) {
    return absl::UnavailableError(
        absl::StrCat(context, ": the database is unavailable (", e.what(),
                     "); retry later"));
  }
  switch (code) {
    case kErrDupEntry:
      return absl::AlreadyExistsError(absl::StrCat(context, ": ", e.what()));
    case kErrDeadlock:
    case kErrLockWaitTimeout:
      return absl::AbortedError(absl::StrCat(
          context, ": a concurrent change conflicted; retry the operation"));
    case 1406:  // ER_DATA_TOO_LONG: validation should have caught it.
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": a value is too long (", e.what(), ")"));
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: likewise.
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": a value cannot be stored (", e.what(), ")"));
    default:
      break;
  }
  // Anything else is a bug or an operational problem: log the details, give
  // the caller a message without SQL internals.
  log::Error("database error", {{"context", context},
                                {"mysql_error", code},
                                {"sqlstate", state},
                                {"error", e.what()}});
  return absl::InternalError(
      absl::StrCat(context, ": database error ", code, " (see server log)"));
}

}  // namespace rapport::storage
