// auth::MakeServerCredentials and auth::ClientCertificateIdentities against a
// small in-process gRPC server (a grpc.health.v1 service) over loopback, with
// certificates that make_test_certs.sh generates with openssl for this run:
// TLS, required and optional client certificates, plaintext, bad settings,
// an AuthMetadataProcessor on every variant, and certificate rotation.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/credentials.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/auth/credentials.h"
#include "server/config/config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_certs.h"

namespace rapport::auth {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::rapport::testing::IsOk;
using ::rapport::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kBillingUri[] = "spiffe://rapport.test/ns/crm/sa/billing";

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// Replaces `path` in one step (write aside, rename), as the file watcher
// expects from whoever rotates its files.
void ReplaceFile(const std::string& path, const std::string& contents) {
  const std::string aside = path + ".new";
  WriteFile(aside, contents);
  std::filesystem::rename(aside, path);
}

// Health.Check answers SERVING and records what the call's AuthContext says
// about the client.
class RecordingHealth final : public Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    std::vector<std::string> properties;
    for (const grpc::AuthProperty& p : *auth) {
      properties.push_back(absl::StrCat(
          std::string(p.first.data(), p.first.size()), "=",
          std::string(p.second.data(), p.second.size()).substr(0, 60)));
    }
    absl::MutexLock lock(&mu_);
    identities_ = ClientCertificateIdentities(*auth);
    properties_ = std::move(properties);
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  grpc::Status Watch(grpc::ServerContext*, const HealthCheckRequest*,
                     grpc::ServerWriter<HealthCheckResponse>*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  }

  std::vector<std::string> identities() {
    absl::MutexLock lock(&mu_);
    return identities_;
  }
  std::vector<std::string> properties() {
    absl::MutexLock lock(&mu_);
    return properties_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> identities_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> properties_ ABSL_GUARDED_BY(mu_);
};

// Rejects every call, as an API-key check rejects a call without a key.
class DenyAll final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext*,
                       OutputMetadata*, OutputMetadata*) override {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "denied by test");
  }
};

// A server on 127.0.0.1 with an ephemeral port.
class TestServer {
 public:
  // Empty when MakeServerCredentials refused the config (the test has
  // already failed then).
  static std::unique_ptr<TestServer> Start(
      const config::Config& config,
      std::shared_ptr<grpc::AuthMetadataProcessor> processor = nullptr) {
    auto creds = MakeServerCredentials(config);
    EXPECT_THAT(creds, IsOk());
    if (!creds.ok()) return nullptr;
    if (processor != nullptr) (*creds)->SetAuthMetadataProcessor(processor);
    auto server = std::make_unique<TestServer>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &server->port_);
    builder.RegisterService(&server->health_);
    server->server_ = builder.BuildAndStart();
    EXPECT_NE(server->server_, nullptr);
    EXPECT_NE(server->port_, 0);
    if (server->server_ == nullptr || server->port_ == 0) return nullptr;
    return server;
  }

  ~TestServer() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(1));
    }
  }

  int port() const { return port_; }
  RecordingHealth& health() { return health_; }

 private:
  RecordingHealth health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// One Health.Check on a fresh connection (a local subchannel pool, so that
// no connection made by an earlier call with other credentials is reused).
grpc::Status Check(int port,
                   const std::shared_ptr<grpc::ChannelCredentials>& creds) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), creds, args);
  auto stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  HealthCheckRequest request;
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (status.ok() && response.status() != HealthCheckResponse::SERVING) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "not SERVING");
  }
  return status;
}

class TlsCredentialsTest : public ::testing::Test {
 protected:
  // One set of certificates for the whole suite: generating them is the
  // slow part.
  static void SetUpTestSuite() {
    dir_ = new std::string(
        rapport::testing::MakeTestCertificates(MAKE_TEST_CERTS, "tls"));
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) rapport::testing::RemoveTestCertificates(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Path(absl::string_view name) {
    return absl::StrCat(*dir_, "/", name);
  }
  static std::string Pem(absl::string_view name) {
    return ReadFileOrDie(Path(name));
  }

  // TLS with the first CA's server certificate.
  static config::Config TlsConfig() {
    config::Config config;
    config.tls_cert = Path("server1.crt");
    config.tls_key = Path("server1.key");
    return config;
  }
  static config::Config MtlsConfig(const std::string& client_auth) {
    config::Config config = TlsConfig();
    config.tls_client_ca = Path("ca1.crt");
    config.tls_client_auth = client_auth;
    return config;
  }

  // A client trusting `ca` ("ca1" or "ca2"), presenting `client` ("client1",
  // "client2") when not empty.
  static std::shared_ptr<grpc::ChannelCredentials> Client(
      absl::string_view ca, absl::string_view client = "") {
    return rapport::testing::TestClientCredentials(*dir_, std::string(ca),
                                                   std::string(client));
  }

  static std::string* dir_;
};

std::string* TlsCredentialsTest::dir_ = nullptr;

// --- Server-only TLS ---------------------------------------------------------

TEST_F(TlsCredentialsTest, TlsClientTrustingTheCaConnects) {
  auto server = TestServer::Start(TlsConfig());
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1")), IsOk());
  EXPECT_THAT(server->health().identities(), IsEmpty());
}

TEST_F(TlsCredentialsTest, TlsClientTrustingAnotherCaFails) {
  auto server = TestServer::Start(TlsConfig());
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca2")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, PlaintextClientCannotTalkToTlsPort) {
  auto server = TestServer::Start(TlsConfig());
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), grpc::InsecureChannelCredentials()),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, WithoutClientCaNoClientCertificateIsAsked) {
  auto server = TestServer::Start(TlsConfig());
  ASSERT_NE(server, nullptr);
  // The client would present one if asked; nothing reaches the server.
  EXPECT_THAT(Check(server->port(), Client("ca1", "client1")), IsOk());
  EXPECT_THAT(server->health().identities(), IsEmpty());
}

TEST_F(TlsCredentialsTest, InsecureIsIgnoredWhenACertificateIsSet) {
  config::Config config = TlsConfig();
  config.insecure = true;
  auto server = TestServer::Start(config);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), grpc::InsecureChannelCredentials()),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(Check(server->port(), Client("ca1")), IsOk());
}

// --- Client certificates -----------------------------------------------------

TEST_F(TlsCredentialsTest, RequireRejectsAClientWithoutCertificate) {
  auto server = TestServer::Start(MtlsConfig("require"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, RequireRejectsACertificateFromAnotherCa) {
  auto server = TestServer::Start(MtlsConfig("require"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1", "client2")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, RequireAcceptsTheCasClientAndNamesIt) {
  auto server = TestServer::Start(MtlsConfig("require"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1", "client1")), IsOk());
  EXPECT_THAT(
      server->health().identities(),
      ElementsAre(kBillingUri, "billing.rapport.test", "billing-client"));
  // What gRPC 1.51 puts in a verified client's AuthContext (for the record;
  // ClientCertificateIdentities relies on peer_uri, peer_dns and
  // x509_common_name).
  for (const std::string& property : server->health().properties()) {
    std::cout << "AuthContext: " << property << "\n";
  }
}

TEST_F(TlsCredentialsTest, OptionalAcceptsAClientWithoutCertificate) {
  auto server = TestServer::Start(MtlsConfig("optional"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1")), IsOk());
  EXPECT_THAT(server->health().identities(), IsEmpty());
}

TEST_F(TlsCredentialsTest, OptionalRejectsACertificateFromAnotherCa) {
  auto server = TestServer::Start(MtlsConfig("optional"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1", "client2")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, OptionalNamesAClientThatPresentsACertificate) {
  auto server = TestServer::Start(MtlsConfig("optional"));
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), Client("ca1", "client1")), IsOk());
  EXPECT_THAT(
      server->health().identities(),
      ElementsAre(kBillingUri, "billing.rapport.test", "billing-client"));
}

// --- Plaintext ---------------------------------------------------------------

TEST_F(TlsCredentialsTest, PlaintextWhenInsecure) {
  config::Config config;
  config.insecure = true;
  auto server = TestServer::Start(config);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Check(server->port(), grpc::InsecureChannelCredentials()),
              IsOk());
  EXPECT_THAT(server->health().identities(), IsEmpty());
  EXPECT_THAT(Check(server->port(), Client("ca1")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, NoCertificateAndNotInsecureIsRefused) {
  EXPECT_THAT(MakeServerCredentials(config::Config()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("RAPPORT_TLS_CERT"),
                             HasSubstr("RAPPORT_INSECURE"))));
}

// --- The AuthMetadataProcessor (API keys) on every variant -------------------

TEST_F(TlsCredentialsTest, AuthMetadataProcessorRunsOnEveryVariant) {
  config::Config plaintext;
  plaintext.insecure = true;
  struct Variant {
    std::string name;
    config::Config config;
    std::shared_ptr<grpc::ChannelCredentials> client;
  };
  const std::vector<Variant> variants = {
      {"plaintext", plaintext, grpc::InsecureChannelCredentials()},
      {"tls", TlsConfig(), Client("ca1")},
      {"mtls require", MtlsConfig("require"), Client("ca1", "client1")},
      {"mtls optional", MtlsConfig("optional"), Client("ca1")},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    auto server = TestServer::Start(v.config, std::make_shared<DenyAll>());
    ASSERT_NE(server, nullptr);
    EXPECT_THAT(Check(server->port(), v.client),
                StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                         HasSubstr("denied by test")));
  }
}

// --- Bad settings ------------------------------------------------------------

TEST_F(TlsCredentialsTest, BadSettingsNameTheVariableAndPath) {
  const std::string garbage = Path("garbage.pem");
  WriteFile(garbage, "not a certificate\n");
  const std::string missing = Path("missing.pem");
  // A chain whose second block is damaged.
  const std::string damaged = Path("damaged.crt");
  std::string broken_ca = Pem("ca1.crt");
  broken_ca.replace(broken_ca.find("\n") + 5, 8, "!!!!!!!!");
  WriteFile(damaged, Pem("server1.crt") + broken_ca);
  const std::string encrypted = Path("encrypted.key");
  ASSERT_EQ(std::system(absl::StrCat("openssl pkey -in '", Path("server1.key"),
                                     "' -aes128 -passout pass:secret -out '",
                                     encrypted, "'")
                            .c_str()),
            0);

  struct Case {
    std::string name;
    config::Config config;
    std::vector<std::string> message_parts;
  };
  auto with = [](auto change) {
    config::Config config = TlsConfig();
    change(config);
    return config;
  };
  const std::vector<Case> cases = {
      {"cert without key",
       with([](config::Config& c) { c.tls_key.clear(); }),
       {"RAPPORT_TLS_CERT", "RAPPORT_TLS_KEY"}},
      {"key without cert",
       with([](config::Config& c) { c.tls_cert.clear(); }),
       {"RAPPORT_TLS_CERT", "RAPPORT_TLS_KEY"}},
      {"client CA without cert",
       with([](config::Config& c) {
         c.tls_cert.clear();
         c.tls_key.clear();
         c.tls_client_ca = Path("ca1.crt");
         c.insecure = true;
       }),
       {"RAPPORT_TLS_CLIENT_CA", "RAPPORT_TLS_CERT"}},
      {"missing cert",
       with([&](config::Config& c) { c.tls_cert = missing; }),
       {"RAPPORT_TLS_CERT", missing, "No such file"}},
      {"missing cert, insecure",
       with([&](config::Config& c) {
         c.tls_cert = missing;
         c.insecure = true;
       }),
       {"RAPPORT_TLS_CERT", missing}},
      {"missing key",
       with([&](config::Config& c) { c.tls_key = missing; }),
       {"RAPPORT_TLS_KEY", missing}},
      {"cert is a directory",
       with([&](config::Config& c) { c.tls_cert = *dir_; }),
       {"RAPPORT_TLS_CERT", *dir_}},
      {"cert not PEM",
       with([&](config::Config& c) { c.tls_cert = garbage; }),
       {"RAPPORT_TLS_CERT", garbage, "no PEM certificate"}},
      {"damaged chain",
       with([&](config::Config& c) { c.tls_cert = damaged; }),
       {"RAPPORT_TLS_CERT", damaged, "damaged"}},
      {"key not PEM",
       with([&](config::Config& c) { c.tls_key = garbage; }),
       {"RAPPORT_TLS_KEY", garbage, "private key"}},
      {"encrypted key",
       with([&](config::Config& c) { c.tls_key = encrypted; }),
       {"RAPPORT_TLS_KEY", encrypted, "unencrypted"}},
      {"a certificate as the key",
       with([&](config::Config& c) { c.tls_key = Path("server1.crt"); }),
       {"RAPPORT_TLS_KEY", Path("server1.crt")}},
      {"key of another certificate",
       with([&](config::Config& c) { c.tls_key = Path("server2.key"); }),
       {"RAPPORT_TLS_KEY", Path("server2.key"), "does not match",
        Path("server1.crt")}},
      {"missing client CA",
       with([&](config::Config& c) { c.tls_client_ca = missing; }),
       {"RAPPORT_TLS_CLIENT_CA", missing}},
      {"client CA not PEM",
       with([&](config::Config& c) { c.tls_client_ca = garbage; }),
       {"RAPPORT_TLS_CLIENT_CA", garbage}},
      {"bad client auth",
       with([&](config::Config& c) {
         c.tls_client_ca = Path("ca1.crt");
         c.tls_client_auth = "sometimes";
       }),
       {"RAPPORT_TLS_CLIENT_AUTH", "sometimes"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto creds = MakeServerCredentials(c.config);
    EXPECT_THAT(creds, StatusIs(absl::StatusCode::kInvalidArgument));
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(creds.status().message(), HasSubstr(part));
    }
  }
}

// --- Rotation ----------------------------------------------------------------

// Polls `port` with `creds` until a call succeeds or 10 seconds pass.
grpc::Status CheckUntilOk(
    int port, const std::shared_ptr<grpc::ChannelCredentials>& creds) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  grpc::Status status = Check(port, creds);
  while (!status.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    status = Check(port, creds);
  }
  return status;
}

TEST_F(TlsCredentialsTest, RotatedServerCertificateIsServedWithoutRestart) {
  const std::string cert = Path("live-server.crt");
  const std::string key = Path("live-server.key");
  WriteFile(cert, Pem("server1.crt"));
  WriteFile(key, Pem("server1.key"));
  config::Config config;
  config.tls_cert = cert;
  config.tls_key = key;
  config.tls_reload_interval = absl::Seconds(1);
  auto server = TestServer::Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(Check(server->port(), Client("ca1")), IsOk());
  ASSERT_THAT(Check(server->port(), Client("ca2")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));

  // Key first: for at most one reload the watcher may see the new key with
  // the old certificate, which it cannot serve; the poll rides that out.
  ReplaceFile(key, Pem("server2.key"));
  ReplaceFile(cert, Pem("server2.crt"));

  EXPECT_THAT(CheckUntilOk(server->port(), Client("ca2")), IsOk());
  EXPECT_THAT(Check(server->port(), Client("ca1")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(TlsCredentialsTest, RotatedClientCaIsEnforcedWithoutRestart) {
  const std::string ca = Path("live-client-ca.crt");
  WriteFile(ca, Pem("ca1.crt"));
  config::Config config = MtlsConfig("require");
  config.tls_client_ca = ca;
  config.tls_reload_interval = absl::Seconds(1);
  auto server = TestServer::Start(config);
  ASSERT_NE(server, nullptr);
  ASSERT_THAT(Check(server->port(), Client("ca1", "client1")), IsOk());
  ASSERT_THAT(Check(server->port(), Client("ca1", "client2")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));

  ReplaceFile(ca, Pem("ca2.crt"));

  EXPECT_THAT(CheckUntilOk(server->port(), Client("ca1", "client2")), IsOk());
  EXPECT_THAT(
      server->health().identities(),
      ElementsAre("spiffe://other.test/ns/x/sa/intruder", "intruder-client"));
  EXPECT_THAT(Check(server->port(), Client("ca1", "client1")),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

}  // namespace
}  // namespace rapport::auth
