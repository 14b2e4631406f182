#include "server/config/config.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::config {
namespace {

using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(vars);
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

std::string WriteFile(const std::string& text) {
  std::string path = ::testing::TempDir() + "/rapport_config_test.yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsFollowTheOperationsContract) {
  auto c = Load({}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command, Command::kServe);
  EXPECT_EQ(c->listen, "0.0.0.0:50051");
  EXPECT_EQ(c->metrics_listen, "0.0.0.0:9090");
  EXPECT_EQ(c->db.host, "127.0.0.1");
  EXPECT_EQ(c->db.port, 3306);
  EXPECT_EQ(c->db.user, "rapport");
  EXPECT_EQ(c->db.password, "");
  EXPECT_EQ(c->db.database, "rapport");
  EXPECT_EQ(c->db.pool_size, c->threads);
  EXPECT_FALSE(c->insecure);
  EXPECT_TRUE(c->migrate_on_start);
}

TEST(ConfigTest, FlagBeatsEnvironmentBeatsFile) {
  std::string file = WriteFile(
      "listen: 127.0.0.1:1\n"
      "db:\n  host: file-host\n  port: 1111\n  name: file-db\n");
  auto c =
      Load({"--config", file, "--db-host=flag-host"},
           Env({{"RAPPORT_DB_HOST", "env-host"}, {"RAPPORT_DB_PORT", "2222"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->db.host, "flag-host");
  EXPECT_EQ(c->db.port, 2222);
  EXPECT_EQ(c->db.database, "file-db");
  EXPECT_EQ(c->listen, "127.0.0.1:1");
}

TEST(ConfigTest, ConfigFileFromEnvironment) {
  std::string file = WriteFile("db:\n  pool_size: 7\n");
  auto c = Load({}, Env({{"RAPPORT_CONFIG", file}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->db.pool_size, 7);
}

TEST(ConfigTest, MigrateCommand) {
  auto c = Load({"migrate", "--db-name", "x"}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command, Command::kMigrate);
  EXPECT_EQ(c->db.database, "x");
}

TEST(ConfigTest, SecuritySettingsFromFileEnvAndFlags) {
  std::string file = WriteFile(
      "auth:\n  client_cert_roles:\n    - spiffe://c/sa/a=AGENT\n"
      "    - ops.example.com=READER\n  key_refresh: 500ms\n"
      "limits:\n  rate_per_key: 50\n  max_deadline: 30s\n"
      "tls:\n  client_auth: optional\n");
  auto c = Load({"--config", file, "--rate-burst", "70"}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->client_cert_roles,
              ::testing::ElementsAre("spiffe://c/sa/a=AGENT",
                                     "ops.example.com=READER"));
  EXPECT_EQ(c->key_refresh, absl::Milliseconds(500));
  EXPECT_EQ(c->rate_per_key, 50);
  EXPECT_EQ(c->rate_burst, 70);
  EXPECT_EQ(c->max_deadline, absl::Seconds(30));
  EXPECT_EQ(c->tls_client_auth, "optional");
  EXPECT_FALSE(Load({"--tls-client-auth", "sometimes"}, Env({})).ok());
  EXPECT_FALSE(Load({"--key-refresh", "1ms"}, Env({})).ok());
  std::string nested = WriteFile("auth:\n  client_cert_roles:\n    - [a]\n");
  EXPECT_FALSE(Load({"--config", nested}, Env({})).ok());
}

TEST(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(Load({"--help"}, Env({}))->command, Command::kHelp);
  EXPECT_EQ(Load({"--version"}, Env({}))->command, Command::kVersion);
}

TEST(ConfigTest, BooleanFlagWithoutValue) {
  auto c = Load({"--insecure"}, Env({}));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->insecure);
  c = Load({}, Env({{"RAPPORT_INSECURE", "1"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->insecure);
}

TEST(ConfigTest, UnknownFlagIsRejected) {
  auto c = Load({"--db-hots=x"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--db-hots"));
}

TEST(ConfigTest, BadValuesNameTheirSource) {
  auto c = Load({"--db-port=70000"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--db-port"));
  c = Load({}, Env({{"RAPPORT_SHUTDOWN_GRACE", "soon"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("RAPPORT_SHUTDOWN_GRACE"));
  c = Load({"--log-level=loud"}, Env({}));
  ASSERT_FALSE(c.ok());
  c = Load({"--default-phone-region=usa"}, Env({}));
  ASSERT_FALSE(c.ok());
}

TEST(ConfigTest, UnknownFileKeyIsRejected) {
  std::string file = WriteFile("db:\n  hots: x\n");
  auto c = Load({"--config", file}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("db.hots"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto c = Load({"--config", "/nonexistent/rapport.yaml"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, MalformedYamlIsInvalidArgument) {
  std::string file = WriteFile("db: [unclosed\n");
  auto c = Load({"--config", file}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, HelpDocumentsEveryContractVariable) {
  const std::string help = HelpText();
  for (const char* var :
       {"RAPPORT_LISTEN", "RAPPORT_METRICS_LISTEN", "RAPPORT_DB_HOST",
        "RAPPORT_DB_PORT", "RAPPORT_DB_USER", "RAPPORT_DB_PASSWORD",
        "RAPPORT_DB_NAME", "RAPPORT_DB_POOL_SIZE", "RAPPORT_PLUGIN_DIR",
        "RAPPORT_CONFIG", "RAPPORT_BOOTSTRAP_ADMIN_KEY", "RAPPORT_TLS_CERT",
        "RAPPORT_TLS_KEY", "RAPPORT_TLS_CLIENT_CA", "RAPPORT_INSECURE"}) {
    EXPECT_THAT(help, HasSubstr(var));
  }
}

TEST(ConfigTest, UnexpectedPositionalArgument) {
  auto c = Load({"serve", "extra"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigTest, OutboxLease) {
  auto c = Load({}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_lease, absl::Seconds(30));
  c = Load({}, Env({{"RAPPORT_OUTBOX_LEASE", "2s"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_lease, absl::Seconds(2));
  c = Load({"--config", WriteFile("outbox:\n  lease: 1m\n")}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_lease, absl::Minutes(1));
  c = Load({"--outbox-lease=0s"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--outbox-lease"));
  EXPECT_THAT(HelpText(), HasSubstr("RAPPORT_OUTBOX_LEASE"));
}

TEST(ConfigTest, OutboxRetries) {
  auto c = Load({}, Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_max_attempts, 8);
  EXPECT_EQ(c->outbox_initial_backoff, absl::Milliseconds(500));
  c = Load({}, Env({{"RAPPORT_OUTBOX_MAX_ATTEMPTS", "3"},
                    {"RAPPORT_OUTBOX_INITIAL_BACKOFF", "50ms"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_max_attempts, 3);
  EXPECT_EQ(c->outbox_initial_backoff, absl::Milliseconds(50));
  c = Load({"--config",
            WriteFile("outbox:\n  max_attempts: 5\n  initial_backoff: 2s\n")},
           Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_max_attempts, 5);
  EXPECT_EQ(c->outbox_initial_backoff, absl::Seconds(2));
  c = Load({"--outbox-max-attempts=0"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--outbox-max-attempts"));
  c = Load({"--outbox-initial-backoff=0s"}, Env({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--outbox-initial-backoff"));
  EXPECT_THAT(HelpText(), HasSubstr("RAPPORT_OUTBOX_MAX_ATTEMPTS"));
  EXPECT_THAT(HelpText(), HasSubstr("RAPPORT_OUTBOX_INITIAL_BACKOFF"));
}

}  // namespace
}  // namespace rapport::config
