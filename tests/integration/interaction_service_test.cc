// InteractionService end to end: a real RapportServer over loopback gRPC on a
// private MariaDB database.
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

google::protobuf::Timestamp At(int64_t unix_seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(unix_seconds);
  ts.set_nanos(nanos);
  return ts;
}

// 2024-01-01T00:00:00Z and later, one hour apart.
constexpr int64_t kJan2024 = 1704067200;
int64_t Hour(int n) { return kJan2024 + int64_t{3600} * n; }

class InteractionServiceTest : public ServerFixture {
 protected:
  // A live contact's id.
  std::string NewContact(const std::string& given = "Ada") {
    v1::Contact created = MustCreate(MakeContact(given, "Lovelace", ""));
    EXPECT_FALSE(created.id().empty());
    return created.id();
  }

  static v1::Interaction Note(const std::string& contact_id,
                              int64_t occur_seconds) {
    v1::Interaction i;
    i.set_contact_id(contact_id);
    i.set_type(v1::NOTE);
    *i.mutable_occur_time() = At(occur_seconds);
    return i;
  }

  grpc::Status Log(const v1::Interaction& interaction, v1::Interaction* out,
                   const std::string& request_id = "") {
    v1::LogInteractionRequest request;
    *request.mutable_interaction() = interaction;
    request.set_request_id(request_id);
    return interactions().LogInteraction(Context().get(), request, out);
  }

  v1::Interaction MustLog(const v1::Interaction& interaction,
                          const std::string& request_id = "") {
    v1::Interaction out;
    grpc::Status status = Log(interaction, &out, request_id);
    EXPECT_OK(status);
    return out;
  }

  v1::Contact GetContact(const std::string& id) {
    v1::GetContactRequest request;
    request.set_id(id);
    v1::Contact contact;
    EXPECT_OK(contacts().GetContact(Context().get(), request, &contact));
    return contact;
  }

  grpc::Status List(const v1::ListInteractionsRequest& request,
                    v1::ListInteractionsResponse* out) {
    return interactions().ListInteractions(Context().get(), request, out);
  }

  // Ids of one page matching `filter` across all contacts (or one contact).
  std::vector<std::string> ListIds(const std::string& filter,
                                   const std::string& contact_id = "",
                                   const std::string& order_by = "") {
    v1::ListInteractionsRequest request;
    request.set_filter(filter);
    request.set_contact_id(contact_id);
    request.set_order_by(order_by);
    request.set_page_size(1000);
    v1::ListInteractionsResponse response;
    grpc::Status status = List(request, &response);
    EXPECT_OK(status) << "filter: " << filter;
    std::vector<std::string> ids;
    for (const v1::Interaction& i : response.interactions()) {
      ids.push_back(i.id());
    }
    return ids;
  }
};

// --- LogInteraction -------------------------------------------------------

TEST_F(InteractionServiceTest, LogReturnsStoredInteraction) {
  const std::string contact = NewContact();
  v1::Interaction in = Note(contact, Hour(1));
  in.set_channel("Web");
  in.set_direction(v1::INBOUND);
  in.set_subject("Asked about pricing");
  in.set_body("Line one\nLine two");
  in.set_actor("agent-7");
  v1::Interaction logged = MustLog(in);
  EXPECT_FALSE(logged.id().empty());
  EXPECT_EQ(logged.contact_id(), contact);
  EXPECT_EQ(logged.type(), v1::NOTE);
  EXPECT_EQ(logged.channel(), "web");
  EXPECT_EQ(logged.direction(), v1::INBOUND);
  EXPECT_EQ(logged.occur_time().seconds(), Hour(1));
  EXPECT_EQ(logged.subject(), "Asked about pricing");
  EXPECT_EQ(logged.body(), "Line one\nLine two");
  EXPECT_EQ(logged.actor(), "agent-7");
  EXPECT_TRUE(logged.has_create_time());
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(1));
}

TEST_F(InteractionServiceTest, LogMissingContactIsNotFound) {
  v1::Interaction out;
  EXPECT_THAT(Log(Note("987654", Hour(1)), &out),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("987654")));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(0));
}

TEST_F(InteractionServiceTest, LogDeletedContactIsNotFound) {
  const std::string contact = NewContact();
  v1::DeleteContactRequest del;
  del.set_id(contact);
  v1::Contact deleted;
  ASSERT_OK(contacts().DeleteContact(Context().get(), del, &deleted));
  v1::Interaction out;
  EXPECT_THAT(Log(Note(contact, Hour(1)), &out),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("deleted")));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(0));
}

TEST_F(InteractionServiceTest, LogWithoutTypeIsInvalid) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  in.clear_type();
  v1::Interaction out;
  EXPECT_THAT(Log(in, &out), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                      HasSubstr("interaction.type")));
}

TEST_F(InteractionServiceTest, LogWithBadCurrencyIsInvalid) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  in.set_type(v1::PURCHASE);
  in.mutable_amount()->set_currency_code("EURO");
  in.mutable_amount()->set_amount_minor(100);
  v1::Interaction out;
  EXPECT_THAT(Log(in, &out),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("interaction.amount.currency_code")));
}

TEST_F(InteractionServiceTest, LogPurchaseWithoutAmountIsInvalid) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  in.set_type(v1::PURCHASE);
  v1::Interaction out;
  EXPECT_THAT(Log(in, &out), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                      HasSubstr("interaction.amount")));
}

TEST_F(InteractionServiceTest, LogTooFarInFutureIsInvalid) {
  v1::Interaction in = Note(NewContact(), 0);
  *in.mutable_occur_time() =
      At(absl::ToUnixSeconds(absl::Now() + absl::Hours(48)));
  v1::Interaction out;
  EXPECT_THAT(Log(in, &out), StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                      HasSubstr("interaction.occur_time")));
}

TEST_F(InteractionServiceTest, LogWithoutRequiredInteractionIsInvalid) {
  v1::LogInteractionRequest request;
  v1::Interaction out;
  EXPECT_THAT(
      interactions().LogInteraction(Context().get(), request, &out),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("interaction")));
}

TEST_F(InteractionServiceTest, OccurTimeDefaultsToNow) {
  v1::Interaction in = Note(NewContact(), 0);
  in.clear_occur_time();
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  v1::Interaction logged = MustLog(in);
  const int64_t after = absl::ToUnixSeconds(absl::Now());
  EXPECT_GE(logged.occur_time().seconds(), before);
  EXPECT_LE(logged.occur_time().seconds(), after + 1);
}

TEST_F(InteractionServiceTest, MoneyRoundTripsAsMinorUnits) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  in.set_type(v1::PURCHASE);
  in.mutable_amount()->set_currency_code("eur");
  in.mutable_amount()->set_amount_minor(1999);
  v1::Interaction logged = MustLog(in);
  EXPECT_EQ(logged.amount().currency_code(), "EUR");
  EXPECT_EQ(logged.amount().amount_minor(), 1999);

  v1::GetInteractionRequest get;
  get.set_id(logged.id());
  v1::Interaction got;
  ASSERT_OK(interactions().GetInteraction(Context().get(), get, &got));
  EXPECT_EQ(got.amount().currency_code(), "EUR");
  EXPECT_EQ(got.amount().amount_minor(), 1999);
  EXPECT_THAT(db().QueryInt(absl::StrCat(
                  "SELECT amount_minor FROM interactions WHERE id = ",
                  logged.id(), " AND amount_currency = 'EUR'")),
              IsOkAndHolds(1999));
}

TEST_F(InteractionServiceTest, AttributesRoundTrip) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  (*in.mutable_attributes())["order"] = "A-1001";
  (*in.mutable_attributes())["store"] = "Zürich \"Main\"";
  v1::Interaction logged = MustLog(in);
  v1::GetInteractionRequest get;
  get.set_id(logged.id());
  v1::Interaction got;
  ASSERT_OK(interactions().GetInteraction(Context().get(), get, &got));
  ASSERT_EQ(got.attributes().size(), 2u);
  EXPECT_EQ(got.attributes().at("order"), "A-1001");
  EXPECT_EQ(got.attributes().at("store"), "Zürich \"Main\"");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, logged))
      << got.DebugString() << "\nvs\n"
      << logged.DebugString();
}

// LogInteraction answers with the interaction built from its input, not
// read back: every field must equal what GetInteraction returns (times cut
// to microseconds, normalised channel and currency).
TEST_F(InteractionServiceTest, LogAnswerIsExactlyWhatGetReads) {
  v1::Interaction in = Note(NewContact(), Hour(1));
  in.set_type(v1::PURCHASE);
  *in.mutable_occur_time() = At(Hour(2), 123456789);
  in.set_channel("Web-Shop");
  in.set_direction(v1::OUTBOUND);
  in.set_subject("Order A-1001 \"gift\"");
  in.set_body("Line one\nLine two\tü");
  in.set_actor("agent-7");
  in.mutable_amount()->set_currency_code("chf");
  in.mutable_amount()->set_amount_minor(250);
  (*in.mutable_attributes())["order"] = "A-1001";
  (*in.mutable_attributes())["note"] = "back\\slash";
  for (const std::string& request_id : {std::string(), std::string("r-9")}) {
    const v1::Interaction logged = MustLog(in, request_id);
    v1::GetInteractionRequest get;
    get.set_id(logged.id());
    v1::Interaction got;
    ASSERT_OK(interactions().GetInteraction(Context().get(), get, &got));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, logged))
        << "request id '" << request_id << "'\n"
        << got.DebugString() << "\nvs\n"
        << logged.DebugString();
    EXPECT_EQ(got.occur_time().nanos(), 123456000);
  }
}

TEST_F(InteractionServiceTest, RepeatedRequestIdReturnsFirstInteraction) {
  const std::string contact = NewContact();
  v1::Interaction first = MustLog(Note(contact, Hour(1)), "req-1");
  v1::Interaction second = MustLog(Note(contact, Hour(2)), "req-1");
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(second.occur_time().seconds(), Hour(1));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(1));
}

TEST_F(InteractionServiceTest, ConcurrentSameRequestIdLogsOneRow) {
  const std::string contact = NewContact();
  constexpr int kThreads = 8;
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::Interaction out;
      statuses[t] = Log(Note(contact, Hour(1)), &out, "concurrent-req");
      ids[t] = out.id();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_OK(statuses[t]) << "thread " << t;
    EXPECT_EQ(ids[t], ids[0]) << "thread " << t;
  }
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(1));
}

TEST_F(InteractionServiceTest, LogSetsLastInteractionTime) {
  const std::string contact = NewContact();
  EXPECT_FALSE(GetContact(contact).has_last_interaction_time());
  MustLog(Note(contact, Hour(5)));
  EXPECT_EQ(GetContact(contact).last_interaction_time().seconds(), Hour(5));
  MustLog(Note(contact, Hour(7)));
  EXPECT_EQ(GetContact(contact).last_interaction_time().seconds(), Hour(7));
}

TEST_F(InteractionServiceTest, OlderInteractionKeepsLastInteractionTime) {
  const std::string contact = NewContact();
  MustLog(Note(contact, Hour(7)));
  MustLog(Note(contact, Hour(3)));
  EXPECT_EQ(GetContact(contact).last_interaction_time().seconds(), Hour(7));
  // The same time again is not a change either, and still succeeds.
  MustLog(Note(contact, Hour(7)));
  EXPECT_EQ(GetContact(contact).last_interaction_time().seconds(), Hour(7));
  EXPECT_THAT(db().QueryInt("SELECT COUNT(*) FROM interactions"),
              IsOkAndHolds(3));
}

// --- GetInteraction -------------------------------------------------------

TEST_F(InteractionServiceTest, GetMissingIsNotFound) {
  v1::GetInteractionRequest get;
  get.set_id("424242");
  v1::Interaction got;
  EXPECT_THAT(interactions().GetInteraction(Context().get(), get, &got),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("424242")));
}

TEST_F(InteractionServiceTest, GetMalformedIdIsInvalid) {
  for (const char* id : {"", "abc", "-1", "0012"}) {
    v1::GetInteractionRequest get;
    get.set_id(id);
    v1::Interaction got;
    EXPECT_THAT(interactions().GetInteraction(Context().get(), get, &got),
                StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("id")))
        << "id \"" << id << "\"";
  }
}

// --- ListInteractions -----------------------------------------------------

TEST_F(InteractionServiceTest, ListByContactIsNewestFirst) {
  const std::string ada = NewContact("Ada");
  const std::string bob = NewContact("Bob");
  const std::string a1 = MustLog(Note(ada, Hour(1))).id();
  const std::string a3 = MustLog(Note(ada, Hour(3))).id();
  const std::string a2 = MustLog(Note(ada, Hour(2))).id();
  const std::string b1 = MustLog(Note(bob, Hour(4))).id();
  EXPECT_THAT(ListIds("", ada), ElementsAre(a3, a2, a1));
  EXPECT_THAT(ListIds("", bob), ElementsAre(b1));
}

TEST_F(InteractionServiceTest, ListAllContactsIsNewestFirst) {
  const std::string ada = NewContact("Ada");
  const std::string bob = NewContact("Bob");
  const std::string a1 = MustLog(Note(ada, Hour(1))).id();
  const std::string b2 = MustLog(Note(bob, Hour(2))).id();
  const std::string a3 = MustLog(Note(ada, Hour(3))).id();
  EXPECT_THAT(ListIds(""), ElementsAre(a3, b2, a1));
}

TEST_F(InteractionServiceTest, ListOrderByOccurTimeIsOldestFirst) {
  const std::string ada = NewContact();
  const std::string a2 = MustLog(Note(ada, Hour(2))).id();
  const std::string a1 = MustLog(Note(ada, Hour(1))).id();
  const std::string a3 = MustLog(Note(ada, Hour(3))).id();
  EXPECT_THAT(ListIds("", ada, "occur_time"), ElementsAre(a1, a2, a3));
  EXPECT_THAT(ListIds("", ada, "occur_time desc"), ElementsAre(a3, a2, a1));
}

TEST_F(InteractionServiceTest, ListFiltersOnTypeChannelAndDirection) {
  const std::string ada = NewContact();
  v1::Interaction call = Note(ada, Hour(1));
  call.set_type(v1::CALL);
  call.set_channel("phone");
  call.set_direction(v1::INBOUND);
  const std::string call_id = MustLog(call).id();
  v1::Interaction email = Note(ada, Hour(2));
  email.set_type(v1::EMAIL);
  email.set_channel("email");
  email.set_direction(v1::OUTBOUND);
  const std::string email_id = MustLog(email).id();
  const std::string note_id = MustLog(Note(ada, Hour(3))).id();

  EXPECT_THAT(ListIds("type = CALL"), ElementsAre(call_id));
  EXPECT_THAT(ListIds("type != CALL"), ElementsAre(note_id, email_id));
  EXPECT_THAT(ListIds("channel = \"email\""), ElementsAre(email_id));
  EXPECT_THAT(ListIds("direction = OUTBOUND"), ElementsAre(email_id));
  EXPECT_THAT(ListIds("type = CALL OR type = EMAIL"),
              ElementsAre(email_id, call_id));
  EXPECT_THAT(ListIds("type = NOTE", ada), ElementsAre(note_id));
}

TEST_F(InteractionServiceTest, ListFiltersOnOccurTimeRange) {
  const std::string ada = NewContact();
  const std::string h1 = MustLog(Note(ada, Hour(1))).id();  // 01:00
  const std::string h2 = MustLog(Note(ada, Hour(2))).id();  // 02:00
  const std::string h3 = MustLog(Note(ada, Hour(3))).id();  // 03:00
  EXPECT_THAT(ListIds("occur_time >= \"2024-01-01T02:00:00Z\""),
              ElementsAre(h3, h2));
  EXPECT_THAT(ListIds("occur_time > \"2024-01-01T01:00:00Z\" AND "
                      "occur_time < \"2024-01-01T03:00:00Z\""),
              ElementsAre(h2));
  EXPECT_THAT(ListIds("occur_time <= \"2024-01-01T01:00:00Z\""),
              ElementsAre(h1));
}

TEST_F(InteractionServiceTest, ListFiltersOnCurrencyAndAttributes) {
  const std::string ada = NewContact();
  v1::Interaction eur = Note(ada, Hour(1));
  eur.set_type(v1::PURCHASE);
  eur.mutable_amount()->set_currency_code("EUR");
  eur.mutable_amount()->set_amount_minor(500);
  (*eur.mutable_attributes())["store"] = "berlin";
  const std::string eur_id = MustLog(eur).id();
  v1::Interaction usd = Note(ada, Hour(2));
  usd.set_type(v1::PURCHASE);
  usd.mutable_amount()->set_currency_code("USD");
  usd.mutable_amount()->set_amount_minor(700);
  (*usd.mutable_attributes())["store"] = "boston";
  const std::string usd_id = MustLog(usd).id();
  MustLog(Note(ada, Hour(3)));  // no amount, no attributes

  EXPECT_THAT(ListIds("amount.currency_code = \"EUR\""), ElementsAre(eur_id));
  EXPECT_THAT(ListIds("attributes.store = \"boston\""), ElementsAre(usd_id));
  EXPECT_THAT(ListIds("attributes.store = \"paris\""), IsEmpty());
  EXPECT_THAT(ListIds("amount.currency_code = \"USD\" AND "
                      "attributes.store = \"berlin\""),
              IsEmpty());
}

TEST_F(InteractionServiceTest, PaginationReturnsEveryRowOnce) {
  const std::string ada = NewContact();
  std::set<std::string> logged;
  // Ties on occur_time too, so the order needs the id as tie-breaker.
  for (int n = 0; n < 23; ++n) {
    logged.insert(MustLog(Note(ada, Hour(n % 5))).id());
  }
  for (const char* order_by : {"", "occur_time"}) {
    std::vector<std::string> seen;
    v1::ListInteractionsRequest request;
    request.set_contact_id(ada);
    request.set_order_by(order_by);
    request.set_page_size(4);
    int pages = 0;
    while (true) {
      v1::ListInteractionsResponse response;
      ASSERT_OK(List(request, &response));
      ASSERT_LE(response.interactions_size(), 4);
      for (const v1::Interaction& i : response.interactions()) {
        seen.push_back(i.id());
      }
      ++pages;
      ASSERT_LT(pages, 20) << "pagination does not end";
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    EXPECT_EQ(seen.size(), logged.size()) << "order_by " << order_by;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), logged)
        << "order_by " << order_by;
    EXPECT_EQ(pages, 6) << "order_by " << order_by;
  }
}

TEST_F(InteractionServiceTest, BadFilterIsInvalid) {
  v1::ListInteractionsRequest request;
  request.set_filter("no_such_field = 1");
  v1::ListInteractionsResponse response;
  EXPECT_THAT(
      List(request, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("no_such_field")));
  request.set_filter("type = ");
  EXPECT_THAT(List(request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(InteractionServiceTest, BadPageTokenIsInvalid) {
  v1::ListInteractionsRequest request;
  request.set_page_token("not-a-token");
  v1::ListInteractionsResponse response;
  EXPECT_THAT(
      List(request, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
}

TEST_F(InteractionServiceTest, PageTokenOfAnotherQueryIsInvalid) {
  const std::string ada = NewContact();
  for (int n = 0; n < 3; ++n) MustLog(Note(ada, Hour(n)));
  v1::ListInteractionsRequest request;
  request.set_page_size(1);
  v1::ListInteractionsResponse first;
  ASSERT_OK(List(request, &first));
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  request.set_filter("type = NOTE");
  v1::ListInteractionsResponse response;
  EXPECT_THAT(
      List(request, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_token")));
}

TEST_F(InteractionServiceTest, UnknownContactListsNothing) {
  MustLog(Note(NewContact(), Hour(1)));
  v1::ListInteractionsRequest request;
  request.set_contact_id("999999");
  v1::ListInteractionsResponse response;
  ASSERT_OK(List(request, &response));
  EXPECT_EQ(response.interactions_size(), 0);
  EXPECT_TRUE(response.next_page_token().empty());
}

TEST_F(InteractionServiceTest, MalformedContactIdIsInvalid) {
  v1::ListInteractionsRequest request;
  request.set_contact_id("x1");
  v1::ListInteractionsResponse response;
  EXPECT_THAT(
      List(request, &response),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("contact_id")));
}

}  // namespace
}  // namespace rapport::testing
