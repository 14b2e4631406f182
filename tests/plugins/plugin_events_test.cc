// Events from the transactional outbox reach a real plugin (test.events,
// which records each event in its own table): every committed change once,
// in order per contact; nothing for rolled-back work; and with two server
// replicas on one database, each event is handled once in total.
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/test_auth.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

std::string EventsPlugin() {
  return absl::StrCat(RAPPORT_TEST_PLUGIN_DIR, "/libtest_events.so");
}

class PluginEventsTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    config().plugin_paths = {EventsPlugin()};
    config().required_plugins = {"test.events"};
    StartServer();
  }

  int64_t Count(const std::string& where) {
    auto n = db().QueryInt(
        absl::StrCat("SELECT COUNT(*) FROM test_events_seen WHERE ", where));
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // Polls until the plugin recorded `expected` events (or 30 s pass).
  void WaitForEvents(int64_t expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline && Count("1=1") < expected) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_EQ(Count("1=1"), expected);
  }

  v1::Interaction Log(const std::string& contact_id) {
    v1::LogInteractionRequest request;
    request.mutable_interaction()->set_contact_id(contact_id);
    request.mutable_interaction()->set_type(v1::NOTE);
    v1::Interaction out;
    grpc::Status s =
        interactions().LogInteraction(Context().get(), request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
};

TEST_F(PluginEventsTest, EveryChangeIsDeliveredOnceInOrderPerContact) {
  v1::Contact a = MustCreate(MakeContact("Ada", "Lovelace", "ada@example.com"));
  v1::Contact b = MustCreate(MakeContact("Alan", "Turing", "alan@example.com"));
  Log(a.id());
  Log(b.id());
  Log(a.id());
  v1::UpdateContactRequest update;
  *update.mutable_contact() = a;
  update.mutable_contact()->set_company("Analytical Engines");
  update.mutable_update_mask()->add_paths("company");
  v1::Contact updated;
  ASSERT_TRUE(contacts().UpdateContact(Context().get(), update, &updated).ok());
  v1::MergeContactsRequest merge;
  merge.set_primary_id(a.id());
  merge.add_duplicate_ids(b.id());
  v1::Contact merged;
  ASSERT_TRUE(contacts().MergeContacts(Context().get(), merge, &merged).ok());

  // 2 created, 3 interactions, 1 update, 1 merge.
  WaitForEvents(7);
  EXPECT_EQ(Count("deliveries <> 1"), 0);
  EXPECT_EQ(Count(absl::StrCat("type = ", v1::CONTACT_CREATED)), 2);
  EXPECT_EQ(Count(absl::StrCat("type = ", v1::INTERACTION_LOGGED)), 3);
  EXPECT_EQ(Count(absl::StrCat("type = ", v1::CONTACT_UPDATED)), 1);
  EXPECT_EQ(Count(absl::StrCat("type = ", v1::CONTACT_MERGED)), 1);
  // Per contact, the plugin handled events in event order.
  EXPECT_EQ(*db().QueryInt(
                "SELECT COUNT(*) FROM test_events_seen x JOIN test_events_seen "
                "y ON x.contact_id = y.contact_id AND x.event_id < y.event_id "
                "AND x.handled_seq > y.handled_seq"),
            0);
}

TEST_F(PluginEventsTest, FailedWritesPublishNothing) {
  v1::Contact a = MustCreate(MakeContact("Ada", "Lovelace", "ada@example.com"));
  // Same e-mail: ALREADY_EXISTS, rolled back, so no event.
  v1::CreateContactRequest dup;
  *dup.mutable_contact() = MakeContact("Ada", "Again", "ada@example.com");
  v1::Contact ignored;
  EXPECT_EQ(
      contacts().CreateContact(Context().get(), dup, &ignored).error_code(),
      grpc::StatusCode::ALREADY_EXISTS);
  WaitForEvents(1);
  EXPECT_EQ(*db().QueryInt("SELECT COUNT(*) FROM outbox_events"), 1);
}

TEST_F(PluginEventsTest, ErasureForgetsEarlierEventsAndPublishesErased) {
  v1::Contact a = MustCreate(MakeContact("Ada", "Lovelace", "ada@example.com"));
  Log(a.id());
  WaitForEvents(2);
  v1::EraseContactRequest erase;
  erase.set_id(a.id());
  v1::EraseContactResponse erased;
  ASSERT_TRUE(contacts().EraseContact(Context().get(), erase, &erased).ok());
  WaitForEvents(3);
  EXPECT_EQ(Count(absl::StrCat("type = ", v1::CONTACT_ERASED)), 1);
  // Only the erased event (no personal data) is left in the outbox.
  EXPECT_EQ(*db().QueryInt(absl::StrCat(
                "SELECT COUNT(*) FROM outbox_events WHERE contact_id = ",
                a.id(), " AND type <> ", v1::CONTACT_ERASED)),
            0);
}

TEST_F(PluginEventsTest, TwoReplicasHandleEachEventOnce) {
  // A second server on the same database, with the same plugin.
  config::Config second = config();
  auto replica = app::RapportServer::Start(second);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE((*replica)->WaitUntilServing(absl::Seconds(30)));
  auto channel2 = testing::CreateKeyedChannel(
      absl::StrCat("127.0.0.1:", (*replica)->port()));
  auto contacts2 = v1::ContactService::NewStub(channel2);

  constexpr int kPerReplica = 100;
  auto writer = [&](v1::ContactService::Stub* stub, const std::string& tag) {
    for (int i = 0; i < kPerReplica; ++i) {
      v1::CreateContactRequest request;
      request.mutable_contact()->set_given_name(absl::StrCat(tag, i));
      v1::Contact out;
      grpc::Status s = stub->CreateContact(Context().get(), request, &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
  };
  std::thread t1(writer, &contacts(), "one");
  std::thread t2(writer, contacts2.get(), "two");
  t1.join();
  t2.join();
  WaitForEvents(2 * kPerReplica);
  EXPECT_EQ(Count("deliveries <> 1"), 0);
  (*replica)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace rapport::testing
