// The event dispatcher against a real MariaDB: delivery from the outbox in
// order, type filtering, retries with back-off and per-contact order,
// parking and retrying, throwing handlers, late subscriptions, two replicas
// sharing one subscription, a replica that stops mid-stream, lost
// connections, and binary payloads.
#include "server/events/dispatcher.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/database.h"
#include "server/storage/migrations.h"
#include "server/storage/outbox.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::events {
namespace {

using ::rapport::testing::IsOkAndHolds;
using ::rapport::testing::StatusIs;
using ::rapport::testing::TestDatabase;
using ::rapport::v1::Event;
using ::rapport::v1::EventType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kTimeout = absl::Seconds(20);

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = kTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// What handlers saw, from any number of threads.
class Recorder {
 public:
  // Records one call (successful or not).
  void Record(const Event& event, bool ok) {
    absl::MutexLock lock(&mu_);
    calls_.push_back({event, ok});
    if (ok) ++delivered_[event.id()];
  }

  // Waits until `n` distinct events were delivered successfully.
  bool AwaitDistinct(size_t n, absl::Duration timeout = kTimeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return delivered_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  bool AwaitDelivered(int64_t id, absl::Duration timeout = kTimeout) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return delivered_.contains(id);
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  }

  struct Call {
    Event event;
    bool ok;
  };
  std::vector<Call> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // Successful deliveries per event id.
  absl::flat_hash_map<int64_t, int> delivered() const {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  // Event ids delivered successfully, in delivery order, per contact.
  std::map<std::string, std::vector<int64_t>> PerContact() const {
    absl::MutexLock lock(&mu_);
    std::map<std::string, std::vector<int64_t>> out;
    for (const Call& c : calls_) {
      if (c.ok) out[c.event.contact_id()].push_back(c.event.id());
    }
    return out;
  }
  int CallsFor(int64_t id) const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const Call& c : calls_) n += c.event.id() == id ? 1 : 0;
    return n;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> delivered_ ABSL_GUARDED_BY(mu_);
};

// A handler that records every call and succeeds.
sdk::EventHandler Recording(Recorder* recorder) {
  return [recorder](const Event& event) {
    recorder->Record(event, true);
    return absl::OkStatus();
  };
}

bool StrictlyIncreasing(const std::vector<int64_t>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] <= ids[i - 1]) return false;
  }
  return true;
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto test_db = TestDatabase::Create();
    ASSERT_OK(test_db);
    test_db_ = *std::move(test_db);
    db_ = NewDatabase();
    ASSERT_OK(
        storage::ApplyMigrations(*db_, "core", storage::CoreMigrations()));
  }

  // Another "replica's" pool on the same database.
  std::unique_ptr<storage::Database> NewDatabase() {
    auto db = std::make_unique<storage::Database>(test_db_->options(), 4);
    db->SetReady(true);
    return db;
  }

  static DispatcherOptions FastOptions(std::string owner) {
    DispatcherOptions options;
    options.owner = std::move(owner);
    options.poll_interval = absl::Milliseconds(20);
    options.lease = absl::Seconds(10);
    options.initial_backoff = absl::Milliseconds(20);
    options.max_backoff = absl::Milliseconds(100);
    options.max_attempts = 4;
    return options;
  }

  static Subscription Sub(std::string name, std::vector<EventType> types,
                          sdk::EventHandler handler) {
    Subscription sub;
    sub.subscriber = std::move(name);
    sub.plugin = "test";
    sub.types = std::move(types);
    sub.handler = std::move(handler);
    return sub;
  }

  // Commits `events` in one transaction; returns their ids.
  std::vector<int64_t> AppendAll(const std::vector<Event>& events) {
    std::vector<int64_t> ids;
    absl::Status status =
        db_->Transaction("appending events", [&](storage::Connection& conn) {
          ids.clear();
          for (const Event& e : events) {
            ids.push_back(storage::AppendEvent(conn, e, absl::Now()));
          }
          return absl::OkStatus();
        });
    EXPECT_OK(status);
    return ids;
  }
  int64_t Append(EventType type, int64_t contact) {
    std::vector<int64_t> ids = AppendAll({MakeEvent(type, contact)});
    return ids.empty() ? -1 : ids[0];
  }
  static Event MakeEvent(EventType type, int64_t contact) {
    Event e;
    e.set_type(type);
    e.set_contact_id(absl::StrCat(contact));
    e.mutable_contact()->set_id(absl::StrCat(contact));
    return e;
  }

  int64_t Query(const std::string& sql) {
    return test_db_->QueryInt(sql).value_or(-1);
  }
  int64_t PendingRows() {
    return Query("SELECT COUNT(*) FROM outbox_deliveries");
  }

  std::unique_ptr<TestDatabase> test_db_;
  std::unique_ptr<storage::Database> db_;
};

TEST_F(DispatcherTest, DeliversCommittedEventsOnceEachInOrder) {
  Recorder recorder;
  Dispatcher dispatcher(db_.get(), FastOptions("a"));
  dispatcher.Add(Sub("test/all", {v1::CONTACT_CREATED, v1::CONTACT_UPDATED},
                     Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();

  std::vector<int64_t> ids;
  for (int i = 0; i < 30; ++i) {
    ids.push_back(
        Append(i < 3 ? v1::CONTACT_CREATED : v1::CONTACT_UPDATED, 1 + i % 3));
  }
  // Two events in one transaction, and one in a transaction that rolls back.
  for (int64_t id : AppendAll({MakeEvent(v1::CONTACT_UPDATED, 1),
                               MakeEvent(v1::CONTACT_UPDATED, 2)})) {
    ids.push_back(id);
  }
  EXPECT_THAT(db_->Transaction("rolled back",
                               [&](storage::Connection& conn) {
                                 storage::AppendEvent(
                                     conn, MakeEvent(v1::CONTACT_UPDATED, 1),
                                     absl::Now());
                                 return absl::AbortedError("changed my mind");
                               }),
              StatusIs(absl::StatusCode::kAborted));
  const int64_t marker = Append(v1::CONTACT_UPDATED, 3);
  ids.push_back(marker);

  ASSERT_TRUE(recorder.AwaitDistinct(ids.size()));
  ASSERT_TRUE(Eventually([&] { return PendingRows() == 0; }));
  dispatcher.Stop();

  std::vector<int64_t> seen;
  for (const auto& call : recorder.calls()) {
    seen.push_back(call.event.id());
    EXPECT_EQ(call.event.contact().id(), call.event.contact_id());
    EXPECT_TRUE(call.event.has_create_time());
  }
  // Once each, in commit order (one subscriber, no failures).
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(recorder.calls()[0].event.type(), v1::CONTACT_CREATED);
  EXPECT_EQ(dispatcher.GetStats().delivered, static_cast<int64_t>(ids.size()));
  EXPECT_EQ(dispatcher.GetStats().failed, 0);
  // Stop released the lease.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM outbox_subscriptions WHERE "
                  "lease_owner IS NULL"),
            1);
}

TEST_F(DispatcherTest, UnsubscribedTypesAreNotDelivered) {
  Recorder recorder;
  Dispatcher dispatcher(db_.get(), FastOptions("a"));
  dispatcher.Add(
      Sub("test/created", {v1::CONTACT_CREATED}, Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();

  const int64_t other = Append(v1::INTERACTION_LOGGED, 1);
  EXPECT_EQ(
      Query(absl::StrCat(
          "SELECT COUNT(*) FROM outbox_deliveries WHERE event_id = ", other)),
      0);
  const int64_t wanted = Append(v1::CONTACT_CREATED, 1);
  ASSERT_TRUE(recorder.AwaitDelivered(wanted));
  dispatcher.Stop();
  ASSERT_THAT(recorder.calls(), SizeIs(1));
  EXPECT_EQ(recorder.calls()[0].event.id(), wanted);
}

TEST_F(DispatcherTest, RetriesAFailureAndKeepsEachContactInOrder) {
  Recorder recorder;
  std::atomic<int64_t> flaky_id{-1};
  std::atomic<int> failures_left{2};
  Dispatcher dispatcher(db_.get(), [] {
    DispatcherOptions options = FastOptions("a");
    options.initial_backoff = absl::Milliseconds(150);
    options.max_backoff = absl::Milliseconds(300);
    return options;
  }());
  dispatcher.Add(
      Sub("test/flaky", {v1::CONTACT_UPDATED}, [&](const Event& event) {
        if (event.id() == flaky_id.load() && failures_left.fetch_sub(1) > 0) {
          recorder.Record(event, false);
          return absl::UnavailableError("try again");
        }
        recorder.Record(event, true);
        return absl::OkStatus();
      }));
  ASSERT_OK(dispatcher.Register());

  // Committed before Start, so the first batch holds all four.
  const std::vector<int64_t> ids = AppendAll(
      {MakeEvent(v1::CONTACT_UPDATED, 1), MakeEvent(v1::CONTACT_UPDATED, 1),
       MakeEvent(v1::CONTACT_UPDATED, 2), MakeEvent(v1::CONTACT_UPDATED, 2)});
  ASSERT_THAT(ids, SizeIs(4));
  flaky_id = ids[0];
  dispatcher.Start();
  ASSERT_TRUE(recorder.AwaitDistinct(4));
  dispatcher.Stop();

  EXPECT_EQ(recorder.CallsFor(ids[0]), 3);
  EXPECT_EQ(recorder.CallsFor(ids[1]), 1);
  std::vector<std::pair<int64_t, bool>> calls;
  for (const auto& c : recorder.calls()) calls.push_back({c.event.id(), c.ok});
  // Contact 2 flowed while contact 1 waited; contact 1 stayed in order.
  EXPECT_THAT(calls,
              ElementsAre(std::pair(ids[0], false), std::pair(ids[2], true),
                          std::pair(ids[3], true), std::pair(ids[0], false),
                          std::pair(ids[0], true), std::pair(ids[1], true)));
  EXPECT_EQ(dispatcher.GetStats().failed, 2);
  EXPECT_EQ(dispatcher.GetStats().parked, 0);
}

TEST_F(DispatcherTest, ParksAfterMaxAttemptsAndRetriesOnRequest) {
  Recorder recorder;
  std::atomic<int64_t> doomed_id{-1};
  std::atomic<bool> fixed{false};
  Dispatcher dispatcher(db_.get(), FastOptions("a"));  // max_attempts 4
  dispatcher.Add(
      Sub("test/doomed", {v1::CONTACT_UPDATED}, [&](const Event& event) {
        if (event.id() == doomed_id.load() && !fixed.load()) {
          recorder.Record(event, false);
          // Not valid UTF-8: stored with a replacement.
          return absl::InvalidArgumentError(
              "no such loyalty tier: \"g\xc3\xb6ld\xff\"");
        }
        recorder.Record(event, true);
        return absl::OkStatus();
      }));
  ASSERT_OK(dispatcher.Register());
  const std::vector<int64_t> ids = AppendAll(
      {MakeEvent(v1::CONTACT_UPDATED, 7), MakeEvent(v1::CONTACT_UPDATED, 7)});
  ASSERT_THAT(ids, SizeIs(2));
  doomed_id = ids[0];
  dispatcher.Start();

  // Parked after 4 attempts; the contact's next event flows afterwards.
  ASSERT_TRUE(recorder.AwaitDelivered(ids[1]));
  EXPECT_EQ(recorder.CallsFor(ids[0]), 4);
  EXPECT_EQ(dispatcher.GetStats().parked, 1);
  EXPECT_EQ(dispatcher.GetStats().failed, 4);

  absl::StatusOr<std::vector<ParkedDelivery>> parked =
      dispatcher.ListParked("test/doomed", 10);
  ASSERT_OK(parked);
  ASSERT_THAT(*parked, SizeIs(1));
  const ParkedDelivery& p = (*parked)[0];
  EXPECT_EQ(p.subscriber, "test/doomed");
  EXPECT_EQ(p.event_id, ids[0]);
  EXPECT_EQ(p.type, v1::CONTACT_UPDATED);
  EXPECT_EQ(p.contact_id, 7);
  EXPECT_EQ(p.attempts, 4);
  EXPECT_EQ(p.last_error,
            "INVALID_ARGUMENT: no such loyalty tier: \"g\xc3\xb6ld?\"");
  EXPECT_LT(absl::AbsDuration(absl::Now() - p.park_time), absl::Minutes(1));
  EXPECT_THAT(dispatcher.ListParked("", 0), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(dispatcher.ListParked("test/other", 10), IsOkAndHolds(IsEmpty()));

  // An admin fixed the cause and retries it.
  fixed = true;
  ASSERT_OK(dispatcher.RetryParked("test/doomed", ids[0]));
  ASSERT_TRUE(recorder.AwaitDelivered(ids[0]));
  EXPECT_THAT(dispatcher.ListParked("", 10), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(dispatcher.RetryParked("test/doomed", ids[0]),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(dispatcher.RetryParked("test/doomed", 999999),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(Eventually([&] { return PendingRows() == 0; }));
}

TEST_F(DispatcherTest, ThrowingHandlerIsAFailureNotACrash) {
  Recorder recorder;
  DispatcherOptions options = FastOptions("a");
  options.max_attempts = 2;
  Dispatcher dispatcher(db_.get(), options);
  dispatcher.Add(Sub("test/throws", {v1::CONTACT_UPDATED},
                     [&](const Event& event) -> absl::Status {
                       if (event.contact_id() == "1") {
                         throw std::runtime_error("kaboom");
                       }
                       recorder.Record(event, true);
                       return absl::OkStatus();
                     }));
  dispatcher.Add(Sub("test/throws-int", {v1::CONTACT_UPDATED},
                     [&](const Event& event) -> absl::Status {
                       if (event.contact_id() == "1") throw 42;
                       recorder.Record(event, true);
                       return absl::OkStatus();
                     }));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();
  const int64_t bad = Append(v1::CONTACT_UPDATED, 1);
  const int64_t good = Append(v1::CONTACT_UPDATED, 2);
  ASSERT_TRUE(Eventually([&] {
    auto parked = dispatcher.ListParked("", 10);
    return parked.ok() && parked->size() == 2;
  }));
  ASSERT_TRUE(Eventually([&] { return recorder.delivered()[good] == 2; }));
  dispatcher.Stop();

  auto parked = dispatcher.ListParked("", 10);
  ASSERT_OK(parked);
  ASSERT_THAT(*parked, SizeIs(2));
  for (const ParkedDelivery& p : *parked) {
    EXPECT_EQ(p.event_id, bad);
    EXPECT_EQ(p.attempts, 2);
    EXPECT_THAT(p.last_error,
                HasSubstr(p.subscriber == "test/throws" ? "kaboom"
                                                        : "unknown exception"))
        << p.subscriber;
  }
}

TEST_F(DispatcherTest, LateSubscriptionMissesEarlierEvents) {
  const int64_t before = Append(v1::CONTACT_CREATED, 1);
  Recorder recorder;
  Dispatcher dispatcher(db_.get(), FastOptions("a"));
  dispatcher.Add(Sub("test/late", {v1::CONTACT_CREATED}, Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();
  const int64_t after = Append(v1::CONTACT_CREATED, 1);
  ASSERT_TRUE(recorder.AwaitDelivered(after));
  dispatcher.Stop();
  EXPECT_EQ(recorder.CallsFor(before), 0);
  EXPECT_THAT(recorder.calls(), SizeIs(1));
}

// The server registers and starts the dispatcher right after migrations,
// before it marks the pool ready for API calls.
TEST_F(DispatcherTest, WorksBeforeThePoolIsMarkedReady) {
  storage::Database starting(test_db_->options(), 2);  // not SetReady
  Recorder recorder;
  Dispatcher dispatcher(&starting, FastOptions("a"));
  dispatcher.Add(
      Sub("test/early", {v1::CONTACT_CREATED}, Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();
  const int64_t id = Append(v1::CONTACT_CREATED, 1);
  ASSERT_TRUE(recorder.AwaitDelivered(id));
  dispatcher.Stop();
}

TEST_F(DispatcherTest, RegisterRejectsBadSubscriptions) {
  Dispatcher empty_types(db_.get(), FastOptions("a"));
  empty_types.Add(
      Sub("test/none", {}, [](const Event&) { return absl::OkStatus(); }));
  EXPECT_THAT(empty_types.Register(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Dispatcher twice(db_.get(), FastOptions("a"));
  for (int i = 0; i < 2; ++i) {
    twice.Add(Sub("test/twice", {v1::CONTACT_CREATED},
                  [](const Event&) { return absl::OkStatus(); }));
  }
  EXPECT_THAT(twice.Register(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

TEST_F(DispatcherTest, TwoReplicasDeliverEachEventExactlyOnce) {
  constexpr int kEvents = 500;
  Recorder recorder;
  std::unique_ptr<storage::Database> db_b = NewDatabase();
  Dispatcher a(db_.get(), FastOptions("replica-a"));
  Dispatcher b(db_b.get(), FastOptions("replica-b"));
  a.Add(Sub("test/shared", {v1::CONTACT_UPDATED}, Recording(&recorder)));
  b.Add(Sub("test/shared", {v1::CONTACT_UPDATED}, Recording(&recorder)));
  ASSERT_OK(a.Register());
  ASSERT_OK(b.Register());
  a.Start();
  b.Start();

  // Committed while both replicas poll.
  std::vector<int64_t> ids;
  for (int i = 0; i < kEvents; i += 10) {
    std::vector<Event> events;
    for (int j = i; j < i + 10; ++j) {
      events.push_back(MakeEvent(v1::CONTACT_UPDATED, 1 + j % 7));
    }
    for (int64_t id : AppendAll(events)) ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), static_cast<size_t>(kEvents));
  ASSERT_TRUE(recorder.AwaitDistinct(kEvents));
  ASSERT_TRUE(Eventually([&] { return PendingRows() == 0; }));
  a.Stop();
  b.Stop();

  const auto delivered = recorder.delivered();
  EXPECT_EQ(delivered.size(), static_cast<size_t>(kEvents));
  for (int64_t id : ids) EXPECT_EQ(delivered.at(id), 1) << "event " << id;
  for (const auto& [contact, seq] : recorder.PerContact()) {
    EXPECT_TRUE(StrictlyIncreasing(seq)) << "contact " << contact;
  }
  EXPECT_EQ(a.GetStats().delivered + b.GetStats().delivered, kEvents);
}

TEST_F(DispatcherTest, ReplicaStoppedMidStreamLosesNothing) {
  constexpr int kEvents = 300;
  Recorder recorder;
  // A slow handler, so that the stream is surely unfinished when A stops.
  auto slow = [&](const Event& event) {
    absl::SleepFor(absl::Milliseconds(2));
    recorder.Record(event, true);
    return absl::OkStatus();
  };
  auto a = std::make_unique<Dispatcher>(db_.get(), FastOptions("replica-a"));
  a->Add(Sub("test/resume", {v1::CONTACT_UPDATED}, slow));
  ASSERT_OK(a->Register());
  std::vector<int64_t> ids;
  for (int i = 0; i < kEvents; i += 50) {
    std::vector<Event> events;
    for (int j = i; j < i + 50; ++j) {
      events.push_back(MakeEvent(v1::CONTACT_UPDATED, 1 + j % 5));
    }
    for (int64_t id : AppendAll(events)) ids.push_back(id);
  }
  a->Start();
  ASSERT_TRUE(recorder.AwaitDistinct(100));
  a->Stop();
  const size_t by_a = recorder.delivered().size();
  ASSERT_LT(by_a, static_cast<size_t>(kEvents)) << "stopped too late";
  a.reset();
  // As if A had crashed holding the lease: B waits for it to expire.
  ASSERT_OK(test_db_->Execute(
      "UPDATE outbox_subscriptions SET lease_owner = 'crashed', "
      "lease_until = NOW(6) + INTERVAL 500000 MICROSECOND"));

  std::unique_ptr<storage::Database> db_b = NewDatabase();
  Dispatcher b(db_b.get(), FastOptions("replica-b"));
  b.Add(Sub("test/resume", {v1::CONTACT_UPDATED}, slow));
  ASSERT_OK(b.Register());
  b.Start();
  ASSERT_TRUE(recorder.AwaitDistinct(kEvents));
  ASSERT_TRUE(Eventually([&] { return PendingRows() == 0; }));
  b.Stop();

  EXPECT_EQ(b.GetStats().delivered, static_cast<int64_t>(kEvents - by_a));
  const auto delivered = recorder.delivered();
  for (int64_t id : ids) EXPECT_EQ(delivered.at(id), 1) << "event " << id;
  for (const auto& [contact, seq] : recorder.PerContact()) {
    EXPECT_TRUE(StrictlyIncreasing(seq)) << "contact " << contact;
  }
}

TEST_F(DispatcherTest, KeepsDeliveringAfterConnectionsAreKilled) {
  Recorder recorder;
  Dispatcher dispatcher(db_.get(), FastOptions("a"));
  dispatcher.Add(
      Sub("test/killed", {v1::CONTACT_UPDATED}, Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();
  std::vector<int64_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(Append(v1::CONTACT_UPDATED, 1));
  ASSERT_TRUE(recorder.AwaitDistinct(20));

  // Like a database restart, for this database's sessions (not ours).
  auto victims = test_db_->QueryInt(absl::StrCat(
      "SELECT COUNT(*) FROM information_schema.processlist WHERE db = '",
      test_db_->name(), "' AND id <> CONNECTION_ID()"));
  ASSERT_OK(victims);
  for (int round = 0; round < 20; ++round) {
    auto id = test_db_->QueryInt(absl::StrCat(
        "SELECT MIN(id) FROM information_schema.processlist WHERE db = '",
        test_db_->name(), "' AND id <> CONNECTION_ID()"));
    if (!id.ok()) break;  // NULL: none left
    (void)test_db_->Execute(absl::StrCat("KILL CONNECTION ", *id));
  }

  // Our own pooled connections were killed too: the first use of each
  // reports UNAVAILABLE (nothing committed) and the pool reconnects.
  for (int i = 0; i < 20; ++i) {
    absl::Status status;
    int64_t id = -1;
    for (int attempt = 0; attempt < 10; ++attempt) {
      status = db_->Transaction("appending", [&](storage::Connection& conn) {
        id = storage::AppendEvent(conn, MakeEvent(v1::CONTACT_UPDATED, 1),
                                  absl::Now());
        return absl::OkStatus();
      });
      if (status.code() != absl::StatusCode::kUnavailable) break;
    }
    ASSERT_OK(status);
    ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), 40u);
  ASSERT_TRUE(recorder.AwaitDistinct(40));
  ASSERT_TRUE(Eventually([&] { return PendingRows() == 0; }));
  dispatcher.Stop();
  // At least once, and in order (a kill between handler and acknowledgement
  // may repeat one).
  for (int64_t id : ids) EXPECT_GE(recorder.delivered().at(id), 1);
  std::vector<int64_t> first_seen;
  for (const auto& c : recorder.calls()) {
    if (first_seen.empty() || c.event.id() > first_seen.back()) {
      first_seen.push_back(c.event.id());
    } else {
      EXPECT_EQ(c.event.id(), first_seen.back()) << "out of order";
    }
  }
}

TEST_F(DispatcherTest, BinaryPayloadRoundTrips) {
  Recorder recorder;
  Dispatcher dispatcher(db_.get(), FastOptions("a"));
  dispatcher.Add(
      Sub("test/binary", {v1::CONTACT_UPDATED}, Recording(&recorder)));
  ASSERT_OK(dispatcher.Register());
  dispatcher.Start();

  Event event = MakeEvent(v1::CONTACT_UPDATED, 5);
  event.mutable_contact()->set_display_name(std::string("a\0b\xc3\xa9", 5));
  // An unknown length-delimited field (number 1000) with arbitrary bytes:
  // protobuf keeps it, so the stored payload holds NUL and 0xFF bytes.
  const std::string raw("\0\xff\x00\xfe\x80", 5);
  std::string payload = event.SerializeAsString();
  payload += std::string("\xc2\x3e", 2);  // tag (1000 << 3) | 2
  payload += static_cast<char>(raw.size());
  payload += raw;
  Event with_unknown;
  ASSERT_TRUE(with_unknown.ParseFromString(payload));
  const int64_t id = AppendAll({with_unknown})[0];
  EXPECT_EQ(
      Query(absl::StrCat("SELECT LOCATE(UNHEX('00FF00FE80'), payload) > 0 FROM "
                         "outbox_events WHERE id = ",
                         id)),
      1);

  ASSERT_TRUE(recorder.AwaitDelivered(id));
  dispatcher.Stop();
  const Event got = recorder.calls().at(0).event;
  EXPECT_EQ(got.id(), id);
  EXPECT_EQ(got.contact().display_name(), std::string("a\0b\xc3\xa9", 5));
  EXPECT_NE(got.SerializeAsString().find(raw), std::string::npos);
}

}  // namespace
}  // namespace rapport::events
