// Plugin faults: a test.events handler that throws on every event has its
// deliveries retried and then parked (max_attempts 3, backoff 50 ms), which
// admins see in AdminService.ListParkedEvents and can re-queue with
// RetryParkedEvent; a handler that sleeps 2 s per event keeps the dispatcher
// busy while the API keeps answering within its normal latency. In both
// cases ListPlugins shows the plugin LOADED. (A plugin whose Start throws is
// covered by tests/plugins/plugin_host_test.cc.)
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "tests/reliability/reliability_util.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

constexpr char kSubscriber[] = "test.events/recorder";
const absl::Duration kCallDeadline = absl::Seconds(10);
const absl::Duration kStateDeadline = absl::Seconds(60);
// Generous: the test machine may be heavily loaded.
const absl::Duration kP99Bound = absl::Milliseconds(500);

class PluginFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    base_ = absl::StrCat(::testing::TempDir(), "plugin_faults_", getpid(), "_",
                         db_->name());
    empty_plugin_dir_ = base_ + "_plugins";
    ASSERT_EQ(mkdir(empty_plugin_dir_.c_str(), 0755), 0) << empty_plugin_dir_;
  }

  void TearDown() override {
    server_.reset();
    if (!config_.empty()) unlink(config_.c_str());
    if (!empty_plugin_dir_.empty()) rmdir(empty_plugin_dir_.c_str());
  }

  // rapportd with test.events configured by `plugin_yaml` (lines under
  // plugins.config.test.events, each indented by six spaces).
  void StartRapportd(const std::string& plugin_yaml) {
    config_ = base_ + ".yaml";
    std::ofstream(config_) << "plugins:\n  config:\n    test.events:\n"
                           << plugin_yaml;
    server_ = RapportdProcess::Start(
        RAPPORTD_PATH, *db_,
        {{"RAPPORT_PLUGIN_DIR", empty_plugin_dir_},
         {"RAPPORT_PLUGIN_PATHS",
          absl::StrCat(RAPPORT_TEST_PLUGIN_DIR, "/libtest_events.so")},
         {"RAPPORT_REQUIRED_PLUGINS", "test.events"},
         {"RAPPORT_CONFIG", config_},
         {"RAPPORT_OUTBOX_MAX_ATTEMPTS", "3"},
         {"RAPPORT_OUTBOX_INITIAL_BACKOFF", "50ms"}});
  }

  std::string CreateContact(const std::string& given) {
    auto contacts = v1::ContactService::NewStub(server_->channel());
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name(given);
    request.mutable_contact()->set_family_name("Faults");
    v1::Contact created;
    grpc::Status status = contacts->CreateContact(&context, request, &created);
    EXPECT_OK(status);
    return created.id();
  }

  std::vector<v1::ParkedEvent> Parked() {
    auto admin = v1::AdminService::NewStub(server_->channel());
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::ListParkedEventsRequest request;
    request.set_subscriber(kSubscriber);
    request.set_page_size(100);
    v1::ListParkedEventsResponse response;
    grpc::Status status = admin->ListParkedEvents(&context, request, &response);
    EXPECT_OK(status);
    return {response.parked_events().begin(), response.parked_events().end()};
  }

  void ExpectPluginLoaded() {
    auto admin = v1::AdminService::NewStub(server_->channel());
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::ListPluginsResponse response;
    ASSERT_OK(
        admin->ListPlugins(&context, v1::ListPluginsRequest(), &response));
    bool found = false;
    for (const v1::Plugin& plugin : response.plugins()) {
      if (plugin.name() != "test.events") continue;
      found = true;
      EXPECT_EQ(plugin.state(), v1::Plugin::LOADED) << plugin.reason();
    }
    EXPECT_TRUE(found) << "test.events missing from ListPlugins";
  }

  std::unique_ptr<TestDatabase> db_;
  std::string base_;
  std::string empty_plugin_dir_;
  std::string config_;
  std::unique_ptr<RapportdProcess> server_;
};

TEST_F(PluginFaultsTest, ThrowingHandlerIsRetriedThenParkedAndCanBeRequeued) {
  StartRapportd("      handler_mode: throw\n");
  ASSERT_NE(server_, nullptr);
  const std::string contact_id = CreateContact("Thrown");
  ASSERT_FALSE(contact_id.empty());

  std::vector<v1::ParkedEvent> parked;
  const absl::Time deadline = absl::Now() + kStateDeadline;
  while (absl::Now() < deadline) {
    parked = Parked();
    if (!parked.empty()) break;
    absl::SleepFor(absl::Milliseconds(100));  // polling the admin API
  }
  ASSERT_EQ(parked.size(), 1u) << server_->Stderr();
  EXPECT_EQ(parked[0].subscriber(), kSubscriber);
  EXPECT_EQ(parked[0].contact_id(), contact_id);
  EXPECT_EQ(parked[0].attempts(), 3);
  EXPECT_FALSE(parked[0].last_error().empty());
  ExpectPluginLoaded();
  // The server is still serving.
  EXPECT_FALSE(CreateContact("StillServing").empty());

  // RetryParkedEvent re-queues it: it is attempted again (and, the handler
  // still throwing, parked again after three more attempts).
  {
    auto admin = v1::AdminService::NewStub(server_->channel());
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::RetryParkedEventRequest request;
    request.set_subscriber(kSubscriber);
    request.set_event_id(parked[0].event_id());
    v1::RetryParkedEventResponse response;
    ASSERT_OK(admin->RetryParkedEvent(&context, request, &response));
  }
  bool requeued_then_parked = false;
  const absl::Time again = absl::Now() + kStateDeadline;
  while (absl::Now() < again) {
    for (const v1::ParkedEvent& p : Parked()) {
      if (p.event_id() == parked[0].event_id() &&
          p.park_time().seconds() * 1000000000LL + p.park_time().nanos() >
              parked[0].park_time().seconds() * 1000000000LL +
                  parked[0].park_time().nanos()) {
        requeued_then_parked = true;
      }
    }
    if (requeued_then_parked) break;
    absl::SleepFor(absl::Milliseconds(100));  // polling the admin API
  }
  EXPECT_TRUE(requeued_then_parked)
      << "the re-queued event was not attempted and parked again";
  // Two events by now (Thrown, StillServing), both parked in the end.
  const absl::Time both = absl::Now() + kStateDeadline;
  while (Parked().size() < 2 && absl::Now() < both) {
    absl::SleepFor(absl::Milliseconds(100));  // polling the admin API
  }
  EXPECT_EQ(Parked().size(), 2u);
  ExpectPluginLoaded();
}

TEST_F(PluginFaultsTest, SlowHandlerDoesNotSlowTheApi) {
  StartRapportd("      handler_mode: slow\n      slow_ms: 2000\n");
  ASSERT_NE(server_, nullptr);
  // Ten events: twenty seconds of handler work queued.
  std::string contact_id;
  for (int i = 0; i < 10; ++i) contact_id = CreateContact(absl::StrCat("S", i));
  ASSERT_FALSE(contact_id.empty());
  // Wait until the handler is busy (an attempt is under way: nothing
  // recorded yet while deliveries are pending).
  const absl::Time busy = absl::Now() + kStateDeadline;
  absl::StatusOr<int64_t> pending = 0;
  while (absl::Now() < busy) {
    pending = db_->QueryInt(absl::StrCat(
        "SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = '",
        kSubscriber, "'"));
    if (pending.ok() && *pending > 0) break;
    absl::SleepFor(absl::Milliseconds(50));  // polling the outbox
  }
  ASSERT_OK(pending);

  auto contacts = v1::ContactService::NewStub(server_->channel());
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext context;
    SetDeadline(context, kCallDeadline);
    v1::GetContactRequest request;
    request.set_id(contact_id);
    v1::Contact contact;
    const absl::Time start = absl::Now();
    ASSERT_OK(contacts->GetContact(&context, request, &contact));
    latencies.push_back(absl::Now() - start);
  }
  // The handler was still busy at the end (the queue takes ~20 s).
  absl::StatusOr<int64_t> still = db_->QueryInt(absl::StrCat(
      "SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = '",
      kSubscriber, "'"));
  ASSERT_OK(still);
  EXPECT_GT(*still, 0) << "the slow handler finished before the measurement";
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration p50 = latencies[latencies.size() / 2];
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  EXPECT_LT(p99, kP99Bound);
  ExpectPluginLoaded();
  RecordProperty("get_p50_ms", absl::StrCat(absl::ToDoubleMilliseconds(p50)));
  RecordProperty("get_p99_ms", absl::StrCat(absl::ToDoubleMilliseconds(p99)));
  RecordProperty("pending_deliveries_after", static_cast<int>(*still));
  std::cout << "slow handler: GetContact p50=" << p50 << " p99=" << p99
            << " pending deliveries after=" << *still << "\n";
}

}  // namespace
}  // namespace rapport::testing
