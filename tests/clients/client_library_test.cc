// The C++ client library (rapport::client::Client) against a real rapportd:
// option validation, the API key and deadline on Context(), the service
// config (accepted by gRPC, round_robin over dns:///), and ForEachContact
// following page tokens.
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/client/client.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using client::Client;
using client::ClientOptions;

TEST(ClientOptionsTest, RejectsBadOptions) {
  ClientOptions options;
  options.address = "";
  EXPECT_EQ(Client::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.address = "127.0.0.1:1";
  options.tls = true;
  options.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(Client::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);  // key missing
  options.cert_file.clear();
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(Client::Create(options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ClientOptionsTest, ContextCarriesDeadline) {
  ClientOptions options;
  options.address = "127.0.0.1:1";
  options.default_deadline = std::chrono::seconds(7);
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto before = std::chrono::system_clock::now();
  std::unique_ptr<grpc::ClientContext> context = (*client)->Context();
  auto deadline = context->deadline();
  EXPECT_GT(deadline, before + std::chrono::seconds(6));
  EXPECT_LT(deadline, before + std::chrono::seconds(8));
  // Nothing listens: the call fails UNAVAILABLE (after gRPC's retries).
  v1::ListContactsResponse response;
  grpc::Status status = (*client)->contacts().ListContacts(
      context.get(), v1::ListContactsRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(ClientTest, CallsRapportdAndFollowsPages) {
  auto db = TestDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<RapportdProcess> server =
      RapportdProcess::Start(RAPPORTD_PATH, **db);
  ASSERT_NE(server, nullptr);

  ClientOptions options;
  // dns:/// with round_robin, as for a headless Kubernetes Service.
  options.address = absl::StrCat("dns:///127.0.0.1:", server->port());
  options.api_key = kTestAdminKey;
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();

  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name(absl::StrCat("Lib", i));
    request.mutable_contact()->add_tags("libtest");
    request.set_request_id(absl::StrCat("client-test-", i));
    v1::Contact contact;
    grpc::Status status = (*client)->contacts().CreateContact(
        (*client)->Context().get(), request, &contact);
    ASSERT_TRUE(status.ok()) << status.error_message();
    created.insert(contact.id());
  }
  // The same request_id again: the same contact, not a new one.
  {
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name("Lib0");
    request.mutable_contact()->add_tags("libtest");
    request.set_request_id("client-test-0");
    v1::Contact contact;
    ASSERT_TRUE(
        (*client)
            ->contacts()
            .CreateContact((*client)->Context().get(), request, &contact)
            .ok());
    EXPECT_TRUE(created.count(contact.id()));
  }

  v1::ListContactsRequest list;
  list.set_filter("tags:\"libtest\"");
  list.set_page_size(2);
  std::set<std::string> seen;
  grpc::Status status =
      (*client)->ForEachContact(list, [&](const v1::Contact& contact) {
        seen.insert(contact.id());
        return true;
      });
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen, created);

  int calls = 0;
  status = (*client)->ForEachContact(list, [&](const v1::Contact&) {
    return ++calls < 3;  // stop after the third
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(calls, 3);

  list.set_filter("(");
  status =
      (*client)->ForEachContact(list, [](const v1::Contact&) { return true; });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace rapport::testing
