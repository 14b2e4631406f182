#include "server/events/internal.h"

#include <cppconn/exception.h>

#include <exception>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/storage/database.h"
#include "server/storage/sql_error.h"

namespace rapport::events::internal {

absl::Status Run(storage::Database& db, absl::string_view what,
                 absl::FunctionRef<absl::Status(storage::Connection&)> fn) {
  absl::StatusOr<storage::Connection> lease = db.Acquire(/*ignore_ready=*/true);
  if (!lease.ok()) return lease.status();
  try {
    return fn(*lease);
  } catch (const sql::SQLException& e) {
    // As Database::Run: a lost connection is replaced on its next lease.
    if (storage::IsConnectionLost(e.getErrorCode()) || e.getErrorCode() == 0) {
      lease->MarkBroken();
    }
    return storage::StatusFromSqlException(e, what);
  } catch (const std::exception& e) {
    lease->MarkBroken();
    log::Error("unexpected exception",
               {{"context", what}, {"error", e.what()}});
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace rapport::events::internal
