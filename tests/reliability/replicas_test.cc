// Replicas: three rapportd processes on one database behind one client
// channel that round-robins over their addresses. Concurrent
// read-modify-write updates of one contact, each guarded by the etag it
// read, lose no update; the calls reach all three replicas; and background
// work (outbox delivery to the test.events plugin loaded in all three)
// happens once per event.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/event.pb.h"
#include "tests/reliability/reliability_util.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

constexpr int kReplicas = 3;
constexpr int kThreads = 6;
constexpr int kUpdatesPerThread = 15;
constexpr int kMaxTriesPerUpdate = 200;
constexpr char kCounter[] = "counter";
const absl::Duration kCallDeadline = absl::Seconds(10);
const absl::Duration kDrainDeadline = absl::Seconds(60);

int CountSubstrings(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    empty_plugin_dir_ = absl::StrCat(::testing::TempDir(), "replicas_",
                                     getpid(), "_", db_->name(), "_plugins");
    ASSERT_EQ(mkdir(empty_plugin_dir_.c_str(), 0755), 0) << empty_plugin_dir_;
    // Start one replica first so that migrations run once, then the others.
    for (int i = 0; i < kReplicas; ++i) {
      auto replica = RapportdProcess::Start(
          RAPPORTD_PATH, *db_,
          {{"RAPPORT_PLUGIN_DIR", empty_plugin_dir_},
           {"RAPPORT_PLUGIN_PATHS",
            absl::StrCat(RAPPORT_TEST_PLUGIN_DIR, "/libtest_events.so")},
           {"RAPPORT_REQUIRED_PLUGINS", "test.events"},
           {"RAPPORT_OUTBOX_LEASE", "2s"},
           // Round robin can put all 6 client threads on one replica at
           // once; more serving threads than that keeps this test about
           // etags, not capacity (RESOURCE_EXHAUSTED is retried anyway).
           {"RAPPORT_THREADS", "8"}});
      ASSERT_NE(replica, nullptr);
      replicas_.push_back(std::move(replica));
    }
    std::string target = "ipv4:";
    for (int i = 0; i < kReplicas; ++i) {
      absl::StrAppend(&target, i == 0 ? "" : ",",
                      "127.0.0.1:", replicas_[i]->port());
    }
    grpc::ChannelArguments args;
    args.SetServiceConfigJSON(
        R"({"loadBalancingConfig":[{"round_robin":{}}]})");
    channel_ = CreateKeyedChannel(target, kTestAdminKey, nullptr, args);
  }

  void TearDown() override {
    replicas_.clear();
    if (!empty_plugin_dir_.empty()) rmdir(empty_plugin_dir_.c_str());
  }

  int64_t Query(const std::string& sql) {
    absl::StatusOr<int64_t> n = db_->QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status() << "\n" << sql;
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<TestDatabase> db_;
  std::string empty_plugin_dir_;
  std::vector<std::unique_ptr<RapportdProcess>> replicas_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ReplicasTest, EtagUpdatesLoseNothingAndEventsAreHandledOnce) {
  auto contacts = v1::ContactService::NewStub(channel_);
  v1::Contact contact;
  {
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name("Shared");
    request.mutable_contact()->set_family_name("Counter");
    (*request.mutable_contact()->mutable_attributes())[kCounter] = "0";
    ASSERT_OK(contacts->CreateContact(&context, request, &contact));
  }

  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> unexpected{0};
  std::atomic<int> exhausted{0};  // RESOURCE_EXHAUSTED, retried
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto stub = v1::ContactService::NewStub(channel_);
      for (int u = 0; u < kUpdatesPerThread; ++u) {
        for (int attempt = 0; attempt < kMaxTriesPerUpdate; ++attempt) {
          v1::Contact current;
          grpc::ClientContext get_context;
          SetDeadline(get_context, kCallDeadline);
          v1::GetContactRequest get;
          get.set_id(contact.id());
          grpc::Status status = stub->GetContact(&get_context, get, &current);
          if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
            // Documented as "retry"; a short back-off (the loop is bounded).
            ++exhausted;
            absl::SleepFor(absl::Milliseconds(10));
            continue;
          }
          if (!status.ok()) {
            ++unexpected;
            ADD_FAILURE() << "GetContact: " << status.error_code() << " "
                          << status.error_message();
            return;
          }
          int64_t value = 0;
          (void)absl::SimpleAtoi(current.attributes().at(kCounter), &value);
          v1::UpdateContactRequest update;
          update.mutable_contact()->set_id(contact.id());
          update.mutable_contact()->set_etag(current.etag());
          (*update.mutable_contact()->mutable_attributes())[kCounter] =
              absl::StrCat(value + 1);
          update.mutable_update_mask()->add_paths(
              absl::StrCat("attributes.", kCounter));
          grpc::ClientContext update_context;
          SetDeadline(update_context, kCallDeadline);
          v1::Contact updated;
          status = stub->UpdateContact(&update_context, update, &updated);
          if (status.ok()) {
            ++successes;
            break;
          }
          if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
            // Documented as "retry"; a short back-off (the loop is bounded).
            ++exhausted;
            absl::SleepFor(absl::Milliseconds(10));
            continue;
          }
          if (status.error_code() == grpc::StatusCode::ABORTED ||
              status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
            ++conflicts;
            continue;
          }
          ++unexpected;
          ADD_FAILURE() << "UpdateContact: " << status.error_code() << " "
                        << status.error_message();
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);

  v1::Contact final_contact;
  {
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::GetContactRequest get;
    get.set_id(contact.id());
    ASSERT_OK(contacts->GetContact(&context, get, &final_contact));
  }
  EXPECT_EQ(final_contact.attributes().at(kCounter),
            absl::StrCat(successes.load()))
      << "lost update: " << successes.load() << " updates acknowledged";
  EXPECT_EQ(successes.load(), kThreads * kUpdatesPerThread);

  // Every replica served calls (the access log: one JSON line per call).
  std::vector<int> served;
  for (const auto& replica : replicas_) {
    served.push_back(
        CountSubstrings(replica->Stderr(), "/rapport.v1.ContactService/"));
    EXPECT_GT(served.back(), 0) << "a replica got no call";
  }

  // Background work once: every outbox event recorded exactly once.
  const std::string subscriber = "test.events/recorder";
  const int64_t events = Query("SELECT COUNT(*) FROM outbox_events");
  EXPECT_GE(events, 1 + successes.load());
  const absl::Time deadline = absl::Now() + kDrainDeadline;
  while (absl::Now() < deadline &&
         (Query("SELECT COUNT(*) FROM test_events_seen") < events ||
          Query(absl::StrCat(
              "SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = '",
              subscriber, "'")) > 0)) {
    absl::SleepFor(absl::Milliseconds(100));  // polling the plugin's table
  }
  EXPECT_EQ(Query("SELECT COUNT(*) FROM test_events_seen"), events);
  EXPECT_EQ(
      Query("SELECT COUNT(*) FROM test_events_seen WHERE deliveries <> 1"), 0);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM outbox_events e WHERE NOT EXISTS "
                  "(SELECT 1 FROM test_events_seen s WHERE s.event_id = e.id)"),
            0);

  RecordProperty("updates_acknowledged", successes.load());
  RecordProperty("etag_conflicts", conflicts.load());
  RecordProperty("resource_exhausted_retried", exhausted.load());
  RecordProperty("calls_per_replica",
                 absl::StrCat(served[0], ",", served[1], ",", served[2]));
  RecordProperty("events", static_cast<int>(events));
  std::cout << "replicas: updates=" << successes.load()
            << " conflicts=" << conflicts.load()
            << " resource_exhausted=" << exhausted.load()
            << " calls per replica=" << served[0] << "," << served[1] << ","
            << served[2] << " events=" << events << "\n";
}

}  // namespace
}  // namespace rapport::testing
