// End to end: the real rapportd binary, as a child process, in the
// production configuration (TLS only, no RAPPORT_INSECURE, a bootstrap admin
// key, optional client certificates from a client CA, a client certificate
// identity mapped to a role), with certificates that make_test_certs.sh
// generates with openssl for this run. Also how rapportd refuses to start
// with bad TLS files or a short bootstrap key, and the key read from a file.
//
// That rapportd without TLS and without RAPPORT_INSECURE refuses to start
// (exit 2, naming RAPPORT_INSECURE) is
// RapportdProcessTest.PlaintextWithoutInsecureExitsTwoExplainingFix in
// rapportd_process_test.cc.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_auth.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// client1.crt's URI SAN (make_test_certs.sh), mapped to AGENT.
constexpr char kBillingUri[] = "spiffe://rapport.test/ns/crm/sa/billing";
constexpr char kBillingPrincipal[] =
    "clientCertificates/spiffe://rapport.test/ns/crm/sa/billing";
constexpr char kCreateContact[] = "/rapport.v1.ContactService/CreateContact";
constexpr char kEraseContact[] = "/rapport.v1.ContactService/EraseContact";

// A key no server knows.
constexpr char kUnknownKey[] = "rapport-unknown-key-0123456789abcdef0123";

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// A deadline for one call: long enough for a loaded machine, short enough
// that a hang fails the test rather than the CTest timeout.
void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

class SecureRapportdTest : public ::testing::Test {
 protected:
  // One set of certificates for the whole suite: generating them is the
  // slow part.
  static void SetUpTestSuite() {
    std::string dir = MakeTestCertificates(MAKE_TEST_CERTS, "secure_rapportd");
    if (!dir.empty()) dir_ = new std::string(dir);
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) RemoveTestCertificates(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(dir_, nullptr) << "no certificates";
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
  }

  static std::string Path(absl::string_view name) {
    return absl::StrCat(*dir_, "/", name);
  }
  static std::string Pem(absl::string_view name) {
    return ReadWholeFile(Path(name));
  }

  // The production settings: TLS with the first CA's server certificate,
  // client certificates of that CA optional, client1's URI SAN acting as
  // AGENT. (With RapportdProcess's defaults: the bootstrap key kTestAdminKey;
  // RAPPORT_INSECURE is removed by StartProduction.)
  static std::map<std::string, std::string> ProductionEnv() {
    return {{"RAPPORT_TLS_CERT", Path("server1.crt")},
            {"RAPPORT_TLS_KEY", Path("server1.key")},
            {"RAPPORT_TLS_CLIENT_CA", Path("ca1.crt")},
            {"RAPPORT_TLS_CLIENT_AUTH", "optional"},
            {"RAPPORT_CLIENT_CERT_ROLES", absl::StrCat(kBillingUri, "=AGENT")}};
  }

  // A TLS client trusting `ca` ("ca1" or "ca2"), presenting `client`
  // ("client1", "client2") when not empty.
  static std::shared_ptr<grpc::ChannelCredentials> Tls(
      absl::string_view ca, absl::string_view client = "") {
    return TestClientCredentials(*dir_, std::string(ca), std::string(client));
  }

  // Starts rapportd with ProductionEnv() and `extra`, without
  // RAPPORT_INSECURE and without `unset`, waiting for health SERVING over
  // TLS (no credentials: health is public).
  void StartProduction(const std::map<std::string, std::string>& extra = {},
                       std::vector<std::string> unset = {}) {
    std::map<std::string, std::string> env = ProductionEnv();
    for (const auto& [name, value] : extra) env[name] = value;
    RapportdStartOptions options;
    unset.push_back("RAPPORT_INSECURE");
    options.unset_env = std::move(unset);
    options.credentials = Tls("ca1");
    server_ = RapportdProcess::Start(RAPPORTD_PATH, *db_, env, options);
    ASSERT_NE(server_, nullptr);
    ASSERT_THAT(server_->Stderr(), HasSubstr("\"tls\":true"));
    ASSERT_THAT(server_->Stderr(), Not(HasSubstr("PLAINTEXT")));
  }

  // A channel to the server on a connection of its own (a local subchannel
  // pool: no connection made with other credentials is reused), with
  // `credentials`, whose calls carry `key` unless empty.
  std::shared_ptr<grpc::Channel> Channel(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      const std::string& key = "") const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return CreateKeyedChannel(absl::StrCat("127.0.0.1:", server_->port()), key,
                              std::move(credentials), args);
  }

  static grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                  HealthCheckResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return Health::NewStub(channel)->Check(&context, HealthCheckRequest(),
                                           response);
  }

  static grpc::Status ListContacts(
      const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ListContactsResponse response;
    return v1::ContactService::NewStub(channel)->ListContacts(
        &context, v1::ListContactsRequest(), &response);
  }

  static grpc::Status CreateContact(
      const std::shared_ptr<grpc::Channel>& channel, const std::string& given,
      v1::Contact* created) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CreateContactRequest request;
    request.mutable_contact()->set_given_name(given);
    request.mutable_contact()->set_family_name("Secure");
    return v1::ContactService::NewStub(channel)->CreateContact(
        &context, request, created);
  }

  static grpc::Status EraseContact(
      const std::shared_ptr<grpc::Channel>& channel, const std::string& id) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::EraseContactRequest request;
    request.set_id(id);
    v1::EraseContactResponse response;
    return v1::ContactService::NewStub(channel)->EraseContact(&context, request,
                                                              &response);
  }

  // The key on `admin` works and is the only one: the bootstrap ADMIN key.
  static void ExpectOnlyBootstrapAdmin(
      const std::shared_ptr<grpc::Channel>& admin) {
    EXPECT_OK(ListContacts(admin));
    v1::ListApiKeysResponse keys;
    ASSERT_OK(ListApiKeys(admin, &keys));
    ASSERT_EQ(keys.api_keys_size(), 1);
    EXPECT_EQ(keys.api_keys(0).name(), "apiKeys/bootstrap");
    EXPECT_EQ(keys.api_keys(0).role(), "ADMIN");
  }

  static grpc::Status ListApiKeys(const std::shared_ptr<grpc::Channel>& channel,
                                  v1::ListApiKeysResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return v1::AdminService::NewStub(channel)->ListApiKeys(
        &context, v1::ListApiKeysRequest(), response);
  }

  // Creates an API key with `role` through AdminService with the bootstrap
  // key; its secret and name, or a test failure.
  void CreateKey(const std::string& role, v1::CreateApiKeyResponse* out) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CreateApiKeyRequest request;
    request.mutable_api_key()->set_display_name(
        absl::StrCat("secure_rapportd_test ", role));
    request.mutable_api_key()->set_role(role);
    ASSERT_OK(v1::AdminService::NewStub(Channel(Tls("ca1"), kTestAdminKey))
                  ->CreateApiKey(&context, request, out));
    ASSERT_FALSE(out->secret().empty());
    ASSERT_EQ(out->api_key().role(), role);
  }

  // "method principal role code resource" of every audit event matching
  // `filter` (newest first), read with the bootstrap key.
  std::vector<std::string> AuditEvents(const std::string& filter) const {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ListAuditEventsRequest request;
    request.set_filter(filter);
    request.set_page_size(1000);
    v1::ListAuditEventsResponse response;
    grpc::Status status =
        v1::AdminService::NewStub(Channel(Tls("ca1"), kTestAdminKey))
            ->ListAuditEvents(&context, request, &response);
    EXPECT_OK(status) << filter;
    std::vector<std::string> out;
    for (const v1::AuditEvent& e : response.audit_events()) {
      out.push_back(absl::StrCat(e.method(), " ", e.principal(), " ", e.role(),
                                 " ", e.code(), " ", e.resource()));
    }
    return out;
  }

  // Polls AuditEvents(filter) for up to 5 s (rows are written in batches
  // within ~100 ms) until it holds every one of `wanted`; returns the last
  // answer.
  std::vector<std::string> AwaitAuditEvents(
      const std::string& filter, const std::vector<std::string>& wanted) const {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (true) {
      std::vector<std::string> events = AuditEvents(filter);
      bool all = true;
      for (const std::string& w : wanted) {
        all = all && std::find(events.begin(), events.end(), w) != events.end();
      }
      if (all || absl::Now() >= deadline) return events;
      absl::SleepFor(absl::Milliseconds(50));  // polling the batch writer
    }
  }

  // rapportd against the test database with `extra` over RapportdEnvironment
  // (no RAPPORT_INSECURE, no bootstrap key unless given), waited for: its
  // exit code (-1 if it could not start or still ran after 30 s) and, in
  // `err`, its stderr.
  int RunToExit(const std::map<std::string, std::string>& extra,
                std::string* err) const {
    std::map<std::string, std::string> env = RapportdEnvironment(
        *db_,
        {{"RAPPORT_LISTEN", "127.0.0.1:0"}, {"RAPPORT_SHUTDOWN_GRACE", "1s"}});
    for (const auto& [name, value] : extra) env[name] = value;
    std::unique_ptr<ChildProcess> child =
        ChildProcess::Start({RAPPORTD_PATH}, env);
    err->clear();
    if (child == nullptr) return -1;
    const int code = child->Wait(absl::Seconds(30)).value_or(-1);
    *err = child->Stderr();
    return code;
  }

  static std::string* dir_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<RapportdProcess> server_;
};

std::string* SecureRapportdTest::dir_ = nullptr;

// --- The production configuration ------------------------------------------

TEST_F(SecureRapportdTest, PlaintextClientCannotTalkToIt) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  HealthCheckResponse health;
  EXPECT_THAT(HealthCheck(Channel(grpc::InsecureChannelCredentials()), &health),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  // Not even with the admin key.
  EXPECT_THAT(
      ListContacts(Channel(grpc::InsecureChannelCredentials(), kTestAdminKey)),
      StatusIs(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(SecureRapportdTest, HealthNeedsNoCredentialsOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  HealthCheckResponse health;
  ASSERT_OK(HealthCheck(Channel(Tls("ca1")), &health));
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
}

TEST_F(SecureRapportdTest, TlsWithoutKeyOrCertificateIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  auto anonymous = Channel(Tls("ca1"));
  EXPECT_THAT(ListContacts(anonymous),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED,
                       HasSubstr("authorization: Bearer")));
  v1::ListApiKeysResponse keys;
  EXPECT_THAT(ListApiKeys(anonymous, &keys),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  // Nor does a key the server does not know get in.
  EXPECT_THAT(ListContacts(Channel(Tls("ca1"), kUnknownKey)),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(SecureRapportdTest, BootstrapKeyIsAdmin) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  auto admin = Channel(Tls("ca1"), kTestAdminKey);
  ASSERT_NO_FATAL_FAILURE(ExpectOnlyBootstrapAdmin(admin));
  v1::Contact created;
  EXPECT_OK(CreateContact(admin, "Ada", &created));
  EXPECT_OK(EraseContact(admin, created.id()));
}

TEST_F(SecureRapportdTest, ReaderKeyReadsButCannotWrite) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  v1::Contact existing;
  ASSERT_OK(
      CreateContact(Channel(Tls("ca1"), kTestAdminKey), "Ada", &existing));
  v1::CreateApiKeyResponse reader_key;
  ASSERT_NO_FATAL_FAILURE(CreateKey("READER", &reader_key));

  auto reader = Channel(Tls("ca1"), reader_key.secret());
  EXPECT_OK(ListContacts(reader));
  v1::Contact created;
  EXPECT_THAT(CreateContact(reader, "Grace", &created),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                       AllOf(HasSubstr("READER"), HasSubstr("CreateContact"))));
  EXPECT_THAT(EraseContact(reader, existing.id()),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                       AllOf(HasSubstr("READER"), HasSubstr("EraseContact"))));
  // An API key is not an admin's: no key management either.
  v1::ListApiKeysResponse keys;
  EXPECT_THAT(ListApiKeys(reader, &keys),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  // The refused attempts to change something are audited under the key.
  const std::string name = reader_key.api_key().name();
  const std::vector<std::string> wanted = {
      absl::StrCat(kCreateContact, " ", name, " READER PERMISSION_DENIED "),
      absl::StrCat(kEraseContact, " ", name, " READER PERMISSION_DENIED ")};
  const std::vector<std::string> events =
      AwaitAuditEvents(absl::StrCat("principal = \"", name, "\""), wanted);
  for (const std::string& w : wanted) EXPECT_THAT(events, Contains(w));
}

TEST_F(SecureRapportdTest, MappedClientCertificateActsAsAgentAndIsAudited) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  auto billing = Channel(Tls("ca1", "client1"));  // no API key
  v1::Contact created;
  ASSERT_OK(CreateContact(billing, "Ada", &created));
  EXPECT_FALSE(created.id().empty());
  EXPECT_OK(ListContacts(billing));
  EXPECT_THAT(EraseContact(billing, created.id()),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                       AllOf(HasSubstr("AGENT"), HasSubstr("EraseContact"))));
  v1::ListApiKeysResponse keys;
  EXPECT_THAT(ListApiKeys(billing, &keys),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  const std::vector<std::string> wanted = {
      absl::StrCat(kCreateContact, " ", kBillingPrincipal,
                   " AGENT OK contacts/", created.id()),
      absl::StrCat(kEraseContact, " ", kBillingPrincipal,
                   " AGENT PERMISSION_DENIED ")};
  const std::vector<std::string> events = AwaitAuditEvents(
      absl::StrCat("principal = \"", kBillingPrincipal, "\""), wanted);
  for (const std::string& w : wanted) EXPECT_THAT(events, Contains(w));
}

// "authorization" wins over the certificate, for better or worse: a key
// with a narrower role narrows the caller, and a bad key is refused rather
// than quietly replaced by the certificate.
TEST_F(SecureRapportdTest, ApiKeyTakesPrecedenceOverClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  v1::CreateApiKeyResponse reader_key;
  ASSERT_NO_FATAL_FAILURE(CreateKey("READER", &reader_key));
  v1::Contact created;
  EXPECT_THAT(CreateContact(Channel(Tls("ca1", "client1"), reader_key.secret()),
                            "Ada", &created),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(CreateContact(Channel(Tls("ca1", "client1"), kUnknownKey), "Ada",
                            &created),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(SecureRapportdTest, ClientCertificateFromAnotherCaFailsTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(StartProduction());
  HealthCheckResponse health;
  // client2 is signed by the second CA, which the server does not trust for
  // clients: refused even for the public health check and with a valid key.
  EXPECT_THAT(HealthCheck(Channel(Tls("ca1", "client2")), &health),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(ListContacts(Channel(Tls("ca1", "client2"), kTestAdminKey)),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  // A client that does not trust the server's CA does not connect either.
  EXPECT_THAT(HealthCheck(Channel(Tls("ca2")), &health),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
}

// --- Refusing to start -------------------------------------------------------

TEST_F(SecureRapportdTest, BadTlsFilesExitTwoNamingTheVariable) {
  struct Case {
    std::string name;
    // Over ProductionEnv(); an empty value removes the variable.
    std::map<std::string, std::string> env;
    std::vector<std::string> message_parts;
  };
  const std::string missing = Path("missing.pem");
  const std::vector<Case> cases = {
      {"missing certificate",
       {{"RAPPORT_TLS_CERT", missing}},
       {"RAPPORT_TLS_CERT", missing}},
      {"missing key",
       {{"RAPPORT_TLS_KEY", missing}},
       {"RAPPORT_TLS_KEY", missing}},
      {"missing client CA",
       {{"RAPPORT_TLS_CLIENT_CA", missing}},
       {"RAPPORT_TLS_CLIENT_CA", missing}},
      {"key of another certificate",
       {{"RAPPORT_TLS_KEY", Path("server2.key")}},
       {"RAPPORT_TLS_KEY", Path("server2.key"), "does not match"}},
      {"certificate as the key",
       {{"RAPPORT_TLS_KEY", Path("server1.crt")}},
       {"RAPPORT_TLS_KEY"}},
      {"certificate without key",
       {{"RAPPORT_TLS_KEY", ""}},
       {"RAPPORT_TLS_KEY"}},
      {"client auth neither require nor optional",
       {{"RAPPORT_TLS_CLIENT_AUTH", "sometimes"}},
       {"RAPPORT_TLS_CLIENT_AUTH", "sometimes"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> env = ProductionEnv();
    env["RAPPORT_BOOTSTRAP_ADMIN_KEY"] = kTestAdminKey;
    for (const auto& [name, value] : c.env) {
      if (value.empty()) {
        env.erase(name);
      } else {
        env[name] = value;
      }
    }
    std::string err;
    EXPECT_EQ(RunToExit(env, &err), 2) << err;
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(err, HasSubstr(part));
    }
  }
}

TEST_F(SecureRapportdTest, ShortBootstrapKeyExitsTwo) {
  std::map<std::string, std::string> env = ProductionEnv();
  env["RAPPORT_BOOTSTRAP_ADMIN_KEY"] = std::string(31, 'k');
  std::string err;
  EXPECT_EQ(RunToExit(env, &err), 2) << err;
  EXPECT_THAT(err, HasSubstr("at least 32 characters"));
  EXPECT_THAT(err, Not(HasSubstr(std::string(31, 'k'))));

  // From a file too; the trailing newline does not count.
  const std::string file = Path("short-bootstrap-key");
  WriteFile(file, std::string(31, 'k') + "\n");
  env.erase("RAPPORT_BOOTSTRAP_ADMIN_KEY");
  env["RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"] = file;
  EXPECT_EQ(RunToExit(env, &err), 2) << err;
  EXPECT_THAT(err, HasSubstr("at least 32 characters"));
}

TEST_F(SecureRapportdTest, BootstrapKeyFileWithTrailingNewlineWorks) {
  // Exactly 32 characters: the newline must not be counted or kept.
  const std::string key = "file-bootstrap-key-0123456789abc";
  ASSERT_EQ(key.size(), 32u);
  const std::string file = Path("bootstrap-key");
  WriteFile(file, key + "\n");
  ASSERT_NO_FATAL_FAILURE(
      StartProduction({{"RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE", file}},
                      {"RAPPORT_BOOTSTRAP_ADMIN_KEY"}));

  auto admin = Channel(Tls("ca1"), key);
  ASSERT_NO_FATAL_FAILURE(ExpectOnlyBootstrapAdmin(admin));
  // The harness's default key was not given to this server.
  EXPECT_THAT(ListContacts(Channel(Tls("ca1"), kTestAdminKey)),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(SecureRapportdTest, BadBootstrapKeyFileSettingsExitTwo) {
  const std::string file = Path("both-bootstrap-key");
  WriteFile(file, std::string(kTestAdminKey) + "\n");
  std::map<std::string, std::string> env = ProductionEnv();
  env["RAPPORT_BOOTSTRAP_ADMIN_KEY"] = kTestAdminKey;
  env["RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"] = file;
  std::string err;
  EXPECT_EQ(RunToExit(env, &err), 2) << err;
  EXPECT_THAT(err, HasSubstr("RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"));

  const std::string missing = Path("missing-bootstrap-key");
  env.erase("RAPPORT_BOOTSTRAP_ADMIN_KEY");
  env["RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"] = missing;
  EXPECT_EQ(RunToExit(env, &err), 2) << err;
  EXPECT_THAT(err, AllOf(HasSubstr("RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"),
                         HasSubstr(missing)));
}

}  // namespace
}  // namespace rapport::testing
