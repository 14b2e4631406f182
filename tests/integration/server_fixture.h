// A GoogleTest fixture that runs a real RapportServer in-process on a free
// loopback port, against a private database on the test MariaDB (CTest's
// "mariadb" fixture), and gives tests gRPC stubs over a real channel.
// Each test gets a fresh database, so tests never see each other's rows.
#ifndef RAPPORT_TESTS_INTEGRATION_SERVER_FIXTURE_H_
#define RAPPORT_TESTS_INTEGRATION_SERVER_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/interaction_service.grpc.pb.h"
#include "server/app/server.h"
#include "server/config/config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_database.h"

namespace rapport::testing {

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The configuration StartServer uses; tests may adjust it first.
  config::Config& config() { return config_; }

  // Starts (or restarts) the server and connects new stubs. Fails the test
  // when it does not become SERVING within 30 s.
  void StartServer();
  // Stops the server; in-flight calls get `grace` to finish.
  void StopServer(absl::Duration grace = absl::ZeroDuration());

  // A client context with a 30 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context();

  // Creates a contact through the API; fails the test on error.
  rapport::v1::Contact MustCreate(const rapport::v1::Contact& contact);
  // Reads a contact, deleted or not (show_deleted); fails the test on error.
  rapport::v1::Contact MustGet(const std::string& id);
  // Soft-deletes a contact; fails the test on error.
  void MustDelete(const std::string& id);
  // Shorthand: a contact with the given names and e-mail (may be empty).
  static rapport::v1::Contact MakeContact(const std::string& given,
                                          const std::string& family,
                                          const std::string& email);

  TestDatabase& db() { return *db_; }
  app::RapportServer& server() { return *server_; }
  rapport::v1::ContactService::Stub& contacts() { return *contacts_; }
  rapport::v1::InteractionService::Stub& interactions() {
    return *interactions_;
  }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  std::string address() const;

 private:
  config::Config config_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<app::RapportServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rapport::v1::ContactService::Stub> contacts_;
  std::unique_ptr<rapport::v1::InteractionService::Stub> interactions_;
};

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_INTEGRATION_SERVER_FIXTURE_H_
