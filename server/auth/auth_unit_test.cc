// Unit tests of the pieces of authentication that need no server: secrets,
// the permission table, the rate limiter, client-certificate role mapping.
#include <set>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "rapport/v1/admin_service.pb.h"
#include "rapport/v1/contact_service.pb.h"
#include "rapport/v1/interaction_service.pb.h"
#include "server/auth/api_key.h"
#include "server/auth/authenticator.h"
#include "server/auth/permissions.h"
#include "server/auth/rate_limiter.h"
#include "tests/support/status_matchers.h"

namespace rapport::auth {
namespace {

using ::rapport::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ApiKeyTest, SecretsAreRandomWellFormedAndHashed) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto s = GenerateSecret();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->key_id.size(), 16u);
    EXPECT_TRUE(absl::StartsWith(s->secret, "rpk_" + s->key_id + "_"));
    // 32 random bytes in unpadded base64url: 43 characters.
    EXPECT_EQ(s->secret.size(), 4 + 16 + 1 + 43u);
    EXPECT_EQ(s->hash, HashSecret(s->secret));
    EXPECT_EQ(s->hash.size(), 64u);
    EXPECT_TRUE(seen.insert(s->secret).second);
  }
}

TEST(ApiKeyTest, HashIsSha256) {
  EXPECT_EQ(HashSecret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(HashSecret("abc"), HashSecret("abd"));
}

TEST(ApiKeyTest, BearerToken) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("abc"), "");
}

// Every RPC of every core service has a line in the table: a new RPC without
// one would silently be ADMIN-only.
TEST(PermissionsTest, EveryCoreMethodIsDeclared) {
  Permissions p;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int checked = 0;
  for (const char* service :
       {"rapport.v1.ContactService", "rapport.v1.InteractionService",
        "rapport.v1.AdminService"}) {
    const auto* s = pool->FindServiceByName(service);
    ASSERT_NE(s, nullptr) << service;
    for (int i = 0; i < s->method_count(); ++i) {
      const std::string path =
          "/" + std::string(service) + "/" + s->method(i)->name();
      EXPECT_NE(p.Find(path), nullptr) << path << " has no permission";
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(PermissionsTest, CoreRoles) {
  Permissions p;
  const Principal reader{"apiKeys/r", "READER"};
  const Principal agent{"apiKeys/a", "AGENT"};
  const Principal admin{"apiKeys/x", "ADMIN"};
  const std::string get = "/rapport.v1.ContactService/GetContact";
  const std::string create = "/rapport.v1.ContactService/CreateContact";
  const std::string erase = "/rapport.v1.ContactService/EraseContact";
  const std::string keys = "/rapport.v1.AdminService/CreateApiKey";
  EXPECT_OK(p.Authorize(reader, get));
  EXPECT_THAT(p.Authorize(reader, create),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("contacts.write")));
  EXPECT_OK(p.Authorize(agent, create));
  EXPECT_THAT(p.Authorize(agent, erase),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(p.Authorize(agent, keys),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(p.Authorize(admin, erase));
  EXPECT_OK(p.Authorize(admin, keys));
  // Health is public: any principal, even one without a role.
  EXPECT_OK(p.Authorize(Principal{}, "/grpc.health.v1.Health/Check"));
  EXPECT_TRUE(p.Find(create)->mutating);
  EXPECT_FALSE(p.Find(get)->mutating);
}

TEST(PermissionsTest, PluginDeclarations) {
  Permissions p;
  const std::string redeem = "/rapport.loyalty.v1.LoyaltyService/RedeemReward";
  const std::string get = "/rapport.loyalty.v1.LoyaltyService/GetAccount";
  const std::string undeclared = "/rapport.loyalty.v1.LoyaltyService/Secret";
  ASSERT_OK(p.DeclareMethod("rapport.loyalty", redeem, "rapport.loyalty.redeem",
                            true));
  ASSERT_OK(
      p.DeclareMethod("rapport.loyalty", get, "rapport.loyalty.read", false));
  ASSERT_OK(
      p.GrantPermission("rapport.loyalty", "READER", "rapport.loyalty.read"));
  ASSERT_OK(p.GrantPermission("rapport.loyalty", "rapport.loyalty.manager",
                              "rapport.loyalty.redeem"));
  EXPECT_TRUE(p.RoleExists("rapport.loyalty.manager"));
  const Principal manager{"apiKeys/m", "rapport.loyalty.manager"};
  const Principal reader{"apiKeys/r", "READER"};
  EXPECT_OK(p.Authorize(manager, redeem));
  EXPECT_THAT(p.Authorize(manager, get),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_OK(p.Authorize(reader, get));
  EXPECT_THAT(p.Authorize(reader, redeem),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Undeclared plugin methods fail closed: ADMIN only.
  EXPECT_THAT(p.Authorize(reader, undeclared),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("declares no permission")));
  EXPECT_OK(p.Authorize(Principal{"apiKeys/x", "ADMIN"}, undeclared));
}

TEST(PermissionsTest, PluginsStayInTheirNamespace) {
  Permissions p;
  // A core permission, another plugin's, a core method, a bad name.
  EXPECT_THAT(p.DeclareMethod("a.b", "/x.S/M", "contacts.read", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p.DeclareMethod("a.b", "/x.S/M", "a.bc.read", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p.DeclareMethod("a.b", "/rapport.v1.ContactService/GetContact",
                              "a.b.read", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p.DeclareMethod("a.b", "x.S/M", "a.b.read", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(p.DeclareMethod("a.b", "/x.S/M", "a.b.read", false));
  EXPECT_THAT(p.DeclareMethod("a.b", "/x.S/M", "a.b.read", false),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(p.GrantPermission("a.b", "READER", "contacts.erase"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p.GrantPermission("a.b", "c.d.role", "a.b.read"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(p.RoleExists("c.d.role"));
}

TEST(RateLimiterTest, BurstThenRate) {
  RateLimiter limiter(/*rate_per_second=*/10, /*burst=*/5);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.Acquire("k", t0), absl::ZeroDuration()) << i;
  }
  const absl::Duration wait = limiter.Acquire("k", t0);
  EXPECT_GT(wait, absl::ZeroDuration());
  EXPECT_LE(wait, absl::Milliseconds(100));
  // Another caller has its own bucket.
  EXPECT_EQ(limiter.Acquire("other", t0), absl::ZeroDuration());
  // After the advertised wait, a token is there again: the bucket recovers.
  EXPECT_EQ(limiter.Acquire("k", t0 + wait), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("k", t0 + wait), absl::ZeroDuration());
  // A second later it has refilled to the burst, not beyond.
  const absl::Time t1 = t0 + absl::Seconds(10);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.Acquire("k", t1), absl::ZeroDuration()) << i;
  }
  EXPECT_GT(limiter.Acquire("k", t1), absl::ZeroDuration());
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(limiter.Acquire("k", absl::UnixEpoch()), absl::ZeroDuration());
  }
}

TEST(ClientCertRolesTest, Parses) {
  Permissions p;
  auto roles = ParseClientCertRoles(
      {"spiffe://c/ns/crm/sa/billing=AGENT", "ops.example.com=READER"}, p);
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_EQ(roles->at("spiffe://c/ns/crm/sa/billing"), "AGENT");
  EXPECT_EQ(roles->at("ops.example.com"), "READER");
  EXPECT_THAT(ParseClientCertRoles({"x=NOPE"}, p).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NOPE")));
  EXPECT_THAT(ParseClientCertRoles({"=AGENT"}, p).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseClientCertRoles({"x"}, p).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace rapport::auth
