// End-to-end authentication, authorization, audit and limits through the
// real server over gRPC: the RPC x role x key-state matrix, revocation,
// expiry, the bootstrap key, replicas, the rate limit, the deadline cap and
// the audit trail of every mutation.
#include <grpcpp/generic/generic_stub.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "server/audit/audit_log.h"
#include "server/common/time_util.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::HasSubstr;

// Who may call each RPC, written out by hand (not derived from the server's
// table, which this test checks). "" = public.
const std::map<std::string, std::set<std::string>>& ExpectedRoles() {
  static const auto* roles = new std::map<std::string, std::set<std::string>>{
      {"/rapport.v1.ContactService/CreateContact", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/GetContact", {"ADMIN", "AGENT", "READER"}},
      {"/rapport.v1.ContactService/UpdateContact", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/DeleteContact", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/UndeleteContact", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/ListContacts", {"ADMIN", "AGENT", "READER"}},
      {"/rapport.v1.ContactService/MergeContacts", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/ImportContacts", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/ExportContacts", {"ADMIN", "AGENT"}},
      {"/rapport.v1.ContactService/EraseContact", {"ADMIN"}},
      {"/rapport.v1.InteractionService/LogInteraction", {"ADMIN", "AGENT"}},
      {"/rapport.v1.InteractionService/GetInteraction",
       {"ADMIN", "AGENT", "READER"}},
      {"/rapport.v1.InteractionService/ListInteractions",
       {"ADMIN", "AGENT", "READER"}},
      {"/rapport.v1.AdminService/ListPlugins", {"ADMIN"}},
      {"/rapport.v1.AdminService/ListParkedEvents", {"ADMIN"}},
      {"/rapport.v1.AdminService/RetryParkedEvent", {"ADMIN"}},
      {"/rapport.v1.AdminService/CreateApiKey", {"ADMIN"}},
      {"/rapport.v1.AdminService/ListApiKeys", {"ADMIN"}},
      {"/rapport.v1.AdminService/RevokeApiKey", {"ADMIN"}},
      {"/rapport.v1.AdminService/ListAuditEvents", {"ADMIN"}},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
       {"ADMIN", "AGENT", "READER"}},
      {"/grpc.health.v1.Health/Check", {""}},
  };
  return *roles;
}

// Calls `method` with one empty request message (a valid, empty protobuf)
// and half-closes, through the generic API so that unary and streaming
// methods are called alike. `key` "" sends no authorization.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& method, const std::string& key) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  // Over the fixture's channel, which adds the test admin key unless the
  // call sets its own; "no key" calls use bare() instead.
  if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag;
  bool ok;
  auto step = [&](int t) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(t));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (step(1)) {
    grpc::Slice empty(std::string(""));
    grpc::ByteBuffer request(&empty, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    if (step(2)) {
      call->WritesDone(reinterpret_cast<void*>(3));
      step(3);
    }
    grpc::ByteBuffer response;
    for (int i = 0; i < 100; ++i) {
      call->Read(&response, reinterpret_cast<void*>(4));
      if (!step(4)) break;
    }
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  return status;
}

class AuthTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    admin_ = v1::AdminService::NewStub(channel());
  }

  // A channel that sends no credentials at all.
  std::shared_ptr<grpc::Channel> bare() {
    return CreateKeyedChannel(address(), /*key=*/"");
  }

  // Creates a key with `role` (and optional expiry) as the test admin.
  v1::CreateApiKeyResponse MustCreateKey(
      const std::string& role,
      std::optional<absl::Time> expire = std::nullopt) {
    v1::CreateApiKeyRequest request;
    request.mutable_api_key()->set_display_name(absl::StrCat("test ", role));
    request.mutable_api_key()->set_role(role);
    if (expire) {
      *request.mutable_api_key()->mutable_expire_time() = ToTimestamp(*expire);
    }
    v1::CreateApiKeyResponse response;
    grpc::Status s = admin_->CreateApiKey(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  v1::ApiKey MustRevoke(const std::string& name) {
    v1::RevokeApiKeyRequest request;
    request.set_name(name);
    v1::ApiKey revoked;
    grpc::Status s = admin_->RevokeApiKey(Context().get(), request, &revoked);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return revoked;
  }

  std::vector<v1::AuditEvent> Audit(const std::string& filter) {
    EXPECT_OK(server().audit_log().Flush(absl::Seconds(10)));
    std::vector<v1::AuditEvent> events;
    v1::ListAuditEventsRequest request;
    request.set_filter(filter);
    request.set_page_size(1000);
    v1::ListAuditEventsResponse response;
    grpc::Status s =
        admin_->ListAuditEvents(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : response.audit_events()) events.push_back(e);
    return events;
  }

  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(AuthTest, MatrixOfEveryRpcRoleAndKeyState) {
  // The matrix covers every RPC of every core service.
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service :
       {"rapport.v1.ContactService", "rapport.v1.InteractionService",
        "rapport.v1.AdminService"}) {
    const auto* s = pool->FindServiceByName(service);
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < s->method_count(); ++i) {
      EXPECT_EQ(ExpectedRoles().count(
                    absl::StrCat("/", service, "/", s->method(i)->name())),
                1u)
          << s->method(i)->full_name() << " is missing from the matrix";
    }
  }

  std::map<std::string, std::string> valid;  // role -> secret
  for (const char* role : {"ADMIN", "AGENT", "READER"}) {
    valid[role] = MustCreateKey(role).secret();
  }
  const std::string revoked = [&] {
    v1::CreateApiKeyResponse k = MustCreateKey("ADMIN");
    MustRevoke(k.api_key().name());
    return k.secret();
  }();
  const std::string expired =
      MustCreateKey("ADMIN", absl::Now() + absl::Milliseconds(1500)).secret();
  absl::SleepFor(absl::Milliseconds(1600));

  int calls = 0;
  for (const auto& [method, allowed] : ExpectedRoles()) {
    const bool is_public = allowed.count("") > 0;
    for (const auto& [label, key] :
         std::vector<std::pair<std::string, std::string>>{
             {"no key", ""},
             {"revoked key", revoked},
             {"expired key", expired},
             {"unknown key", "rpk_0000000000000000_nope"}}) {
      grpc::Status s = CallEmpty(key.empty() ? bare() : channel(), method, key);
      ++calls;
      if (is_public) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::OK)
            << method << " " << label;
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << method << " with " << label << ": " << s.error_message();
      }
    }
    for (const auto& [role, key] : valid) {
      grpc::Status s = CallEmpty(channel(), method, key);
      ++calls;
      const bool permitted = is_public || allowed.count(role) > 0;
      if (permitted) {
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << method << " as " << role << ": " << s.error_message();
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << method << " as " << role << ": " << s.error_message();
        EXPECT_NE(s.error_code(), grpc::StatusCode::INTERNAL)
            << method << " as " << role << ": " << s.error_message();
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << method << " as " << role << ": " << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr(role));
      }
    }
  }
  EXPECT_EQ(calls, static_cast<int>(ExpectedRoles().size()) * 7);
}

TEST_F(AuthTest, MessagesSayWhatToFix) {
  grpc::Status s =
      CallEmpty(bare(), "/rapport.v1.ContactService/ListContacts", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer"));
  const v1::CreateApiKeyResponse reader = MustCreateKey("READER");
  s = CallEmpty(channel(), "/rapport.v1.ContactService/EraseContact",
                reader.secret());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr(reader.api_key().name()));
  EXPECT_THAT(s.error_message(), HasSubstr("contacts.erase"));
  // Not a bearer token at all.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Basic dXNlcjpwYXNz");
  v1::ListContactsResponse page;
  s = contacts().ListContacts(&ctx, v1::ListContactsRequest(), &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("Bearer"));
}

TEST_F(AuthTest, KeysAreShownOnceStoredHashedListedAndRevoked) {
  const v1::CreateApiKeyResponse created = MustCreateKey("AGENT");
  EXPECT_TRUE(absl::StartsWith(created.secret(), "rpk_"));
  EXPECT_EQ(created.api_key().state(), v1::ApiKey::ACTIVE);
  EXPECT_EQ(created.api_key().creator(), "apiKeys/bootstrap");
  // The secret is nowhere in the database (its characters are [A-Za-z0-9_-],
  // safe inside a literal); its SHA-256 is.
  auto leaked = db().QueryInt(absl::StrCat(
      "SELECT COUNT(*) FROM api_keys WHERE INSTR(CONCAT(id, secret_hash, "
      "secret_prefix, display_name, role, creator), '",
      created.secret(), "') > 0"));
  ASSERT_TRUE(leaked.ok()) << leaked.status();
  EXPECT_EQ(*leaked, 0);
  auto hashed = db().QueryInt(
      "SELECT COUNT(*) FROM api_keys WHERE LENGTH(secret_hash) = 64");
  ASSERT_TRUE(hashed.ok());
  EXPECT_EQ(*hashed, 2);  // the bootstrap key and this one

  // Listed without the secret.
  v1::ListApiKeysResponse listed;
  ASSERT_TRUE(
      admin_->ListApiKeys(Context().get(), v1::ListApiKeysRequest(), &listed)
          .ok());
  bool found = false;
  for (const v1::ApiKey& k : listed.api_keys()) {
    EXPECT_EQ(k.SerializeAsString().find(created.secret()), std::string::npos);
    if (k.name() == created.api_key().name()) found = true;
  }
  EXPECT_TRUE(found);

  // Works, then revoked: refused at once, and no longer listed by default.
  v1::ListContactsResponse page;
  EXPECT_TRUE(CallEmpty(channel(), "/rapport.v1.ContactService/ListContacts",
                        created.secret())
                  .ok());
  const v1::ApiKey revoked = MustRevoke(created.api_key().name());
  EXPECT_EQ(revoked.state(), v1::ApiKey::REVOKED);
  grpc::Status s = CallEmpty(
      channel(), "/rapport.v1.ContactService/ListContacts", created.secret());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("revoked"));
  ASSERT_TRUE(
      admin_->ListApiKeys(Context().get(), v1::ListApiKeysRequest(), &listed)
          .ok());
  for (const v1::ApiKey& k : listed.api_keys()) {
    EXPECT_NE(k.name(), created.api_key().name());
  }
  // Revoking again returns it unchanged; an unknown key is NOT_FOUND.
  EXPECT_EQ(MustRevoke(created.api_key().name()).revoke_time().seconds(),
            revoked.revoke_time().seconds());
  v1::RevokeApiKeyRequest unknown;
  unknown.set_name("apiKeys/0123456789abcdef");
  v1::ApiKey out;
  EXPECT_EQ(admin_->RevokeApiKey(Context().get(), unknown, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AuthTest, CreateApiKeyValidates) {
  auto create = [&](const std::string& name, const std::string& role,
                    std::optional<absl::Time> expire = std::nullopt) {
    v1::CreateApiKeyRequest request;
    request.mutable_api_key()->set_display_name(name);
    request.mutable_api_key()->set_role(role);
    if (expire) {
      *request.mutable_api_key()->mutable_expire_time() = ToTimestamp(*expire);
    }
    v1::CreateApiKeyResponse response;
    return admin_->CreateApiKey(Context().get(), request, &response);
  };
  EXPECT_EQ(create("", "READER").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status s = create("x", "SUPERUSER");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("READER"));
  EXPECT_EQ(create("x", "READER", absl::Now() - absl::Hours(1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(std::string(201, 'x'), "READER").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AuthTest, RevokedBootstrapKeyStaysRevokedAcrossRestarts) {
  v1::ListApiKeysResponse listed;
  ASSERT_TRUE(
      admin_->ListApiKeys(Context().get(), v1::ListApiKeysRequest(), &listed)
          .ok());
  ASSERT_EQ(listed.api_keys_size(), 1);
  EXPECT_EQ(listed.api_keys(0).name(), "apiKeys/bootstrap");
  // A second admin, then the bootstrap key revoked.
  const std::string second = MustCreateKey("ADMIN").secret();
  MustRevoke("apiKeys/bootstrap");
  StartServer();  // same config, so the same bootstrap key
  EXPECT_EQ(CallEmpty(channel(), "/rapport.v1.AdminService/ListApiKeys",
                      kTestAdminKey)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(
      CallEmpty(channel(), "/rapport.v1.AdminService/ListApiKeys", second)
          .ok());
}

TEST_F(AuthTest, KeyCreatedOnOneReplicaWorksOnAnotherAfterRefresh) {
  config::Config second = config();
  second.key_refresh = absl::Milliseconds(200);
  auto replica = app::RapportServer::Start(second);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE((*replica)->WaitUntilServing(absl::Seconds(30)));
  auto other =
      CreateKeyedChannel(absl::StrCat("127.0.0.1:", (*replica)->port()), "");
  const v1::CreateApiKeyResponse key = MustCreateKey("READER");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  grpc::Status s;
  do {
    s = CallEmpty(other, "/rapport.v1.ContactService/ListContacts",
                  key.secret());
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // And a revocation on the first reaches the second.
  MustRevoke(key.api_key().name());
  const absl::Time deadline2 = absl::Now() + absl::Seconds(10);
  do {
    s = CallEmpty(other, "/rapport.v1.ContactService/ListContacts",
                  key.secret());
    if (!s.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  (*replica)->Shutdown(absl::ZeroDuration());
}

class RateLimitTest : public AuthTest {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    config().rate_per_key = 5;
    config().rate_burst = 5;
    StartServer();
    admin_ = v1::AdminService::NewStub(channel());
  }
};

TEST_F(RateLimitTest, TripsWithRetryInfoAndRecovers) {
  const std::string method = "/rapport.v1.ContactService/ListContacts";
  // Whatever is left of the burst, then refusals.
  grpc::Status s;
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    s = CallEmpty(channel(), method, kTestAdminKey);
    if (!s.ok()) break;
    ++ok;
  }
  EXPECT_LE(ok, 6);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("retry after"));
  // Another key has its own bucket.
  const v1::CreateApiKeyResponse other = [&] {
    absl::SleepFor(absl::Milliseconds(250));  // one token for the create
    return MustCreateKey("READER");
  }();
  EXPECT_TRUE(CallEmpty(channel(), method, other.secret()).ok());
  // After the advertised wait, calls go through again.
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_TRUE(CallEmpty(channel(), method, kTestAdminKey).ok());
}

class DeadlineCapTest : public AuthTest {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    config().max_deadline = absl::Seconds(1);
    StartServer();
    admin_ = v1::AdminService::NewStub(channel());
  }
};

TEST_F(DeadlineCapTest, LongCallsAreCancelledAtTheCap) {
  // Health.Watch streams until cancelled: the cap ends it although the
  // client allows 20 s.
  auto health = grpc::health::v1::Health::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::health::v1::HealthCheckRequest request;
  const absl::Time start = absl::Now();
  auto reader = health->Watch(&ctx, request);
  grpc::health::v1::HealthCheckResponse response;
  while (reader->Read(&response)) {
  }
  grpc::Status s = reader->Finish();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << s.error_message();
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(10));
}

TEST_F(AuthTest, EveryMutationIsAudited) {
  auto with_id = [](const std::string& id) {
    auto ctx = Context();
    ctx->AddMetadata("x-request-id", id);
    return ctx;
  };
  v1::CreateContactRequest create;
  *create.mutable_contact() = MakeContact("Ada", "Lovelace", "ada@example.com");
  v1::Contact ada;
  ASSERT_TRUE(
      contacts().CreateContact(with_id("req-create").get(), create, &ada).ok());
  *create.mutable_contact() = MakeContact("Ada", "L", "ada2@example.com");
  v1::Contact dup;
  ASSERT_TRUE(contacts().CreateContact(Context().get(), create, &dup).ok());
  v1::UpdateContactRequest update;
  update.mutable_contact()->set_id(ada.id());
  update.mutable_contact()->set_company("Analytical Engines");
  update.mutable_update_mask()->add_paths("company");
  v1::Contact updated;
  ASSERT_TRUE(contacts().UpdateContact(Context().get(), update, &updated).ok());
  v1::MergeContactsRequest merge;
  merge.set_primary_id(ada.id());
  merge.add_duplicate_ids(dup.id());
  v1::Contact merged;
  ASSERT_TRUE(contacts().MergeContacts(Context().get(), merge, &merged).ok());
  v1::LogInteractionRequest log;
  log.mutable_interaction()->set_contact_id(ada.id());
  log.mutable_interaction()->set_type(v1::CALL);
  log.mutable_interaction()->set_subject("hello");
  v1::Interaction call;
  grpc::Status ls = interactions().LogInteraction(Context().get(), log, &call);
  ASSERT_TRUE(ls.ok()) << ls.error_message();
  v1::DeleteContactRequest del;
  del.set_id(ada.id());
  v1::Contact deleted;
  ASSERT_TRUE(contacts().DeleteContact(Context().get(), del, &deleted).ok());
  // A failing mutation and a refused one are audited too.
  v1::UndeleteContactRequest undel;
  undel.set_id("999999");
  v1::Contact none;
  EXPECT_EQ(
      contacts().UndeleteContact(Context().get(), undel, &none).error_code(),
      grpc::StatusCode::NOT_FOUND);
  const v1::CreateApiKeyResponse reader = MustCreateKey("READER");
  EXPECT_EQ(CallEmpty(channel(), "/rapport.v1.ContactService/EraseContact",
                      reader.secret())
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallEmpty(bare(), "/rapport.v1.ContactService/CreateContact", "")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::EraseContactRequest erase;
  erase.set_id(ada.id());
  v1::EraseContactResponse erased;
  ASSERT_TRUE(contacts().EraseContact(Context().get(), erase, &erased).ok());
  // Reads are not audited.
  v1::ListContactsResponse page;
  ASSERT_TRUE(
      contacts()
          .ListContacts(Context().get(), v1::ListContactsRequest(), &page)
          .ok());

  const std::string ada_name = absl::StrCat("contacts/", ada.id());
  std::vector<v1::AuditEvent> events = Audit("");
  std::multiset<std::string> seen;
  for (const v1::AuditEvent& e : events) {
    seen.insert(absl::StrCat(e.method(), " ", e.code()));
    EXPECT_FALSE(absl::StrContains(e.method(), "List")) << e.method();
    EXPECT_TRUE(absl::StartsWith(e.name(), "auditEvents/"));
    EXPECT_TRUE(e.has_event_time());
  }
  for (const char* expected : {
           "/rapport.v1.ContactService/CreateContact OK",
           "/rapport.v1.ContactService/UpdateContact OK",
           "/rapport.v1.ContactService/MergeContacts OK",
           "/rapport.v1.InteractionService/LogInteraction OK",
           "/rapport.v1.ContactService/DeleteContact OK",
           "/rapport.v1.ContactService/UndeleteContact NOT_FOUND",
           "/rapport.v1.AdminService/CreateApiKey OK",
           "/rapport.v1.ContactService/EraseContact PERMISSION_DENIED",
           "/rapport.v1.ContactService/CreateContact UNAUTHENTICATED",
           "/rapport.v1.ContactService/EraseContact OK",
       }) {
    EXPECT_GE(seen.count(expected), 1u) << expected;
  }
  EXPECT_EQ(seen.count("/rapport.v1.ContactService/CreateContact OK"), 2u);

  // Who, what, which resource, request id.
  std::vector<v1::AuditEvent> by_request = Audit("request_id = \"req-create\"");
  ASSERT_EQ(by_request.size(), 1u);
  EXPECT_EQ(by_request[0].principal(), "apiKeys/bootstrap");
  EXPECT_EQ(by_request[0].role(), "ADMIN");
  EXPECT_EQ(by_request[0].resource(), ada_name);
  EXPECT_EQ(by_request[0].code(), "OK");
  EXPECT_THAT(by_request[0].peer(), HasSubstr("127.0.0.1"));
  // The erased contact's trail is still there, by id only.
  std::vector<v1::AuditEvent> trail =
      Audit(absl::StrCat("resource = \"", ada_name, "\""));
  std::set<std::string> methods;
  for (const auto& e : trail) methods.insert(e.method());
  EXPECT_TRUE(methods.count("/rapport.v1.ContactService/EraseContact"));
  EXPECT_TRUE(methods.count("/rapport.v1.ContactService/UpdateContact"));
  EXPECT_TRUE(methods.count("/rapport.v1.ContactService/MergeContacts"));
  // The refused call names the reader's key.
  std::vector<v1::AuditEvent> refused =
      Audit(absl::StrCat("principal = \"", reader.api_key().name(), "\""));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].code(), "PERMISSION_DENIED");
  EXPECT_EQ(refused[0].role(), "READER");
  // No personal data of the erased contact anywhere in the trail.
  for (const v1::AuditEvent& e : Audit("")) {
    EXPECT_FALSE(absl::StrContains(e.SerializeAsString(), "ada@example.com"));
    EXPECT_FALSE(absl::StrContains(e.SerializeAsString(), "Lovelace"));
  }
}

}  // namespace
}  // namespace rapport::testing
