#include "server/plugins/sql_guard.h"

#include <cstddef>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace rapport::plugins {
namespace {

using ::rapport::testing::IsOk;
using ::rapport::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::string_view kPrefix = "rapport_loyalty_";
constexpr absl::StatusCode kOk = absl::StatusCode::kOk;
constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr StatementUse kData = StatementUse::kData;
constexpr StatementUse kMigration = StatementUse::kMigration;

struct Case {
  const char* name;
  StatementUse use;
  const char* sql;
  absl::StatusCode code;
  const char* message;  // expected substring when not OK
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name << ": " << c.sql;
}

const Case kCases[] = {
    // --- Allowed ---------------------------------------------------------
    {"OwnSelect", kData,
     "SELECT id, points FROM rapport_loyalty_points WHERE contact_id = ?", kOk,
     ""},
    {"OwnInsert", kData,
     "INSERT INTO rapport_loyalty_points (contact_id, points) VALUES (?, ?)",
     kOk, ""},
    {"OwnInsertWithoutInto", kData,
     "INSERT IGNORE rapport_loyalty_points VALUES (?, ?), (?, ?)", kOk, ""},
    {"OwnUpdate", kData,
     "UPDATE rapport_loyalty_points SET points = points + ?, seen = ? "
     "WHERE contact_id = ?",
     kOk, ""},
    {"OwnDelete", kData,
     "DELETE FROM rapport_loyalty_points WHERE contact_id = ? "
     "ORDER BY id, points LIMIT 10",
     kOk, ""},
    {"OwnReplace", kData,
     "REPLACE INTO rapport_loyalty_points (contact_id, points) VALUES (?, ?)",
     kOk, ""},
    {"CaseInsensitiveNames", kData,
     "select * from RAPPORT_LOYALTY_Points p join CONTACTS c on c.id = p.id",
     kOk, ""},
    {"JoinContactsWithAliases", kData,
     "SELECT c.id, c.display_name, p.points FROM contacts c JOIN "
     "rapport_loyalty_points AS p ON p.contact_id = c.id WHERE c.id > ? "
     "ORDER BY c.id, p.points LIMIT 10",
     kOk, ""},
    {"CommaTableList", kData,
     "SELECT t.tag, e.email FROM contact_tags t, contact_emails AS e, "
     "contact_phones ph WHERE t.contact_id = e.contact_id",
     kOk, ""},
    {"LeftJoinInteractionsGroupBy", kData,
     "SELECT c.id, COUNT(i.id) FROM contacts AS c LEFT OUTER JOIN "
     "interactions i ON i.contact_id = c.id GROUP BY c.id, c.display_name "
     "HAVING COUNT(i.id) > 1",
     kOk, ""},
    {"SubqueryInWhere", kData,
     "SELECT * FROM rapport_loyalty_points WHERE contact_id IN (SELECT "
     "contact_id FROM contact_attributes WHERE name = 'tier')",
     kOk, ""},
    {"DerivedTable", kData,
     "SELECT d.n FROM (SELECT contact_id, COUNT(*) AS n FROM interactions "
     "GROUP BY contact_id) AS d, contacts c WHERE d.n > 3",
     kOk, ""},
    {"ExtractFrom", kData,
     "SELECT EXTRACT(YEAR FROM occur_time) AS y, COUNT(*) FROM interactions "
     "GROUP BY y",
     kOk, ""},
    {"TrimAndSubstringFrom", kData,
     "SELECT TRIM(LEADING 'x' FROM display_name), SUBSTRING(display_name "
     "FROM 2 FOR 3), POSITION('a' IN display_name) FROM contacts",
     kOk, ""},
    {"Ctes", kData,
     "WITH recent AS (SELECT contact_id FROM interactions WHERE occur_time > "
     "?), top (id) AS (SELECT contact_id FROM recent) SELECT c.id FROM "
     "contacts c JOIN top t ON t.id = c.id",
     kOk, ""},
    {"RecursiveCte", kData,
     "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i "
     "< 10) SELECT i FROM n",
     kOk, ""},
    {"CteBeforeDelete", kData,
     "WITH gone AS (SELECT id FROM contacts WHERE display_name = '') DELETE "
     "FROM rapport_loyalty_points WHERE contact_id IN (SELECT id FROM gone)",
     kOk, ""},
    {"InsertSelectFromContacts", kData,
     "INSERT INTO rapport_loyalty_points (contact_id, points) SELECT c.id, 0 "
     "FROM contacts c LEFT JOIN rapport_loyalty_points p ON p.contact_id = "
     "c.id WHERE p.contact_id IS NULL",
     kOk, ""},
    {"OnDuplicateKeyUpdate", kData,
     "INSERT INTO rapport_loyalty_points (contact_id, points) VALUES (?, ?) "
     "ON DUPLICATE KEY UPDATE points = points + VALUES(points), updated = "
     "NOW()",
     kOk, ""},
    {"InsertSelectOnDuplicateKeyUpdate", kData,
     "INSERT INTO rapport_loyalty_tags (contact_id, tag) SELECT t.contact_id, "
     "t.tag FROM contact_tags t ON DUPLICATE KEY UPDATE tag = t.tag, seen = "
     "seen + 1",
     kOk, ""},
    {"Backticks", kData,
     "SELECT `c`.`id`, p.`order` FROM `contacts` AS `c` JOIN "
     "`RAPPORT_LOYALTY_points` p ON p.`contact_id` = `c`.`id`",
     kOk, ""},
    {"Comments", kData,
     "/* hi */ SELECT id -- trailing\n FROM contacts # another\n WHERE id = ? "
     "/* contacts; DROP TABLE contacts */;",
     kOk, ""},
    {"StringsContainingSql", kData,
     "SELECT id FROM contacts WHERE display_name = 'contacts; DROP TABLE "
     "contacts' OR note = \"it\\'s \"\"x\"\" FROM schema_migrations\" OR n = "
     "'a''b; --'",
     kOk, ""},
    {"UpdateJoinDerivedTable", kData,
     "UPDATE rapport_loyalty_points p JOIN (SELECT contact_id, COUNT(*) AS n "
     "FROM interactions GROUP BY contact_id) i ON i.contact_id = p.contact_id "
     "SET p.points = i.n, p.seen = 1",
     kOk, ""},
    {"UpdateSetSubquery", kData,
     "UPDATE rapport_loyalty_points SET points = (SELECT COUNT(*) FROM "
     "interactions i WHERE i.contact_id = rapport_loyalty_points.contact_id)",
     kOk, ""},
    {"MultiTableDeleteOwnTables", kData,
     "DELETE p FROM rapport_loyalty_points p JOIN rapport_loyalty_members m "
     "ON m.id = p.member_id WHERE m.expired",
     kOk, ""},
    {"UnionAndParenthesizedSelects", kData,
     "(SELECT id FROM contacts) UNION ALL (SELECT contact_id FROM "
     "interactions) UNION SELECT contact_id FROM rapport_loyalty_points "
     "ORDER BY 1",
     kOk, ""},
    {"ForUpdate", kData,
     "SELECT points FROM rapport_loyalty_points WHERE contact_id = ? FOR "
     "UPDATE",
     kOk, ""},
    {"Exists", kData,
     "SELECT c.id FROM contacts c WHERE EXISTS (SELECT 1 FROM "
     "rapport_loyalty_points p WHERE p.contact_id = c.id)",
     kOk, ""},
    {"DerivedTableStatement", kData,
     "SELECT t.id FROM (TABLE contacts) AS t, (VALUES ROW(1)) AS v", kOk, ""},
    {"NoTableAndDual", kData, "SELECT 1, NOW(), SLEEP(0) FROM DUAL", kOk, ""},
    {"TrailingSemicolonAndSpace", kData, "SELECT 1 ;  \n", kOk, ""},
    {"MigrationCreateTable", kMigration,
     "CREATE TABLE IF NOT EXISTS rapport_loyalty_points (contact_id BIGINT "
     "NOT NULL PRIMARY KEY, points BIGINT NOT NULL DEFAULT 0, KEY idx "
     "(points), "
     "FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE) "
     "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
     kOk, ""},
    {"MigrationCreateIndex", kMigration,
     "CREATE UNIQUE INDEX idx_points ON rapport_loyalty_points (points)", kOk,
     ""},
    {"MigrationAlterTable", kMigration,
     "ALTER TABLE rapport_loyalty_points ADD COLUMN tier VARCHAR(16) NULL, "
     "ADD INDEX idx_tier (tier), RENAME COLUMN tier TO level",
     kOk, ""},
    {"MigrationDropTables", kMigration,
     "DROP TABLE IF EXISTS rapport_loyalty_old, rapport_loyalty_older", kOk,
     ""},
    {"MigrationDropIndex", kMigration,
     "DROP INDEX idx_points ON rapport_loyalty_points", kOk, ""},
    {"MigrationRenameTable", kMigration,
     "RENAME TABLE rapport_loyalty_a TO rapport_loyalty_b, rapport_loyalty_c "
     "TO rapport_loyalty_d",
     kOk, ""},
    {"MigrationTruncate", kMigration, "TRUNCATE TABLE rapport_loyalty_points",
     kOk, ""},
    {"MigrationCreateTableLike", kMigration,
     "CREATE TABLE rapport_loyalty_copy LIKE rapport_loyalty_points", kOk, ""},
    {"MigrationBackfill", kMigration,
     "INSERT INTO rapport_loyalty_points (contact_id) SELECT id FROM contacts",
     kOk, ""},

    // --- Refused: writes outside the prefix ------------------------------
    {"UpdateContacts", kData,
     "UPDATE contacts SET display_name = ? WHERE id = ?", kDenied,
     "plugin may write only its own tables (rapport_loyalty_*); \"contacts\" "
     "is not one"},
    {"InsertIntoContacts", kData,
     "INSERT INTO contacts (display_name) VALUES (?)", kDenied,
     "\"contacts\" is not one"},
    {"DeleteFromInteractions", kData, "DELETE FROM interactions WHERE id = ?",
     kDenied, "\"interactions\" is not one"},
    {"ReplaceWithoutInto", kData, "REPLACE contact_tags VALUES (?, ?)", kDenied,
     "\"contact_tags\" is not one"},
    {"MultiTableUpdateWritingContacts", kData,
     "UPDATE rapport_loyalty_points p JOIN contacts c ON c.id = p.contact_id "
     "SET c.display_name = 'x'",
     kDenied, "\"contacts\" is not one"},
    {"MultiTableDeleteJoiningContacts", kData,  // conservative, see header
     "DELETE p FROM rapport_loyalty_points p JOIN contacts c ON c.id = "
     "p.contact_id",
     kDenied, "\"contacts\" is not one"},

    // --- Refused: reads outside the allowed set --------------------------
    {"ReadSchemaMigrations", kData, "SELECT * FROM schema_migrations", kDenied,
     "may not read \"schema_migrations\""},
    {"ReadOtherPluginTable", kData,
     "SELECT * FROM contacts c JOIN rapport_points_ledger l ON l.id = c.id",
     kDenied, "\"rapport_points_ledger\""},
    {"ReadInformationSchema", kData,
     "SELECT table_name FROM information_schema.tables", kDenied,
     "plugins may not name other schemas (\"information_schema.tables\")"},
    {"ReadMysqlUserBackticks", kData,
     "SELECT * FROM contacts c JOIN `mysql` . `user` u ON 1 = 1", kDenied,
     "other schemas (\"mysql.user\")"},
    {"ReadInSubquery", kData,
     "SELECT * FROM contacts WHERE id IN (SELECT contact_id FROM "
     "outbox_events)",
     kDenied, "\"outbox_events\""},
    {"ReadAfterJoinCondition", kData,
     "SELECT * FROM contacts c JOIN interactions i ON i.contact_id = c.id, "
     "erasures e",
     kDenied, "\"erasures\""},
    {"ReadInsideFunctionSubquery", kData,
     "SELECT EXTRACT(YEAR FROM (SELECT MAX(at) FROM request_ids))", kDenied,
     "\"request_ids\""},
    {"ReadAfterParenthesizedUnion", kData,
     "SELECT * FROM contacts WHERE id IN ((SELECT 1) UNION SELECT version "
     "FROM schema_migrations)",
     kDenied, "\"schema_migrations\""},
    {"ReadViaTableStatement", kData,
     "SELECT * FROM contacts WHERE id IN (TABLE schema_migrations)", kDenied,
     "\"schema_migrations\""},
    {"ReadInParenthesizedJoin", kData,
     "SELECT * FROM (contacts c JOIN erasures e ON 1 = 1)", kDenied,
     "\"erasures\""},
    {"ReadAfterIndexHint", kData,
     "SELECT * FROM contacts USE INDEX FOR ORDER BY (PRIMARY), "
     "schema_migrations",
     kDenied, "\"schema_migrations\""},
    {"ReadAfterSystemTimeClause", kData,
     "SELECT * FROM contacts FOR SYSTEM_TIME ALL, schema_migrations", kDenied,
     "\"schema_migrations\""},
    {"CteOutOfScope", kData,
     "SELECT * FROM (WITH erasures AS (SELECT 1 AS x) SELECT x FROM erasures) "
     "d JOIN erasures e ON 1 = 1",
     kDenied, "\"erasures\""},
    {"CteCannotShadowItself", kData,
     "WITH schema_migrations AS (SELECT * FROM schema_migrations) SELECT * "
     "FROM schema_migrations",
     kDenied, "\"schema_migrations\""},
    {"InsertSelectFromForbidden", kData,
     "INSERT INTO rapport_loyalty_x SELECT * FROM outbox_events", kDenied,
     "\"outbox_events\""},
    {"DoubleDashWithoutSpaceIsNoComment", kData,
     "SELECT 1 --x\n FROM schema_migrations", kDenied, "\"schema_migrations\""},
    {"SchemaQualifiedFunction", kData, "SELECT otherdb.f(1)", kDenied,
     "other schemas (\"otherdb.f\")"},
    {"ThreePartName", kData, "SELECT mysql.user.password FROM contacts",
     kDenied, "other schemas"},
    {"StringAsTableName", kData, "SELECT * FROM \"schema_migrations\"",
     kInvalid, "expected a table name after FROM"},

    // --- Refused: statements and constructs ------------------------------
    {"TwoStatements", kData, "SELECT 1; DROP TABLE contacts", kInvalid,
     "one statement per call"},
    {"DoubleSemicolon", kData, "SELECT 1;;", kInvalid,
     "one statement per call"},
    {"IntoOutfile", kData, "SELECT * FROM contacts INTO OUTFILE '/tmp/x'",
     kDenied, "INTO OUTFILE"},
    {"IntoDumpfile", kData,
     "SELECT display_name INTO DUMPFILE '/tmp/x' FROM contacts", kDenied,
     "INTO DUMPFILE"},
    {"LoadFile", kData, "SELECT LOAD_FILE('/etc/passwd')", kDenied,
     "LOAD_FILE"},
    {"Set", kData, "SET NAMES utf8mb4", kDenied,
     "plugins may not run SET statements"},
    {"Grant", kData, "GRANT ALL ON *.* TO 'x'@'%'", kDenied,
     "plugins may not run GRANT statements"},
    {"LoadData", kMigration,
     "LOAD DATA INFILE '/etc/passwd' INTO TABLE rapport_loyalty_x", kDenied,
     "plugins may not run LOAD statements"},
    {"Call", kData, "CALL cleanup()", kDenied, "CALL"},
    {"StartTransaction", kData, "START TRANSACTION", kDenied, "START"},
    {"ExecutableComment", kData,
     "SELECT 1 /*! , (SELECT authentication_string FROM mysql.user) */",
     kDenied, "executable comments"},
    {"MariaDbExecutableComment", kData, "SELECT 1 /*M!100000 , 2 */", kDenied,
     "executable comments"},
    {"SystemVariable", kData, "SELECT @@version", kDenied, "system variables"},
    {"SplitSystemVariable", kData, "SELECT @ @version", kDenied,
     "system variables"},
    {"DdlInDataStatement", kData, "CREATE TABLE rapport_loyalty_x (id INT)",
     kDenied, "plugins may not run CREATE statements outside a migration"},
    {"DropContactsInMigration", kMigration, "DROP TABLE contacts", kDenied,
     "\"contacts\" is not one"},
    {"DropSecondTableInMigration", kMigration,
     "DROP TABLE rapport_loyalty_x, interactions", kDenied,
     "\"interactions\" is not one"},
    {"CreateViewInMigration", kMigration,
     "CREATE VIEW rapport_loyalty_v AS SELECT * FROM contacts", kDenied,
     "plugins may not run CREATE VIEW statements"},
    {"AlterRenameToForeignName", kMigration,
     "ALTER TABLE rapport_loyalty_points RENAME TO contacts_backup", kDenied,
     "\"contacts_backup\" is not one"},
    {"ExchangePartitionWithCoreTable", kMigration,
     "ALTER TABLE rapport_loyalty_p EXCHANGE PARTITION p0 WITH TABLE contacts",
     kDenied, "\"contacts\" is not one"},
    {"RenameCoreTable", kMigration,
     "RENAME TABLE contacts TO rapport_loyalty_contacts", kDenied,
     "\"contacts\" is not one"},
    {"TruncateCoreTable", kMigration, "TRUNCATE interactions", kDenied,
     "\"interactions\" is not one"},
    {"ForeignKeyToHiddenTable", kMigration,
     "CREATE TABLE rapport_loyalty_x (id INT, FOREIGN KEY (id) REFERENCES "
     "erasures (id))",
     kDenied, "\"erasures\""},
    {"FederatedEngine", kMigration,
     "CREATE TABLE rapport_loyalty_f (id INT) ENGINE=FEDERATED "
     "CONNECTION='mysql://u@h/db/t'",
     kDenied, "storage engine \"FEDERATED\""},
    {"DataDirectory", kMigration,
     "CREATE TABLE rapport_loyalty_f (id INT) DATA DIRECTORY = '/tmp'", kDenied,
     "DIRECTORY"},
    {"UnterminatedString", kData, "SELECT 'abc", kInvalid,
     "unterminated string"},
    {"UnterminatedStringEndingInBackslash", kData, "SELECT 'abc\\'", kInvalid,
     "unterminated string"},
    {"UnterminatedQuotedName", kData, "SELECT `a FROM contacts", kInvalid,
     "unterminated quoted name"},
    {"UnterminatedComment", kData, "SELECT 1 /* x", kInvalid,
     "unterminated /* comment"},
    {"UnbalancedParentheses", kData, "SELECT (1", kInvalid, "unbalanced"},
    {"MissingTableName", kData, "SELECT * FROM", kInvalid,
     "expected a table name after FROM, found the end of the statement"},
    {"Empty", kData, "  -- nothing\n", kInvalid, "empty statement"},
};

class CheckPluginStatementTest : public ::testing::TestWithParam<Case> {};

TEST_P(CheckPluginStatementTest, ReturnsExpectedStatus) {
  const Case& c = GetParam();
  const absl::Status status = CheckPluginStatement(c.sql, kPrefix, c.use);
  if (c.code == kOk) {
    EXPECT_THAT(status, IsOk());
  } else {
    EXPECT_THAT(status, StatusIs(c.code, HasSubstr(c.message)));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, CheckPluginStatementTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(CheckPluginStatementTest, AllowedStatementsStayAllowedInMigrations) {
  for (const Case& c : kCases) {
    if (c.use != kData || c.code != kOk) continue;
    EXPECT_THAT(CheckPluginStatement(c.sql, kPrefix, kMigration), IsOk())
        << c.sql;
  }
}

TEST(CheckPluginStatementTest, AppendingAStatementIsRefused) {
  for (const Case& c : kCases) {
    if (c.code != kOk) continue;
    const std::string sql = absl::StrCat(c.sql, "; SELECT 1");
    EXPECT_THAT(CheckPluginStatement(sql, kPrefix, c.use),
                StatusIs(kInvalid, HasSubstr("one statement per call")))
        << sql;
  }
}

TEST(CheckPluginStatementTest, RefusesEmptyPrefix) {
  EXPECT_THAT(CheckPluginStatement("SELECT 1", "", kData),
              StatusIs(kInvalid, HasSubstr("prefix")));
}

TEST(CheckPluginStatementTest, RefusesNulByte) {
  const std::string sql("SELECT 1\0; DROP TABLE contacts", 30);
  EXPECT_THAT(CheckPluginStatement(sql, kPrefix, kData),
              StatusIs(kInvalid, HasSubstr("NUL")));
}

TEST(CheckPluginStatementTest, SurvivesDeepNesting) {
  const std::string open(100000, '(');
  EXPECT_THAT(
      CheckPluginStatement(absl::StrCat("SELECT ", open), kPrefix, kData),
      StatusIs(kInvalid, HasSubstr("unbalanced")));
  EXPECT_THAT(CheckPluginStatement(absl::StrCat("SELECT * FROM ", open),
                                   kPrefix, kData),
              StatusIs(kInvalid, HasSubstr("expected a table name")));
}

// Never crashes, and only ever answers OK, PERMISSION_DENIED or
// INVALID_ARGUMENT (with a message), for random bytes and for random soups
// of SQL tokens.
void ExpectWellBehaved(const std::string& sql, StatementUse use) {
  const absl::Status status = CheckPluginStatement(sql, kPrefix, use);
  if (status.ok()) return;
  EXPECT_THAT(status.code(), ::testing::AnyOf(kDenied, kInvalid)) << sql;
  EXPECT_FALSE(status.message().empty()) << sql;
}

TEST(CheckPluginStatementRobustnessTest, RandomBytes) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> length(0, 80);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string sql_chars = "SELECTFROMWHERE sel from ('\"`;.,@#-*/!\\)\n";
  std::uniform_int_distribution<size_t> pick(0, sql_chars.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string sql;
    const int n = length(rng);
    for (int j = 0; j < n; ++j) {
      // Half random bytes, half characters that matter to SQL lexing.
      sql.push_back(i % 2 == 0 ? static_cast<char>(byte(rng))
                               : sql_chars[pick(rng)]);
    }
    ExpectWellBehaved(sql, i % 3 == 0 ? kMigration : kData);
  }
}

TEST(CheckPluginStatementRobustnessTest, RandomTokenSoup) {
  const std::vector<std::string> vocabulary = {"SELECT",
                                               "FROM",
                                               "WHERE",
                                               "JOIN",
                                               "LEFT",
                                               "ON",
                                               "USING",
                                               "WITH",
                                               "RECURSIVE",
                                               "AS",
                                               "INSERT",
                                               "INTO",
                                               "VALUES",
                                               "UPDATE",
                                               "SET",
                                               "DELETE",
                                               "REPLACE",
                                               "CREATE",
                                               "ALTER",
                                               "DROP",
                                               "RENAME",
                                               "TRUNCATE",
                                               "TABLE",
                                               "INDEX",
                                               "UNIQUE",
                                               "IF",
                                               "NOT",
                                               "EXISTS",
                                               "TO",
                                               "LIKE",
                                               "REFERENCES",
                                               "ENGINE",
                                               "=",
                                               "InnoDB",
                                               "UNION",
                                               "ALL",
                                               "GROUP",
                                               "BY",
                                               "ORDER",
                                               "LIMIT",
                                               "FOR",
                                               "DUPLICATE",
                                               "KEY",
                                               "EXTRACT",
                                               "YEAR",
                                               "TRIM",
                                               "DUAL",
                                               "STRAIGHT_JOIN",
                                               "LATERAL",
                                               "NEXTVAL",
                                               "VALUE",
                                               "OUTFILE",
                                               "contacts",
                                               "interactions",
                                               "schema_migrations",
                                               "rapport_loyalty_p",
                                               "`contacts`",
                                               "`x`",
                                               "c",
                                               "id",
                                               "mysql",
                                               "'s'",
                                               "\"d\"",
                                               "'a\\'b'",
                                               "1",
                                               "2.5",
                                               "?",
                                               "(",
                                               "(",
                                               ")",
                                               ")",
                                               ",",
                                               ",",
                                               ".",
                                               "*",
                                               "+",
                                               "@",
                                               "@@",
                                               ";",
                                               "-- c\n",
                                               "# c\n",
                                               "/* c */",
                                               "/*!",
                                               "'",
                                               "`",
                                               "/*",
                                               "\\"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> length(0, 30);
  std::uniform_int_distribution<size_t> pick(0, vocabulary.size() - 1);
  std::uniform_int_distribution<int> coin(0, 1);
  for (int i = 0; i < 50000; ++i) {
    std::string sql;
    const int n = length(rng);
    for (int j = 0; j < n; ++j) {
      sql += vocabulary[pick(rng)];
      if (coin(rng) == 1) sql += ' ';
    }
    ExpectWellBehaved(sql, i % 2 == 0 ? kMigration : kData);
  }
}

}  // namespace
}  // namespace rapport::plugins
