// The connection pool against a real MariaDB: connections the server kills
// are reopened, an unreachable database fails fast with UNAVAILABLE, an
// exhausted pool times out, and deadlocks are retried.
#include "server/storage/database.h"

#include <cppconn/resultset.h>
#include <unistd.h>

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/test_auth.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::rapport::storage::Connection;
using ::rapport::storage::Database;
using ::rapport::storage::DbOptions;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> ContextWithin(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// --- Reconnecting after the server killed our connections -----------------

class KilledConnectionsTest : public ServerFixture {
 protected:
  // Kills every connection of the server under test (all sessions on the
  // test database but the helper's own). Returns how many.
  // rapportd's connections to the test database (all but the test's own).
  int64_t ServerConnections() {
    absl::StatusOr<int64_t> n = db().QueryInt(absl::StrCat(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '",
        db().name(), "' AND ID <> CONNECTION_ID()"));
    return n.ok() ? *n : 0;
  }

  int KillServerConnections() {
    int killed = 0;
    int64_t last = 0;
    while (true) {
      absl::StatusOr<int64_t> id = db().QueryInt(absl::StrCat(
          "SELECT MIN(ID) FROM information_schema.PROCESSLIST WHERE DB = '",
          db().name(), "' AND ID <> CONNECTION_ID() AND ID > ", last));
      if (!id.ok()) break;  // NULL: none left
      last = *id;
      EXPECT_OK(db().Execute(absl::StrCat("KILL ", *id)));
      ++killed;
    }
    return killed;
  }

  // Runs `call` until it succeeds, at most `attempts` times; every failure
  // must be UNAVAILABLE (never INTERNAL). Returns the attempts it took, or 0.
  template <typename Call>
  int SucceedsWithin(int attempts, Call call) {
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      grpc::Status status = call();
      if (status.ok()) return attempt;
      EXPECT_THAT(status, StatusIs(grpc::StatusCode::UNAVAILABLE))
          << "attempt " << attempt;
    }
    return 0;
  }

  grpc::Status Get(const std::string& id) {
    v1::GetContactRequest get;
    get.set_id(id);
    v1::Contact contact;
    return contacts().GetContact(Context().get(), get, &contact);
  }

  grpc::Status Create(const std::string& given) {
    v1::CreateContactRequest create;
    *create.mutable_contact() = MakeContact(given, "Kill", "");
    v1::Contact contact;
    return contacts().CreateContact(Context().get(), create, &contact);
  }
};

TEST_F(KilledConnectionsTest, ReadsRecoverAfterConnectionsAreKilled) {
  const std::string id = MustCreate(MakeContact("Ada", "Lovelace", "")).id();
  ASSERT_OK(Get(id));
  ASSERT_GT(KillServerConnections(), 0);
  // The first call may meet a dead connection; its retry gets a new one.
  EXPECT_GT(SucceedsWithin(2, [&] { return Get(id); }), 0);
  // From then on every call succeeds at once.
  for (int n = 0; n < 5; ++n) EXPECT_OK(Get(id)) << "call " << n;
}

TEST_F(KilledConnectionsTest, WritesRecoverAfterConnectionsAreKilled) {
  ASSERT_OK(Create("Before"));
  ASSERT_GT(KillServerConnections(), 0);
  EXPECT_GT(SucceedsWithin(2, [&] { return Create("Retried"); }), 0);
  for (int n = 0; n < 5; ++n) {
    EXPECT_OK(Create(absl::StrCat("After", n))) << "call " << n;
  }
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts WHERE "
                            "given_name = 'Retried'"),
              IsOkAndHolds(1));
}

TEST_F(KilledConnectionsTest, ConcurrentCallsRecoverAfterConnectionsAreKilled) {
  const std::string id = MustCreate(MakeContact("Ada", "Lovelace", "")).id();
  // Open several connections: overlapping calls each lease one. Calls take
  // well under a millisecond, so six threads do not always overlap; start
  // them together, and again until the pool holds more than one connection.
  for (int round = 0; round < 50 && ServerConnections() < 2; ++round) {
    std::latch start(6);
    std::vector<std::thread> warm;
    for (int t = 0; t < 6; ++t) {
      warm.emplace_back([&] {
        start.arrive_and_wait();
        EXPECT_OK(Get(id));
      });
    }
    for (std::thread& t : warm) t.join();
  }
  ASSERT_GT(KillServerConnections(), 1);

  std::vector<std::thread> threads;
  std::vector<int> attempts(6);
  for (int t = 0; t < 6; ++t) {
    // Each thread may meet one dead connection per pooled connection at
    // most; it must never see anything but OK or UNAVAILABLE.
    threads.emplace_back(
        [&, t] { attempts[t] = SucceedsWithin(10, [&] { return Get(id); }); });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 6; ++t) EXPECT_GT(attempts[t], 0) << "thread " << t;
  for (int n = 0; n < 5; ++n) EXPECT_OK(Get(id)) << "call " << n;
}

// --- An unreachable database ----------------------------------------------

class UnreachableDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    options_ = db_->options();
    options_.port = ClosedPort();
    options_.socket.clear();
  }

  std::unique_ptr<TestDatabase> db_;
  DbOptions options_;
};

TEST_F(UnreachableDatabaseTest, AcquireFailsFastWithUnavailable) {
  Database database(options_, 2);
  const absl::Time start = absl::Now();
  absl::StatusOr<Connection> lease = database.Acquire(/*ignore_ready=*/true);
  EXPECT_THAT(lease, StatusIs(absl::StatusCode::kUnavailable,
                              HasSubstr(absl::StrCat(options_.port))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(database.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  // The failed attempt gave its slot back.
  EXPECT_EQ(database.GetStats().in_use, 0);
}

TEST_F(UnreachableDatabaseTest, ServerStaysNotServingAndCallsFailFast) {
  config::Config config;
  config.listen = "127.0.0.1:0";
  config.insecure = true;
  config.bootstrap_admin_key = kTestAdminKey;
  config.db = options_;
  config.db.pool_size = 2;
  config.threads = 4;
  auto server = app::RapportServer::Start(config);
  ASSERT_OK(server);
  auto channel = testing::CreateKeyedChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()));
  EXPECT_FALSE((*server)->WaitUntilServing(absl::Seconds(1)));

  auto health = grpc::health::v1::Health::NewStub(channel);
  HealthCheckRequest request;
  HealthCheckResponse response;
  ASSERT_OK(
      health->Check(ContextWithin(absl::Seconds(5)).get(), request, &response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);

  auto contacts = v1::ContactService::NewStub(channel);
  v1::CreateContactRequest create;
  create.mutable_contact()->set_given_name("Nobody");
  v1::Contact contact;
  const absl::Time start = absl::Now();
  EXPECT_THAT(contacts->CreateContact(ContextWithin(absl::Seconds(30)).get(),
                                      create, &contact),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE((*server)->fatal().HasBeenNotified());
  (*server)->Shutdown(absl::Seconds(1));
}

// --- Pool limits and transactions -------------------------------------------

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    ASSERT_OK(db_->Execute(
        "CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL) "
        "ENGINE=InnoDB"));
    ASSERT_OK(db_->Execute("INSERT INTO counters VALUES (1, 0), (2, 0)"));
  }

  std::unique_ptr<Database> NewDatabase(
      int pool_size, absl::Duration acquire_timeout = absl::Seconds(5)) {
    DbOptions options = db_->options();
    options.acquire_timeout = acquire_timeout;
    auto database = std::make_unique<Database>(options, pool_size);
    database->SetReady(true);
    return database;
  }

  std::unique_ptr<TestDatabase> db_;
};

TEST_F(PoolTest, ExhaustedPoolIsUnavailableAfterAcquireTimeout) {
  auto database = NewDatabase(2, absl::Milliseconds(300));
  auto first =
      std::make_unique<absl::StatusOr<Connection>>(database->Acquire());
  ASSERT_OK(*first);
  absl::StatusOr<Connection> second = database->Acquire();
  ASSERT_OK(second);
  EXPECT_EQ(database->GetStats().in_use, 2);

  const absl::Time start = absl::Now();
  EXPECT_THAT(database->Acquire(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("busy")));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(5));
  EXPECT_THAT(
      database->Run("test", [](Connection&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kUnavailable));

  // A returned connection is leased again.
  first.reset();
  EXPECT_OK(database->Acquire());
}

TEST_F(PoolTest, WaiterGetsAConnectionWhenOneIsReturned) {
  auto database = NewDatabase(1, absl::Seconds(20));
  auto held = std::make_unique<absl::StatusOr<Connection>>(database->Acquire());
  ASSERT_OK(*held);
  absl::Status waiter_status;
  std::thread waiter([&] { waiter_status = database->Acquire().status(); });
  // Return the connection once the waiter is queued for it.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (database->GetStats().waiting == 0 && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(database->GetStats().waiting, 1);
  held.reset();
  waiter.join();
  EXPECT_OK(waiter_status);
}

TEST_F(PoolTest, DeadlockIsRetriedTransparently) {
  auto database = NewDatabase(2);
  absl::Notification first_locked;
  absl::Notification second_locked;
  std::atomic<int> attempts{0};
  // Each transaction bumps both rows, in opposite orders; on their first
  // attempt each waits until the other holds its first row, so they
  // deadlock. The database aborts one; Transaction reruns it.
  auto bump = [&](int first_row, int second_row, absl::Notification* mine,
                  absl::Notification* theirs) {
    int attempt = 0;
    return database->Transaction("bumping", [&](Connection& conn) {
      ++attempts;
      ++attempt;
      conn.Update("UPDATE counters SET n = n + 1 WHERE id = ?",
                  {int64_t{first_row}});
      if (attempt == 1) {
        mine->Notify();
        // Bounded, so a broken pool fails the test instead of hanging it.
        theirs->WaitForNotificationWithTimeout(absl::Seconds(10));
      }
      conn.Update("UPDATE counters SET n = n + 1 WHERE id = ?",
                  {int64_t{second_row}});
      return absl::OkStatus();
    });
  };
  absl::Status a_status;
  absl::Status b_status;
  std::thread a([&] { a_status = bump(1, 2, &first_locked, &second_locked); });
  std::thread b([&] { b_status = bump(2, 1, &second_locked, &first_locked); });
  a.join();
  b.join();
  EXPECT_OK(a_status);
  EXPECT_OK(b_status);
  EXPECT_EQ(attempts.load(), 3);  // one of them ran twice
  EXPECT_THAT(db_->QueryInt("SELECT n FROM counters WHERE id = 1"),
              IsOkAndHolds(2));
  EXPECT_THAT(db_->QueryInt("SELECT n FROM counters WHERE id = 2"),
              IsOkAndHolds(2));
}

TEST_F(PoolTest, PersistentLockConflictIsAbortedAfterRetries) {
  auto database = NewDatabase(1);
  // The helper connection holds row 1 for the whole test.
  ASSERT_OK(db_->Execute("START TRANSACTION"));
  ASSERT_OK(db_->Execute("UPDATE counters SET n = 100 WHERE id = 1"));
  int attempts = 0;
  absl::Status status = database->Transaction("bumping", [&](Connection& conn) {
    ++attempts;
    conn.ExecuteDirect("SET SESSION innodb_lock_wait_timeout = 1");
    conn.Update("UPDATE counters SET n = n + 1 WHERE id = 1", {});
    return absl::OkStatus();
  });
  ASSERT_OK(db_->Execute("ROLLBACK"));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kAborted, HasSubstr("bumping")));
  EXPECT_EQ(attempts, 3);
  EXPECT_THAT(db_->QueryInt("SELECT n FROM counters WHERE id = 1"),
              IsOkAndHolds(0));
  // The pool's connection is still good.
  EXPECT_OK(database->Ping());
}

TEST_F(PoolTest, ErrorFromFunctionRollsBackWithoutRetry) {
  auto database = NewDatabase(1);
  int attempts = 0;
  absl::Status status = database->Transaction("bumping", [&](Connection& conn) {
    ++attempts;
    conn.Update("UPDATE counters SET n = 7 WHERE id = 1", {});
    return absl::AbortedError("etag mismatch");
  });
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kAborted, HasSubstr("etag mismatch")));
  EXPECT_EQ(attempts, 1);
  EXPECT_THAT(db_->QueryInt("SELECT n FROM counters WHERE id = 1"),
              IsOkAndHolds(0));
}

// --- BatchInsert ----------------------------------------------------------

// Statements this session has prepared so far.
int64_t Prepares(Connection& conn) {
  std::unique_ptr<sql::ResultSet> rs =
      conn.Query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'", {});
  return rs->next() ? rs->getInt64(2) : -1;
}

TEST_F(PoolTest, BatchInsertWritesEveryRowInFullStatementsAndOneRemainder) {
  ASSERT_OK(db_->Execute(
      "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
      "batch INT NOT NULL, n INT NOT NULL, label VARCHAR(20) NULL)"));
  auto database = NewDatabase(1);
  std::vector<int64_t> prepares;
  int next_batch = 0;
  for (const int rows : {0, 1, 4, 9, 9, 12}) {
    const int batch = next_batch++;
    std::vector<size_t> statements;
    std::vector<int64_t> ids;
    ASSERT_OK(database->Run("inserting", [&](Connection& conn) {
      conn.LastInsertId();  // its SELECT is prepared here, not counted
      const int64_t before = Prepares(conn);
      storage::BatchInsert insert(
          conn, "INSERT INTO items (batch, n, label) VALUES ", "(?, ?, ?)",
          /*rows_per_statement=*/4, [&](size_t written) {
            statements.push_back(written);
            const int64_t first = conn.LastInsertId();
            for (size_t i = 0; i < written; ++i) {
              ids.push_back(first + static_cast<int64_t>(i));
            }
          });
      for (int n = 0; n < rows; ++n) {
        insert.Add({int64_t{batch}, int64_t{n},
                    n % 3 == 0 ? SqlParam(std::monostate())
                               : SqlParam(absl::StrCat("row ", n))});
      }
      insert.Flush();
      insert.Flush();  // nothing left: writes nothing
      prepares.push_back(Prepares(conn) - before);
      return absl::OkStatus();
    }));
    std::vector<size_t> expected(rows / 4, 4);
    if (rows % 4 != 0) expected.push_back(rows % 4);
    EXPECT_EQ(statements, expected) << rows << " rows";
    ASSERT_EQ(ids.size(), static_cast<size_t>(rows));
    for (int n = 0; n < rows; ++n) {
      EXPECT_THAT(
          db_->QueryInt(absl::StrCat(
              "SELECT id FROM items WHERE batch = ", batch, " AND n = ", n,
              n % 3 == 0 ? " AND label IS NULL"
                         : absl::StrCat(" AND label = 'row ", n, "'"))),
          IsOkAndHolds(ids[n]))
          << "row " << n << " of " << rows;
    }
    EXPECT_THAT(db_->QueryInt(absl::StrCat(
                    "SELECT COUNT(*) FROM items WHERE batch = ", batch)),
                IsOkAndHolds(rows));
  }
  // The full statement is prepared once per connection (the pool of one
  // keeps it); each remainder is prepared for its own call.
  EXPECT_EQ(prepares, (std::vector<int64_t>{0, 1, 1, 1, 1, 0}));
}

}  // namespace
}  // namespace rapport::testing
