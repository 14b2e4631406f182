// A private, throw-away database on the test MariaDB server for one test.
//
// The server itself is started once per ctest run by the "mariadb" fixture
// (tests/support/mariadb_fixture.sh), which tells tests where it is through
// RAPPORT_TEST_DB_DIR. Each TestDatabase creates its own uniquely named
// database there, so tests can run in parallel without seeing each other's
// rows, and drops it again when destroyed.
//
// Thread safety: all methods may be called from several threads; the helper
// queries share one connection and are serialised.
//
// Typical use (ASSERT_OK is in tests/support/status_matchers.h):
//
//   absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
//   ASSERT_OK(db);
//   ContactStore store((*db)->options());
//   ...
//   EXPECT_THAT((*db)->QueryInt("SELECT COUNT(*) FROM contacts"),
//   IsOkAndHolds(1));
#ifndef RAPPORT_TESTS_SUPPORT_TEST_DATABASE_H_
#define RAPPORT_TESTS_SUPPORT_TEST_DATABASE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/db_options.h"

namespace sql {
class Connection;
}  // namespace sql

namespace rapport::testing {

// One freshly created database on the fixture's server, dropped on destruction.
class TestDatabase {
 public:
  // Connects to the fixture's server as root and creates an empty database
  // named t_<pid>_<counter>_<random> (utf8mb4, utf8mb4_unicode_ci).
  // Returns FAILED_PRECONDITION if RAPPORT_TEST_DB_DIR is unset or the fixture
  // files are missing (the test was not run through ctest, or the fixture
  // failed to start), UNAVAILABLE if the server cannot be reached, and INTERNAL
  // for other SQL errors.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create();

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Drops the database. Failures are reported on stderr, never thrown.
  ~TestDatabase();

  // How the code under test reaches this database: TCP to 127.0.0.1 on the
  // fixture's port, user root with an empty password, database name().
  const rapport::storage::DbOptions& options() const { return options_; }

  // The database name, e.g. "t_4242_1_9f3a1c".
  const std::string& name() const { return options_.database; }

  // The fixture directory (RAPPORT_TEST_DB_DIR): port, socket, mariadb.log.
  const std::string& fixture_dir() const { return fixture_dir_; }

  // Runs `sql` with this database as the default schema and returns the first
  // column of the first row. Returns NOT_FOUND if there is no row,
  // FAILED_PRECONDITION if the value is NULL, INTERNAL (with the MySQL error
  // number and message) if the statement fails.
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);

  // Runs one statement with this database as the default schema.
  // Returns INTERNAL (with the MySQL error number and message) if it fails.
  absl::Status Execute(absl::string_view sql);

 private:
  TestDatabase(std::string fixture_dir, rapport::storage::DbOptions options,
               std::unique_ptr<sql::Connection> connection);

  const std::string fixture_dir_;
  const rapport::storage::DbOptions options_;

  absl::Mutex mu_;
  std::unique_ptr<sql::Connection> connection_ ABSL_GUARDED_BY(mu_);
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released):
// database options pointing at it see an unreachable database.
int ClosedPort();

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_SUPPORT_TEST_DATABASE_H_
