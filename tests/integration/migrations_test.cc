// Schema migrations against a real MariaDB: ApplyMigrations and
// CheckMigrationsApplied on a fresh database, concurrent appliers, edited,
// gapped and broken migrations, and a server that waits for someone else to
// migrate (migrate_on_start = false).
#include "server/storage/migrations.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "server/app/server.h"
#include "server/config/config.h"
#include "server/storage/database.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::rapport::storage::ApplyMigrations;
using ::rapport::storage::CheckMigrationsApplied;
using ::rapport::storage::CoreMigrations;
using ::rapport::storage::Database;
using ::rapport::storage::Migration;
using ::testing::AllOf;
using ::testing::HasSubstr;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
  }

  TestDatabase& db() { return *db_; }

  // A pool of one connection on the test database.
  std::unique_ptr<Database> NewDatabase() {
    return std::make_unique<Database>(db_->options(), 1);
  }

  int64_t Recorded(const std::string& component) {
    absl::StatusOr<int64_t> n = db_->QueryInt(absl::StrCat(
        "SELECT COUNT(*) FROM schema_migrations WHERE component = '", component,
        "'"));
    EXPECT_OK(n);
    return n.value_or(-1);
  }

  // Tables `name` in the test database (0 or 1).
  int64_t TableExists(const std::string& name) {
    return db_
        ->QueryInt(
            absl::StrCat("SELECT COUNT(*) FROM information_schema.tables WHERE "
                         "table_schema = DATABASE() AND table_name = '",
                         name, "'"))
        .value_or(-1);
  }

 private:
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(MigrationsTest, AppliesAndRecordsEveryCoreMigration) {
  const std::vector<Migration> migrations = CoreMigrations();
  ASSERT_FALSE(migrations.empty());
  auto database = NewDatabase();
  ASSERT_OK(ApplyMigrations(*database, "core", migrations));
  EXPECT_EQ(Recorded("core"), static_cast<int64_t>(migrations.size()));
  EXPECT_THAT(db().QueryInt(absl::StrCat(
                  "SELECT MAX(version) FROM schema_migrations WHERE "
                  "component = 'core'")),
              IsOkAndHolds(static_cast<int64_t>(migrations.size())));
  for (const char* table :
       {"contacts", "contact_emails", "interactions", "request_ids"}) {
    EXPECT_EQ(TableExists(table), 1) << table;
  }
}

TEST_F(MigrationsTest, ApplyingAgainIsANoOp) {
  const std::vector<Migration> migrations = CoreMigrations();
  auto database = NewDatabase();
  ASSERT_OK(ApplyMigrations(*database, "core", migrations));
  ASSERT_OK(
      db().Execute("INSERT INTO contacts (given_name, create_time, "
                   "update_time) VALUES ('Kept', NOW(6), NOW(6))"));
  const std::string applied_at_sql =
      "SELECT UNIX_TIMESTAMP(MAX(applied_at)) * 1000000 FROM "
      "schema_migrations WHERE component = 'core'";
  absl::StatusOr<int64_t> applied_at = db().QueryInt(applied_at_sql);
  ASSERT_OK(applied_at);

  ASSERT_OK(ApplyMigrations(*NewDatabase(), "core", migrations));
  EXPECT_EQ(Recorded("core"), static_cast<int64_t>(migrations.size()));
  EXPECT_THAT(db().QueryInt(applied_at_sql), IsOkAndHolds(*applied_at));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(1));
}

// Migration 0006 copies each existing contact's e-mails, phones, tags and
// attributes into its row (contact_lists_copy_test covers what rapportd
// writes afterwards).
TEST_F(MigrationsTest, ListCopyMigrationFillsExistingContacts) {
  std::vector<Migration> migrations = CoreMigrations();
  ASSERT_GE(migrations.size(), 6u);
  ASSERT_EQ(migrations[5].version, 6);
  auto database = NewDatabase();
  ASSERT_OK(ApplyMigrations(
      *database, "core",
      std::vector<Migration>(migrations.begin(), migrations.begin() + 5)));
  for (const char* sql :
       {"INSERT INTO contacts (id, given_name, create_time, update_time, "
        "version) VALUES (1, 'Full', NOW(6), NOW(6), 3), (2, 'Bare', "
        "NOW(6), NOW(6), 1)",
        "INSERT INTO contact_emails (contact_id, position, email, live) "
        "VALUES (1, 1, 'b@example.com', 1), (1, 0, 'a@example.com', 1)",
        "INSERT INTO contact_phones (contact_id, position, phone) VALUES "
        "(1, 0, '+442071234567')",
        "INSERT INTO contact_tags (contact_id, tag) VALUES (1, 'zeta'), "
        "(1, '\xc3\xa9mile'), (1, 'alpha')",
        "INSERT INTO contact_attributes (contact_id, name, value) VALUES "
        "(1, 'plan', 'gold \"x\"')"}) {
    ASSERT_OK(db().Execute(sql));
  }
  ASSERT_OK(ApplyMigrations(*database, "core", migrations));
  EXPECT_THAT(
      db().QueryInt(
          "SELECT COUNT(*) FROM contacts WHERE id = 1 AND lists_version = 3 "
          "AND emails_list = 'a@example.com\\nb@example.com' AND "
          "phones_list = '+442071234567' AND tags_list = "
          "'alpha\\nzeta\\n\xc3\xa9mile' AND "
          "JSON_VALUE(attributes_json, '$.plan') = 'gold \"x\"'"),
      IsOkAndHolds(1));
  EXPECT_THAT(
      db().QueryInt(
          "SELECT COUNT(*) FROM contacts WHERE id = 2 AND lists_version = 1 "
          "AND emails_list IS NULL AND phones_list IS NULL AND tags_list IS "
          "NULL AND attributes_json IS NULL"),
      IsOkAndHolds(1));
}

TEST_F(MigrationsTest, ConcurrentAppliersAllSucceedAndRecordOnce) {
  const std::vector<Migration> migrations = CoreMigrations();
  constexpr int kThreads = 4;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Database database(db().options(), 1);
      results[t] = ApplyMigrations(database, "core", migrations);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_OK(results[t]) << "thread " << t;
  EXPECT_EQ(Recorded("core"), static_cast<int64_t>(migrations.size()));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(DISTINCT version) FROM "
                            "schema_migrations WHERE component = 'core'"),
              IsOkAndHolds(static_cast<int64_t>(migrations.size())));
}

TEST_F(MigrationsTest, EditedMigrationIsFailedPrecondition) {
  auto database = NewDatabase();
  ASSERT_OK(ApplyMigrations(*database, "test",
                            {{1, "first", "CREATE TABLE first_t (id INT);"}}));
  EXPECT_THAT(
      ApplyMigrations(*database, "test",
                      {{1, "first", "CREATE TABLE first_t (id BIGINT);"},
                       {2, "second", "CREATE TABLE second_t (id INT);"}}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("0001_first"), HasSubstr("edited"))));
  EXPECT_EQ(Recorded("test"), 1);
  EXPECT_EQ(TableExists("second_t"), 0);
}

TEST_F(MigrationsTest, GapInNumberingIsFailedPrecondition) {
  auto database = NewDatabase();
  EXPECT_THAT(ApplyMigrations(*database, "test",
                              {{1, "first", "CREATE TABLE first_t (id INT);"},
                               {3, "third", "CREATE TABLE third_t (id INT);"}}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("without gaps")));
  EXPECT_EQ(TableExists("first_t"), 0);
}

TEST_F(MigrationsTest, BrokenMigrationFailsAndIsNotRecorded) {
  auto database = NewDatabase();
  const Migration first{1, "first", "CREATE TABLE first_t (id INT);"};
  absl::Status status =
      ApplyMigrations(*database, "test",
                      {first, {2, "broken", "CREATE TABLE broken_t (id INT;"}});
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("0002_broken")));
  EXPECT_EQ(Recorded("test"), 1);
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM schema_migrations WHERE "
                            "component = 'test' AND version = 2"),
              IsOkAndHolds(0));
  // Once fixed, it runs: the failure was not recorded as applied.
  EXPECT_OK(ApplyMigrations(
      *database, "test",
      {first, {2, "broken", "CREATE TABLE broken_t (id INT);"}}));
  EXPECT_EQ(Recorded("test"), 2);
  EXPECT_EQ(TableExists("broken_t"), 1);
}

TEST_F(MigrationsTest, CheckIsUnavailableUntilApplied) {
  const std::vector<Migration> migrations = CoreMigrations();
  auto database = NewDatabase();
  EXPECT_THAT(
      CheckMigrationsApplied(*database, "core", migrations),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("rapportd migrate")));
  ASSERT_OK(ApplyMigrations(*database, "core", migrations));
  EXPECT_OK(CheckMigrationsApplied(*database, "core", migrations));
}

TEST_F(MigrationsTest, CheckIsUnavailableWhilePartlyApplied) {
  auto database = NewDatabase();
  const Migration first{1, "first", "CREATE TABLE first_t (id INT);"};
  const Migration second{2, "second", "CREATE TABLE second_t (id INT);"};
  ASSERT_OK(ApplyMigrations(*database, "test", {first}));
  EXPECT_THAT(CheckMigrationsApplied(*database, "test", {first, second}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("1 of 2")));
}

// migrate_on_start = false: the server waits for `rapportd migrate`.
class WaitForMigrationsTest : public MigrationsTest {
 protected:
  config::Config ServerConfig() {
    config::Config config;
    config.listen = "127.0.0.1:0";
    config.insecure = true;
    config.bootstrap_admin_key = kTestAdminKey;
    config.db = db().options();
    config.db.pool_size = 2;
    config.threads = 4;
    config.migrate_on_start = false;
    config.shutdown_grace = absl::Seconds(2);
    return config;
  }

  static HealthCheckResponse::ServingStatus Health(
      grpc::health::v1::Health::Stub& stub) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::Status status = stub.Check(&context, request, &response);
    EXPECT_OK(status);
    return response.status();
  }

  static grpc::Status GetContact(rapport::v1::ContactService::Stub& stub) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    rapport::v1::GetContactRequest request;
    request.set_id("1");
    rapport::v1::Contact contact;
    return stub.GetContact(&context, request, &contact);
  }
};

TEST_F(WaitForMigrationsTest, ServesOnlyAfterSomeoneElseMigrates) {
  auto server = app::RapportServer::Start(ServerConfig());
  ASSERT_OK(server);
  auto channel = testing::CreateKeyedChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()));
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto contacts = rapport::v1::ContactService::NewStub(channel);

  EXPECT_FALSE((*server)->WaitUntilServing(absl::Milliseconds(500)));
  EXPECT_EQ(Health(*health), HealthCheckResponse::NOT_SERVING);
  EXPECT_THAT(GetContact(*contacts),
              StatusIs(grpc::StatusCode::UNAVAILABLE, HasSubstr("migrations")));
  // The server itself created nothing.
  EXPECT_EQ(TableExists("contacts"), 0);
  EXPECT_FALSE((*server)->fatal().HasBeenNotified());

  ASSERT_OK(ApplyMigrations(*NewDatabase(), "core", CoreMigrations()));
  EXPECT_TRUE((*server)->WaitUntilServing(absl::Seconds(30)));
  EXPECT_EQ(Health(*health), HealthCheckResponse::SERVING);
  EXPECT_THAT(GetContact(*contacts), StatusIs(grpc::StatusCode::NOT_FOUND));
  (*server)->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace rapport::testing
