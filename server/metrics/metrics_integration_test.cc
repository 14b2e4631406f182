// A real RapportServer with metrics on 127.0.0.1:0: make a few calls, scrape
// /metrics over a socket, check the series and counts.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "server/app/server.h"
#include "server/config/config.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_database.h"

namespace rapport::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

class MetricsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    config_.listen = "127.0.0.1:0";
    config_.metrics_listen = "127.0.0.1:0";
    config_.insecure = true;
    config_.bootstrap_admin_key = testing::kTestAdminKey;
    config_.db = db_->options();
    config_.threads = 4;
    config_.db.pool_size = 4;
    auto server = app::RapportServer::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->WaitUntilServing(absl::Seconds(30)));
    channel_ = testing::CreateKeyedChannel(
        absl::StrCat("127.0.0.1:", server_->port()));
    contacts_ = rapport::v1::ContactService::NewStub(channel_);
  }
  void TearDown() override {
    contacts_.reset();
    channel_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    db_.reset();
  }

  config::Config config_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<app::RapportServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rapport::v1::ContactService::Stub> contacts_;
};

TEST_F(MetricsIntegrationTest, ScrapeShowsCallsPoolOutboxAndPlugins) {
  ASSERT_GT(server_->metrics_port(), 0);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    rapport::v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name(absl::StrCat("Ada", i));
    rapport::v1::Contact created;
    ASSERT_TRUE(contacts_->CreateContact(&context, request, &created).ok());
  }
  {
    grpc::ClientContext context;
    rapport::v1::GetContactRequest request;
    request.set_id("999999999");
    rapport::v1::Contact got;
    EXPECT_EQ(contacts_->GetContact(&context, request, &got).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  EXPECT_THAT(HttpGet(server_->metrics_port(), "/healthz"),
              StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(HttpGet(server_->metrics_port(), "/readyz"),
              StartsWith("HTTP/1.1 200"));

  const std::string r = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(r, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(r, HasSubstr("rapport_grpc_requests_total{method=\"/"
                           "rapport.v1.ContactService/CreateContact\","
                           "code=\"OK\"} 2\n"));
  EXPECT_THAT(r, HasSubstr("rapport_grpc_requests_total{method=\"/"
                           "rapport.v1.ContactService/GetContact\","
                           "code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(r, HasSubstr("rapport_grpc_request_duration_seconds_count{"
                           "method=\"/rapport.v1.ContactService/"
                           "CreateContact\"} 2\n"));
  EXPECT_THAT(r, HasSubstr("rapport_grpc_request_duration_seconds_bucket{"
                           "method=\"/rapport.v1.ContactService/"
                           "CreateContact\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(r, HasSubstr("rapport_db_pool_connections{state=\"in_use\"} "));
  EXPECT_THAT(r, HasSubstr("rapport_db_pool_connections{state=\"idle\"} "));
  EXPECT_THAT(r, HasSubstr("\nrapport_db_pool_waiting 0\n"));
  EXPECT_THAT(r, HasSubstr("\nrapport_outbox_pending_deliveries 0\n"));
  EXPECT_THAT(r, HasSubstr("\nrapport_outbox_parked_deliveries 0\n"));
  EXPECT_THAT(r, HasSubstr("\nrapport_plugin_events_delivered_total "));
  EXPECT_THAT(r, HasSubstr("\nrapport_plugin_events_failed_total 0\n"));
  EXPECT_THAT(r, HasSubstr("\nrapport_plugin_events_parked_total 0\n"));
  EXPECT_THAT(r, HasSubstr("# TYPE rapport_plugin_counter_total counter\n"));
}

TEST_F(MetricsIntegrationTest, EmptyListenDisablesMetrics) {
  server_->Shutdown(absl::ZeroDuration());
  server_.reset();
  config_.metrics_listen = "";
  auto server = app::RapportServer::Start(config_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), 0);
  (*server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace rapport::metrics
