#include "tests/integration/server_fixture.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace rapport::testing {

void ServerFixture::SetUp() {
  auto db = TestDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *std::move(db);
  config_ = config::Config();
  config_.listen = "127.0.0.1:0";
  config_.metrics_listen = "127.0.0.1:0";
  config_.insecure = true;
  config_.bootstrap_admin_key = kTestAdminKey;
  config_.db = db_->options();
  config_.threads = 8;
  config_.db.pool_size = 8;
  config_.shutdown_grace = absl::Seconds(5);
  StartServer();
}

void ServerFixture::TearDown() {
  contacts_.reset();
  interactions_.reset();
  channel_.reset();
  StopServer();
  db_.reset();
}

void ServerFixture::StartServer() {
  StopServer();
  auto server = app::RapportServer::Start(config_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  ASSERT_TRUE(server_->WaitUntilServing(absl::Seconds(30)))
      << "server did not become SERVING";
  channel_ = CreateKeyedChannel(address());
  contacts_ = rapport::v1::ContactService::NewStub(channel_);
  interactions_ = rapport::v1::InteractionService::NewStub(channel_);
}

void ServerFixture::StopServer(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->Shutdown(grace);
  server_.reset();
}

std::string ServerFixture::address() const {
  return absl::StrCat("127.0.0.1:", server_ ? server_->port() : 0);
}

std::unique_ptr<grpc::ClientContext> ServerFixture::Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

rapport::v1::Contact ServerFixture::MakeContact(const std::string& given,
                                                const std::string& family,
                                                const std::string& email) {
  rapport::v1::Contact c;
  c.set_given_name(given);
  c.set_family_name(family);
  if (!email.empty()) c.add_emails(email);
  return c;
}

rapport::v1::Contact ServerFixture::MustCreate(
    const rapport::v1::Contact& contact) {
  rapport::v1::CreateContactRequest request;
  *request.mutable_contact() = contact;
  rapport::v1::Contact created;
  EXPECT_OK(contacts_->CreateContact(Context().get(), request, &created));
  return created;
}

rapport::v1::Contact ServerFixture::MustGet(const std::string& id) {
  rapport::v1::GetContactRequest request;
  request.set_id(id);
  request.set_show_deleted(true);
  rapport::v1::Contact contact;
  EXPECT_OK(contacts_->GetContact(Context().get(), request, &contact));
  return contact;
}

void ServerFixture::MustDelete(const std::string& id) {
  rapport::v1::DeleteContactRequest request;
  request.set_id(id);
  rapport::v1::Contact deleted;
  EXPECT_OK(contacts_->DeleteContact(Context().get(), request, &deleted));
}

}  // namespace rapport::testing
