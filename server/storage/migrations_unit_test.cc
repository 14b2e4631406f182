#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/migrations.h"

namespace rapport::storage {
namespace {

using ::testing::ElementsAre;

TEST(SplitSqlStatementsTest, SplitsAtSemicolonsEndingLines) {
  EXPECT_THAT(
      SplitSqlStatements("-- comment\nCREATE TABLE a (\n  x INT\n);\n"
                         "\nINSERT INTO a VALUES (1);\n"),
      ElementsAre("CREATE TABLE a (\n  x INT\n)", "INSERT INTO a VALUES (1)"));
}

TEST(SplitSqlStatementsTest, KeepsATrailingStatementWithoutSemicolon) {
  EXPECT_THAT(SplitSqlStatements("SELECT 1;\nSELECT 2\n"),
              ElementsAre("SELECT 1", "SELECT 2"));
}

TEST(CoreMigrationsTest, NumberedFromOneWithoutGaps) {
  const std::vector<Migration> migrations = CoreMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(SplitSqlStatements(migrations[i].sql).empty());
  }
}

}  // namespace
}  // namespace rapport::storage
