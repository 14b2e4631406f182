// Outbox delivery survives kill -9: the real rapportd binary with the
// test.events plugin (which records each event in its own table, keyed by
// event id) is killed with SIGKILL and started again on the same database.
// Every event committed before the crash reaches the plugin after the
// restart, and the plugin's effects happen once per event: delivery is at
// least once, and the event id makes the handler idempotent.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/event.pb.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

constexpr char kSubscriber[] = "test.events/recorder";
// A short subscription lease, so that the restarted rapportd takes over the
// killed one's subscription within seconds rather than the default 30 s.
constexpr char kLease[] = "2s";
const absl::Duration kDrainDeadline = absl::Seconds(60);

class PluginCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    const std::string base = absl::StrCat(::testing::TempDir(), "plugin_crash_",
                                          getpid(), "_", db_->name());
    // No plugin from the build's plugin folder: only test.events.
    empty_plugin_dir_ = base + "_plugins";
    ASSERT_EQ(mkdir(empty_plugin_dir_.c_str(), 0755), 0) << empty_plugin_dir_;
    failing_config_ = base + "_failing.yaml";
    std::ofstream(failing_config_) << "plugins:\n"
                                      "  config:\n"
                                      "    test.events:\n"
                                      "      fail_first_attempts: 1000000\n";
  }

  void TearDown() override {
    if (!failing_config_.empty()) unlink(failing_config_.c_str());
    if (!empty_plugin_dir_.empty()) rmdir(empty_plugin_dir_.c_str());
  }

  // rapportd with test.events, failing every delivery attempt when
  // `plugin_fails`.
  std::unique_ptr<RapportdProcess> StartRapportd(bool plugin_fails) {
    std::map<std::string, std::string> env = {
        {"RAPPORT_PLUGIN_DIR", empty_plugin_dir_},
        {"RAPPORT_PLUGIN_PATHS",
         absl::StrCat(RAPPORT_TEST_PLUGIN_DIR, "/libtest_events.so")},
        {"RAPPORT_REQUIRED_PLUGINS", "test.events"},
        {"RAPPORT_OUTBOX_LEASE", kLease},
    };
    if (plugin_fails) env["RAPPORT_CONFIG"] = failing_config_;
    return RapportdProcess::Start(RAPPORTD_PATH, *db_, env);
  }

  int64_t Query(const std::string& sql) {
    absl::StatusOr<int64_t> n = db_->QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status() << "\n" << sql;
    return n.ok() ? *n : -1;
  }

  int64_t PendingDeliveries() {
    return Query(
        absl::StrCat("SELECT COUNT(*) FROM outbox_deliveries WHERE "
                     "subscriber = '",
                     kSubscriber, "' AND state = 0"));
  }
  int64_t AllDeliveries() {
    return Query(absl::StrCat(
        "SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = '",
        kSubscriber, "'"));
  }

  // Stores the acknowledged contact ids in the table test_acked, for the
  // checks below to join on.
  void RecordAcknowledged(const std::vector<int64_t>& ids) {
    ASSERT_OK(db_->Execute(
        "CREATE TABLE test_acked (contact_id BIGINT NOT NULL PRIMARY KEY)"));
    for (size_t i = 0; i < ids.size(); i += 100) {
      std::vector<std::string> rows;
      for (size_t j = i; j < ids.size() && j < i + 100; ++j) {
        rows.push_back(absl::StrCat("(", ids[j], ")"));
      }
      ASSERT_OK(db_->Execute(absl::StrCat("INSERT INTO test_acked VALUES ",
                                          absl::StrJoin(rows, ","))));
    }
  }

  // Acknowledged contacts whose CONTACT_CREATED the plugin recorded.
  int64_t AcknowledgedSeen() {
    return Query(absl::StrCat(
        "SELECT COUNT(DISTINCT s.contact_id) FROM test_events_seen s JOIN "
        "test_acked a ON a.contact_id = s.contact_id WHERE s.type = ",
        v1::CONTACT_CREATED));
  }

  // Polls until every acknowledged contact's CONTACT_CREATED was recorded
  // and the subscription has no delivery left (pending or parked).
  void WaitUntilDrained(int64_t acknowledged) {
    const absl::Time deadline = absl::Now() + kDrainDeadline;
    while (absl::Now() < deadline &&
           (AcknowledgedSeen() < acknowledged || AllDeliveries() > 0)) {
      absl::SleepFor(absl::Milliseconds(100));  // polling the plugin's table
    }
    ASSERT_EQ(AcknowledgedSeen(), acknowledged) << server_->Stderr();
    ASSERT_EQ(AllDeliveries(), 0) << server_->Stderr();
  }

  // The plugin's effects: exactly one CONTACT_CREATED row per acknowledged
  // contact, and the recorded CONTACT_CREATED event ids are exactly those
  // of outbox_events (for acknowledged contacts, and overall).
  void ExpectEachEventRecordedOnce(int64_t acknowledged) {
    const std::string created = absl::StrCat(v1::CONTACT_CREATED);
    EXPECT_EQ(Query("SELECT COUNT(*) FROM test_events_seen s JOIN test_acked "
                    "a ON a.contact_id = s.contact_id WHERE s.type = " +
                    created),
              acknowledged);
    EXPECT_EQ(Query("SELECT COUNT(*) FROM (SELECT contact_id FROM "
                    "test_events_seen WHERE type = " +
                    created + " GROUP BY contact_id HAVING COUNT(*) > 1) dup"),
              0);
    EXPECT_EQ(Query("SELECT COUNT(*) FROM outbox_events e JOIN test_acked a "
                    "ON a.contact_id = e.contact_id WHERE e.type = " +
                    created),
              acknowledged);
    // Every CONTACT_CREATED in the outbox was recorded under its event id
    // (also those of contacts committed but never acknowledged)...
    EXPECT_EQ(
        Query("SELECT COUNT(*) FROM outbox_events e WHERE e.type = " + created +
              " AND NOT EXISTS (SELECT 1 FROM test_events_seen s WHERE "
              "s.event_id = e.id AND s.type = e.type AND s.contact_id = "
              "e.contact_id)"),
        0);
    // ...and nothing else was.
    EXPECT_EQ(Query("SELECT COUNT(*) FROM test_events_seen s WHERE NOT EXISTS "
                    "(SELECT 1 FROM outbox_events e WHERE e.id = s.event_id "
                    "AND e.type = s.type AND e.contact_id = s.contact_id)"),
              0);
  }

  std::unique_ptr<TestDatabase> db_;
  std::string empty_plugin_dir_;
  std::string failing_config_;
  std::unique_ptr<RapportdProcess> server_;
};

grpc::Status Create(v1::ContactService::Stub& stub, const std::string& given,
                    v1::Contact* out) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::CreateContactRequest request;
  request.mutable_contact()->set_given_name(given);
  request.mutable_contact()->set_family_name("Crash");
  return stub.CreateContact(&context, request, out);
}

TEST_F(PluginCrashTest, EventsCommittedBeforeACrashAreDeliveredAfterRestart) {
  constexpr int kContacts = 100;
  server_ = StartRapportd(/*plugin_fails=*/true);
  ASSERT_NE(server_, nullptr);
  std::vector<int64_t> acknowledged;
  {
    auto contacts = v1::ContactService::NewStub(server_->channel());
    for (int i = 0; i < kContacts; ++i) {
      v1::Contact created;
      ASSERT_OK(Create(*contacts, absl::StrCat("Before", i), &created));
      acknowledged.push_back(std::stoll(created.id()));
    }
  }
  // The dispatcher tried (and the plugin failed) before the crash.
  const absl::Time tried_by = absl::Now() + absl::Seconds(10);
  while (Query(absl::StrCat("SELECT COUNT(*) FROM outbox_deliveries WHERE "
                            "subscriber = '",
                            kSubscriber, "' AND attempts > 0")) == 0 &&
         absl::Now() < tried_by) {
    absl::SleepFor(absl::Milliseconds(20));  // polling the outbox
  }
  EXPECT_GT(Query(absl::StrCat("SELECT COUNT(*) FROM outbox_deliveries WHERE "
                               "subscriber = '",
                               kSubscriber, "' AND attempts > 0")),
            0)
      << server_->Stderr();
  ASSERT_GE(PendingDeliveries(), kContacts);
  ASSERT_EQ(Query("SELECT COUNT(*) FROM test_events_seen"), 0);

  // The crash between commit and delivery.
  server_->Kill();
  ASSERT_EQ(server_->Wait(absl::ZeroDuration()).value_or(-1), 128 + SIGKILL);
  ASSERT_GE(PendingDeliveries(), kContacts);

  server_ = StartRapportd(/*plugin_fails=*/false);
  ASSERT_NE(server_, nullptr);
  ASSERT_NO_FATAL_FAILURE(RecordAcknowledged(acknowledged));
  ASSERT_NO_FATAL_FAILURE(WaitUntilDrained(kContacts));
  ExpectEachEventRecordedOnce(kContacts);
  // Nothing was handled before the crash, so nothing twice after it.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM test_events_seen WHERE deliveries "
                  "<> 1"),
            0);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM test_events_seen"), kContacts);
}

TEST_F(PluginCrashTest, KillDuringDeliveryRedeliversWithoutDuplicateEffects) {
  constexpr int kContacts = 300;
  constexpr int kKillAfter = 100;
  server_ = StartRapportd(/*plugin_fails=*/false);
  ASSERT_NE(server_, nullptr);

  // The writer creates contacts one after another through `stub`; when a
  // call fails it waits for the test to switch `stub` to the restarted
  // server and goes on there. Failed creates are not retried.
  std::mutex mu;
  std::condition_variable changed;
  std::shared_ptr<v1::ContactService::Stub> stub =
      v1::ContactService::NewStub(server_->channel());
  int generation = 1;
  bool killed = false;
  std::vector<int64_t> acknowledged;
  std::vector<std::string> unexpected_failures;
  int failures = 0;
  std::thread writer([&] {
    for (int i = 0; i < kContacts; ++i) {
      std::shared_ptr<v1::ContactService::Stub> current;
      int current_generation;
      {
        std::lock_guard<std::mutex> lock(mu);
        current = stub;
        current_generation = generation;
      }
      v1::Contact created;
      grpc::Status s = Create(*current, absl::StrCat("Contact", i), &created);
      std::unique_lock<std::mutex> lock(mu);
      if (s.ok()) {
        acknowledged.push_back(std::stoll(created.id()));
        changed.notify_all();
        continue;
      }
      ++failures;
      if (!killed || current_generation != 1 ||
          s.error_code() != grpc::StatusCode::UNAVAILABLE) {
        unexpected_failures.push_back(
            absl::StrCat("create ", i, " on server ", current_generation,
                         (killed ? " (after the kill)" : " (before the kill)"),
                         ": code ", s.error_code(), " ", s.error_message()));
      }
      if (!changed.wait_for(lock, std::chrono::seconds(60),
                            [&] { return generation != current_generation; })) {
        unexpected_failures.push_back("no restarted server to write to");
        return;
      }
    }
  });

  // Kill #1 once kKillAfter creates were acknowledged and the plugin has
  // handled events: creates and deliveries are under way.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  {
    std::unique_lock<std::mutex> lock(mu);
    changed.wait_until(lock, absl::ToChronoTime(deadline), [&] {
      return static_cast<int>(acknowledged.size()) >= kKillAfter;
    });
  }
  while (Query("SELECT COUNT(*) FROM test_events_seen") == 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // polling the plugin's table
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    killed = true;
  }
  server_->Kill();
  const int64_t seen_at_kill = Query("SELECT COUNT(*) FROM test_events_seen");
  const int64_t pending_at_kill = PendingDeliveries();
  size_t acknowledged_at_kill;
  {
    std::lock_guard<std::mutex> lock(mu);
    acknowledged_at_kill = acknowledged.size();
  }
  RecordProperty("acknowledged_at_kill",
                 static_cast<int>(acknowledged_at_kill));
  RecordProperty("seen_at_kill", static_cast<int>(seen_at_kill));
  RecordProperty("pending_at_kill", static_cast<int>(pending_at_kill));

  std::unique_ptr<RapportdProcess> restarted = StartRapportd(false);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (restarted != nullptr) {
      std::shared_ptr<grpc::Channel> channel = restarted->channel();
      stub = v1::ContactService::NewStub(channel);
    }
    ++generation;  // a failed start lets the writer give up at once
    changed.notify_all();
  }
  writer.join();
  ASSERT_NE(restarted, nullptr);
  server_ = std::move(restarted);

  EXPECT_THAT(unexpected_failures, ::testing::IsEmpty());
  EXPECT_GE(static_cast<int>(acknowledged_at_kill), kKillAfter);
  EXPECT_GT(seen_at_kill, 0);
  // One create may be lost to the kill; the rest succeed on #2.
  EXPECT_LE(failures, 1);
  EXPECT_EQ(static_cast<int>(acknowledged.size()) + failures, kContacts);

  ASSERT_NO_FATAL_FAILURE(RecordAcknowledged(acknowledged));
  const int64_t n = static_cast<int64_t>(acknowledged.size());
  ASSERT_NO_FATAL_FAILURE(WaitUntilDrained(n));
  ExpectEachEventRecordedOnce(n);
  // Redelivery after the crash is allowed (at least once), not required.
  RecordProperty("redelivered",
                 static_cast<int>(Query("SELECT COUNT(*) FROM "
                                        "test_events_seen WHERE deliveries > "
                                        "1")));
}

}  // namespace
}  // namespace rapport::testing
