#include "tests/support/test_database.h"

#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace rapport::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Ne;

// Counts schemata named `name`, seen from `observer` (another database on the
// same server).
absl::StatusOr<int64_t> CountSchemata(TestDatabase& observer,
                                      const std::string& name) {
  return observer.QueryInt(absl::StrCat(
      "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '",
      name, "'"));
}

TEST(TestDatabase, CreatesDistinctDatabases) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> a = TestDatabase::Create();
  ASSERT_OK(a);
  absl::StatusOr<std::unique_ptr<TestDatabase>> b = TestDatabase::Create();
  ASSERT_OK(b);

  EXPECT_THAT((*a)->name(), Ne((*b)->name()));
  EXPECT_THAT((*a)->name(), MatchesRegex("t_[0-9]+_[0-9]+_[0-9a-f]{6}"));
  EXPECT_EQ((*a)->options().database, (*a)->name());
  EXPECT_EQ((*a)->options().host, "127.0.0.1");
  EXPECT_EQ((*a)->options().user, "root");
  EXPECT_GT((*a)->options().port, 0);
  EXPECT_EQ((*a)->fixture_dir(), std::getenv("RAPPORT_TEST_DB_DIR"));
  EXPECT_THAT(CountSchemata(**a, (*b)->name()), IsOkAndHolds(1));
}

TEST(TestDatabase, DatabasesAreUsableAndIsolated) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> a = TestDatabase::Create();
  ASSERT_OK(a);
  absl::StatusOr<std::unique_ptr<TestDatabase>> b = TestDatabase::Create();
  ASSERT_OK(b);

  ASSERT_OK((*a)->Execute("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  ASSERT_OK((*a)->Execute("INSERT INTO t VALUES (1), (2), (3)"));
  EXPECT_THAT((*a)->QueryInt("SELECT COUNT(*) FROM t"), IsOkAndHolds(3));
  EXPECT_THAT((*a)->QueryInt("SELECT MAX(id) FROM t"), IsOkAndHolds(3));

  // Same table name in b: a separate, empty table.
  ASSERT_OK((*b)->Execute("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  EXPECT_THAT((*b)->QueryInt("SELECT COUNT(*) FROM t"), IsOkAndHolds(0));
}

TEST(TestDatabase, UsesUtf8mb4) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
  ASSERT_OK(db);
  EXPECT_THAT(
      (*db)->QueryInt("SELECT COUNT(*) FROM information_schema.SCHEMATA "
                      "WHERE SCHEMA_NAME = DATABASE() AND "
                      "DEFAULT_CHARACTER_SET_NAME = 'utf8mb4' AND "
                      "DEFAULT_COLLATION_NAME = 'utf8mb4_unicode_ci'"),
      IsOkAndHolds(1));
}

TEST(TestDatabase, HelpersReportSqlErrors) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
  ASSERT_OK(db);
  EXPECT_THAT((*db)->Execute("SELEC 1"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("1064")));
  EXPECT_THAT((*db)->QueryInt("SELECT 1 FROM DUAL WHERE FALSE"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT((*db)->QueryInt("SELECT NULL"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(TestDatabase, OptionsReachTheDatabase) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
  ASSERT_OK(db);
  const storage::DbOptions& options = (*db)->options();

  sql::ConnectOptionsMap connect;
  connect["hostName"] = sql::SQLString(absl::StrCat("tcp://", options.host));
  connect["port"] = options.port;
  connect["userName"] = sql::SQLString(options.user);
  connect["password"] = sql::SQLString(options.password);
  connect["schema"] = sql::SQLString(options.database);
  std::unique_ptr<sql::Connection> connection(
      sql::mysql::get_mysql_driver_instance()->connect(connect));
  std::unique_ptr<sql::Statement> statement(connection->createStatement());
  std::unique_ptr<sql::ResultSet> rows(
      statement->executeQuery("SELECT DATABASE()"));
  ASSERT_TRUE(rows->next());
  EXPECT_EQ(std::string(rows->getString(1)), options.database);
}

TEST(TestDatabase, DropsDatabaseOnDestruction) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> observer =
      TestDatabase::Create();
  ASSERT_OK(observer);
  absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
  ASSERT_OK(db);
  const std::string name = (*db)->name();
  ASSERT_OK((*db)->Execute("CREATE TABLE t (id INT)"));
  ASSERT_THAT(CountSchemata(**observer, name), IsOkAndHolds(1));

  db->reset();

  EXPECT_THAT(CountSchemata(**observer, name), IsOkAndHolds(0));
}

TEST(TestDatabase, ExplainsHowToRunWithoutFixture) {
  const std::string saved = std::getenv("RAPPORT_TEST_DB_DIR");
  unsetenv("RAPPORT_TEST_DB_DIR");
  absl::StatusOr<std::unique_ptr<TestDatabase>> db = TestDatabase::Create();
  setenv("RAPPORT_TEST_DB_DIR", saved.c_str(), 1);
  EXPECT_THAT(db, StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("run through ctest")));
}

}  // namespace
}  // namespace rapport::testing
