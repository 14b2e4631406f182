#include "tests/support/test_database.h"

#include <arpa/inet.h>
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace rapport::testing {
namespace {

constexpr char kFixtureEnv[] = "RAPPORT_TEST_DB_DIR";

// Connector errors 2000-2999 are client-side (2002/2003: cannot connect,
// 2006/2013: server gone); everything else is the server refusing the SQL.
absl::Status ToStatus(const sql::SQLException& e, absl::string_view what) {
  std::string message =
      absl::StrCat(what, ": ", e.what(), " (MySQL error ", e.getErrorCode(),
                   ", SQLSTATE ", std::string(e.getSQLState()), ")");
  if (e.getErrorCode() >= 2000 && e.getErrorCode() < 3000) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Reads the single line the fixture wrote to `dir`/`file`.
absl::StatusOr<std::string> ReadFixtureFile(const std::string& dir,
                                            absl::string_view file) {
  std::string path = absl::StrCat(dir, "/", file);
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path,
        ": the mariadb fixture did not start (see the mariadb_start test "
        "and ",
        dir, "/mariadb.log)"));
  }
  return line;
}

// Root on the fixture's server over TCP; no default schema.
absl::StatusOr<std::unique_ptr<sql::Connection>> ConnectAsRoot(int port) {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("tcp://127.0.0.1");
  options["port"] = port;
  options["userName"] = sql::SQLString("root");
  options["password"] = sql::SQLString("");
  options["OPT_CONNECT_TIMEOUT"] = 10;
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  try {
    // The driver singleton is created on first use; serialise that.
    static absl::Mutex driver_mu(absl::kConstInit);
    absl::MutexLock lock(&driver_mu);
    sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
    return std::unique_ptr<sql::Connection>(driver->connect(options));
  } catch (const sql::SQLException& e) {
    return ToStatus(e, absl::StrCat("connecting to the test MariaDB on "
                                    "127.0.0.1:",
                                    port));
  }
}

std::string UniqueDatabaseName() {
  static std::atomic<int> counter{0};
  static absl::Mutex bitgen_mu(absl::kConstInit);
  static absl::BitGen* bitgen = new absl::BitGen();
  uint32_t random;
  {
    absl::MutexLock lock(&bitgen_mu);
    random = absl::Uniform<uint32_t>(*bitgen, 0, 1u << 24);
  }
  return absl::StrFormat("t_%d_%d_%06x", getpid(), ++counter, random);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create() {
  const char* dir_env = std::getenv(kFixtureEnv);
  if (dir_env == nullptr || *dir_env == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat(kFixtureEnv,
                     " is not set: run through ctest so the mariadb fixture "
                     "starts the test database (e.g. ctest --test-dir build "
                     "-R <test>)"));
  }
  std::string dir = dir_env;

  absl::StatusOr<std::string> port_text = ReadFixtureFile(dir, "port");
  if (!port_text.ok()) return port_text.status();
  int port = 0;
  if (!absl::SimpleAtoi(*port_text, &port) || port <= 0 || port > 65535) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, "/port does not hold a port number: \"", *port_text, "\""));
  }
  absl::StatusOr<std::string> socket = ReadFixtureFile(dir, "socket");
  if (!socket.ok()) return socket.status();

  absl::StatusOr<std::unique_ptr<sql::Connection>> connection =
      ConnectAsRoot(port);
  if (!connection.ok()) return connection.status();

  rapport::storage::DbOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.user = "root";
  options.password = "";
  options.database = UniqueDatabaseName();
  try {
    std::unique_ptr<sql::Statement> statement((*connection)->createStatement());
    statement->execute(
        absl::StrCat("CREATE DATABASE `", options.database,
                     "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"));
    (*connection)->setSchema(options.database);
  } catch (const sql::SQLException& e) {
    return ToStatus(e, absl::StrCat("creating database ", options.database));
  }
  return std::unique_ptr<TestDatabase>(new TestDatabase(
      std::move(dir), std::move(options), *std::move(connection)));
}

TestDatabase::TestDatabase(std::string fixture_dir,
                           rapport::storage::DbOptions options,
                           std::unique_ptr<sql::Connection> connection)
    : fixture_dir_(std::move(fixture_dir)),
      options_(std::move(options)),
      connection_(std::move(connection)) {}

TestDatabase::~TestDatabase() {
  const std::string drop =
      absl::StrCat("DROP DATABASE IF EXISTS `", name(), "`");
  absl::MutexLock lock(&mu_);
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    statement->execute(drop);
    return;
  } catch (const sql::SQLException&) {
    // The helper connection may have been dropped (e.g. a test killed it);
    // retry once on a fresh one before giving up.
  }
  absl::StatusOr<std::unique_ptr<sql::Connection>> fresh =
      ConnectAsRoot(options_.port);
  if (!fresh.ok()) {
    std::cerr << "TestDatabase: could not drop " << name() << ": "
              << fresh.status() << "\n";
    return;
  }
  try {
    std::unique_ptr<sql::Statement> statement((*fresh)->createStatement());
    statement->execute(drop);
  } catch (const sql::SQLException& e) {
    std::cerr << "TestDatabase: could not drop " << name() << ": "
              << ToStatus(e, drop) << "\n";
  }
}

absl::StatusOr<int64_t> TestDatabase::QueryInt(absl::string_view sql) {
  absl::MutexLock lock(&mu_);
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    std::unique_ptr<sql::ResultSet> rows(
        statement->executeQuery(std::string(sql)));
    if (!rows->next()) {
      return absl::NotFoundError(absl::StrCat("no row from: ", sql));
    }
    int64_t value = rows->getInt64(1);
    if (rows->wasNull()) {
      return absl::FailedPreconditionError(absl::StrCat("NULL from: ", sql));
    }
    return value;
  } catch (const sql::SQLException& e) {
    return ToStatus(e, sql);
  }
}

absl::Status TestDatabase::Execute(absl::string_view sql) {
  absl::MutexLock lock(&mu_);
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    statement->execute(std::string(sql));
    return absl::OkStatus();
  } catch (const sql::SQLException& e) {
    return ToStatus(e, sql);
  }
}

int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace rapport::testing
