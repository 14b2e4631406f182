// Durability across restarts: every acknowledged write survives a server
// restart, retries with the same request_id never duplicate, and a graceful
// shutdown lets in-flight calls finish.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/test_auth.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::google::protobuf::util::MessageDifferencer;

constexpr int64_t kJan2024 = 1704067200;

std::unique_ptr<grpc::ClientContext> ContextWithin(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// Equal as messages (map fields compare as maps, not by wire order).
::testing::AssertionResult SameMessage(const google::protobuf::Message& a,
                                       const google::protobuf::Message& b,
                                       MessageDifferencer* differencer) {
  std::string diff;
  differencer->ReportDifferencesToString(&diff);
  if (differencer->Compare(a, b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << diff;
}

class RestartTest : public ServerFixture {};

TEST_F(RestartTest, AcknowledgedWritesSurviveRestart) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::vector<v1::Contact>> created_contacts(kThreads);
  std::vector<std::vector<v1::Interaction>> logged(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kPerThread; ++n) {
        v1::CreateContactRequest create;
        *create.mutable_contact() =
            MakeContact(absl::StrCat("Writer", t), absl::StrCat("Row", n),
                        absl::StrCat("w", t, ".r", n, "@example.com"));
        create.mutable_contact()->add_tags("restart");
        (*create.mutable_contact()->mutable_attributes())["n"] =
            absl::StrCat(n);
        v1::Contact contact;
        grpc::Status status =
            contacts().CreateContact(Context().get(), create, &contact);
        if (!status.ok()) {
          ADD_FAILURE() << "CreateContact: " << status.error_message();
          continue;
        }
        created_contacts[t].push_back(contact);

        v1::LogInteractionRequest log;
        v1::Interaction* in = log.mutable_interaction();
        in->set_contact_id(contact.id());
        in->set_type(v1::PURCHASE);
        in->mutable_amount()->set_currency_code("EUR");
        in->mutable_amount()->set_amount_minor(100 * t + n + 1);
        in->set_subject(absl::StrCat("order ", t, "-", n));
        in->mutable_occur_time()->set_seconds(kJan2024 + 60 * n);
        (*in->mutable_attributes())["thread"] = absl::StrCat(t);
        v1::Interaction interaction;
        status =
            interactions().LogInteraction(Context().get(), log, &interaction);
        if (!status.ok()) {
          ADD_FAILURE() << "LogInteraction: " << status.error_message();
          continue;
        }
        logged[t].push_back(interaction);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(HasFailure());

  StopServer();
  StartServer();

  MessageDifferencer contact_diff;
  // Logging an interaction moves it (checked below); nothing else changes.
  contact_diff.IgnoreField(
      v1::Contact::descriptor()->FindFieldByName("last_interaction_time"));
  MessageDifferencer interaction_diff;
  int contacts_checked = 0;
  int interactions_checked = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (size_t n = 0; n < created_contacts[t].size(); ++n) {
      const v1::Contact& created = created_contacts[t][n];
      v1::GetContactRequest get;
      get.set_id(created.id());
      v1::Contact got;
      ASSERT_OK(contacts().GetContact(Context().get(), get, &got));
      EXPECT_TRUE(SameMessage(got, created, &contact_diff));
      EXPECT_EQ(got.last_interaction_time().seconds(),
                logged[t][n].occur_time().seconds());
      ++contacts_checked;
    }
    for (const v1::Interaction& acked : logged[t]) {
      v1::GetInteractionRequest get;
      get.set_id(acked.id());
      v1::Interaction got;
      ASSERT_OK(interactions().GetInteraction(Context().get(), get, &got));
      EXPECT_TRUE(SameMessage(got, acked, &interaction_diff));
      ++interactions_checked;
    }
  }
  EXPECT_EQ(contacts_checked, kThreads * kPerThread);
  EXPECT_EQ(interactions_checked, kThreads * kPerThread);
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"),
              IsOkAndHolds(kThreads * kPerThread));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(kThreads * kPerThread));
}

// Counts acknowledged writes so the main thread can wait for progress.
class Progress {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++acked_;
  }
  // The writer gave up: waiters stop waiting.
  void Fail() {
    absl::MutexLock lock(&mu_);
    failed_ = true;
  }
  int acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  // Waits until at least `n` writes were acknowledged; false on timeout or
  // once the writer failed.
  bool AwaitAtLeast(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return acked_ >= n || failed_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
    return acked_ >= n;
  }

 private:
  absl::Mutex mu_;
  int acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

// A client that retries UNAVAILABLE with the same request_id on a new
// channel, as the shipped retry policy does. It also retries CANCELLED, which
// a client that cancelled nothing sees when the server went away mid-call or
// (gRPC 1.51) when its call reached the server just as it began shutting
// down: safe only because every write carries a request_id.
class RetryingWriter {
 public:
  explicit RetryingWriter(std::string address) : address_(std::move(address)) {
    Reconnect();
  }

  // Runs `call` until it returns a code it does not retry, or 30 s pass.
  template <typename Call>
  grpc::Status Retry(Call call) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    absl::Duration backoff = absl::Milliseconds(10);
    while (true) {
      auto context = ContextWithin(absl::Seconds(10));
      // Wait for the restarted server to accept connections rather than fail
      // at once while it is down.
      context->set_wait_for_ready(true);
      grpc::Status status = call(context.get());
      const bool retryable =
          status.error_code() == grpc::StatusCode::UNAVAILABLE ||
          status.error_code() == grpc::StatusCode::CANCELLED;
      if (!retryable || absl::Now() > give_up) {
        return status;
      }
      ++retries_;
      Reconnect();
      absl::SleepFor(backoff);  // client back-off, as a real client does
      backoff = std::min(backoff * 2, absl::Milliseconds(200));
    }
  }

  v1::ContactService::Stub& contacts() { return *contacts_; }
  v1::InteractionService::Stub& interactions() { return *interactions_; }
  int retries() const { return retries_; }

 private:
  void Reconnect() {
    channel_ = testing::CreateKeyedChannel(address_);
    contacts_ = v1::ContactService::NewStub(channel_);
    interactions_ = v1::InteractionService::NewStub(channel_);
  }

  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContactService::Stub> contacts_;
  std::unique_ptr<v1::InteractionService::Stub> interactions_;
  int retries_ = 0;
};

class RestartDuringLoadTest : public ServerFixture {
 protected:
  // A writer creates contacts and logs interactions with request_ids while
  // the server restarts with `grace`; then every acknowledged write must be
  // stored exactly once.
  void WriteThroughRestart(absl::Duration grace);
};

void RestartDuringLoadTest::WriteThroughRestart(absl::Duration grace) {
  // Restart on the same port so the writer's address stays valid.
  config().listen = address();

  struct Acked {
    std::string contact_id;
    std::string interaction_id;
  };
  std::map<int, Acked> acked;  // by sequence number; written by the writer
  Progress progress;
  std::atomic<bool> stop{false};
  int writer_retries = 0;
  std::thread writer([&] {
    RetryingWriter client(address());
    for (int seq = 0; !stop.load(); ++seq) {
      const std::string marker = absl::StrCat("Marker", seq);
      v1::CreateContactRequest create;
      *create.mutable_contact() = MakeContact(marker, "Restart", "");
      create.set_request_id(absl::StrCat("contact-", seq));
      v1::Contact contact;
      grpc::Status status = client.Retry([&](grpc::ClientContext* context) {
        return client.contacts().CreateContact(context, create, &contact);
      });
      if (!status.ok()) {
        ADD_FAILURE() << "CreateContact " << seq << ": "
                      << static_cast<int>(status.error_code()) << " "
                      << status.error_message();
        progress.Fail();
        return;
      }
      v1::LogInteractionRequest log;
      log.mutable_interaction()->set_contact_id(contact.id());
      log.mutable_interaction()->set_type(v1::NOTE);
      log.mutable_interaction()->set_subject(marker);
      log.set_request_id(absl::StrCat("interaction-", seq));
      v1::Interaction interaction;
      status = client.Retry([&](grpc::ClientContext* context) {
        return client.interactions().LogInteraction(context, log, &interaction);
      });
      if (!status.ok()) {
        ADD_FAILURE() << "LogInteraction " << seq << ": "
                      << static_cast<int>(status.error_code()) << " "
                      << status.error_message();
        progress.Fail();
        return;
      }
      acked[seq] = {contact.id(), interaction.id()};
      progress.Add();
    }
    writer_retries = client.retries();
  });

  const bool before = progress.AwaitAtLeast(20, absl::Seconds(30));
  if (before) {
    StopServer(grace);
    StartServer();
  }
  const int at_restart = progress.acked();
  const bool after = progress.AwaitAtLeast(at_restart + 20, absl::Seconds(30));
  stop.store(true);
  writer.join();
  ASSERT_TRUE(before) << "the writer made no progress before the restart";
  ASSERT_TRUE(after) << "the writer made no progress after the restart";
  ASSERT_FALSE(HasFailure());

  const int total = static_cast<int>(acked.size());
  ASSERT_EQ(total, progress.acked());
  for (const auto& [seq, ids] : acked) {
    const std::string marker = absl::StrCat("'Marker", seq, "'");
    EXPECT_THAT(db().QueryInt(absl::StrCat(
                    "SELECT COUNT(*) FROM contacts WHERE given_name = ", marker,
                    " AND id = ", ids.contact_id)),
                IsOkAndHolds(1))
        << "contact " << seq;
    EXPECT_THAT(
        db().QueryInt(absl::StrCat(
            "SELECT COUNT(*) FROM contacts WHERE given_name = ", marker)),
        IsOkAndHolds(1))
        << "contact " << seq;
    EXPECT_THAT(db().QueryInt(absl::StrCat(
                    "SELECT COUNT(*) FROM interactions WHERE subject = ",
                    marker, " AND id = ", ids.interaction_id)),
                IsOkAndHolds(1))
        << "interaction " << seq;
    EXPECT_THAT(
        db().QueryInt(absl::StrCat(
            "SELECT COUNT(*) FROM interactions WHERE subject = ", marker)),
        IsOkAndHolds(1))
        << "interaction " << seq;
  }
  // Nothing but acknowledged writes: every call the writer started ended OK.
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"),
              IsOkAndHolds(total));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(total));
  RecordProperty("writes", total);
  RecordProperty("retries", writer_retries);
}

// A rolling restart: in-flight calls finish, new ones get UNAVAILABLE until
// the new server is up.
TEST_F(RestartDuringLoadTest, GracefulRestartKeepsEveryWriteOnce) {
  WriteThroughRestart(absl::Seconds(5));
}

// A restart that cancels in-flight calls: a write may commit while its
// caller sees an error; the retry with its request_id must not duplicate it.
TEST_F(RestartDuringLoadTest, AbruptRestartKeepsEveryWriteOnce) {
  WriteThroughRestart(absl::ZeroDuration());
}

TEST_F(RestartTest, GracefulShutdownLetsInFlightImportFinish) {
  const std::string target = address();
  grpc::ClientContext import_context;
  import_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::ImportContactsResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::ImportContactsRequest>> stream =
      contacts().ImportContacts(&import_context, &response);
  v1::ImportContactsRequest batch;
  for (int n = 0; n < 10; ++n) {
    *batch.add_contacts() = MakeContact("Before", absl::StrCat("Row", n),
                                        absl::StrCat("before", n, "@ex.com"));
  }
  ASSERT_TRUE(stream->Write(batch));
  // Wait until the handler has stored the first batch: the call is in flight.
  const absl::Time stored_by = absl::Now() + absl::Seconds(10);
  while (db().QueryInt("SELECT COUNT(*) FROM contacts").value_or(0) < 10 &&
         absl::Now() < stored_by) {
  }
  ASSERT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(10));
  auto probe = testing::CreateKeyedChannel(target);
  auto probe_stub = v1::ContactService::NewStub(probe);

  std::thread stopper([this] { StopServer(absl::Seconds(5)); });
  // Wait until the shutdown has begun: new calls are refused.
  grpc::Status refused;
  const absl::Time deadline = absl::Now() + absl::Seconds(4);
  while (absl::Now() < deadline) {
    v1::GetContactRequest get;
    get.set_id("1");
    v1::Contact unused;
    refused = probe_stub->GetContact(ContextWithin(absl::Seconds(1)).get(), get,
                                     &unused);
    if (refused.error_code() == grpc::StatusCode::UNAVAILABLE) break;
  }
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::UNAVAILABLE));

  batch.Clear();
  for (int n = 0; n < 10; ++n) {
    *batch.add_contacts() = MakeContact("After", absl::StrCat("Row", n),
                                        absl::StrCat("after", n, "@ex.com"));
  }
  EXPECT_TRUE(stream->Write(batch));
  EXPECT_TRUE(stream->WritesDone());
  grpc::Status status = stream->Finish();
  stopper.join();
  EXPECT_OK(status);
  EXPECT_EQ(response.received_count(), 20);
  EXPECT_EQ(response.created_count(), 20);
  EXPECT_EQ(response.failed_count(), 0);
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(20));
}

TEST_F(RestartTest, CallsAfterShutdownAreUnavailable) {
  // The channel is connected when the server goes away.
  ASSERT_FALSE(MustCreate(MakeContact("Early", "Caller", "")).id().empty());
  StopServer(absl::Seconds(5));
  v1::CreateContactRequest create;
  *create.mutable_contact() = MakeContact("Late", "Caller", "");
  v1::Contact contact;
  EXPECT_THAT(contacts().CreateContact(Context().get(), create, &contact),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  v1::GetInteractionRequest get;
  get.set_id("1");
  v1::Interaction interaction;
  EXPECT_THAT(interactions().GetInteraction(Context().get(), get, &interaction),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM contacts"), IsOkAndHolds(1));
}

}  // namespace
}  // namespace rapport::testing
