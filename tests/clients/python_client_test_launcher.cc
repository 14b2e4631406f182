// Runs tests/clients/python_client_test.py (Debian's /usr/bin/python3, the
// generated rapport_client package on PYTHONPATH) against a real rapportd:
// the Python client's end-to-end and cross-language interoperability test.
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

TEST(PythonClientTest, PassesAgainstRapportd) {
  auto db = TestDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<RapportdProcess> server =
      RapportdProcess::Start(RAPPORTD_PATH, **db);
  ASSERT_NE(server, nullptr);

  std::unique_ptr<ChildProcess> python = ChildProcess::Start(
      {"/usr/bin/python3", PYTHON_CLIENT_TEST, "--target",
       absl::StrCat("127.0.0.1:", server->port()), "--api-key", kTestAdminKey},
      {{"PATH", "/usr/bin:/bin"},
       {"PYTHONPATH", PYTHON_CLIENT_DIR},
       {"PYTHONDONTWRITEBYTECODE", "1"}});
  ASSERT_NE(python, nullptr);
  std::optional<int> code = python->Wait(absl::Seconds(120));
  EXPECT_EQ(code, 0) << "stdout:\n"
                     << python->Stdout() << "\nstderr:\n"
                     << python->Stderr();
}

TEST(PythonClientTest, QuickstartExampleRuns) {
  auto db = TestDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<RapportdProcess> server =
      RapportdProcess::Start(RAPPORTD_PATH, **db);
  ASSERT_NE(server, nullptr);

  std::unique_ptr<ChildProcess> python = ChildProcess::Start(
      {"/usr/bin/python3", PYTHON_QUICKSTART, "--target",
       absl::StrCat("127.0.0.1:", server->port()), "--api-key", kTestAdminKey},
      {{"PATH", "/usr/bin:/bin"},
       {"PYTHONPATH", PYTHON_CLIENT_DIR},
       {"PYTHONDONTWRITEBYTECODE", "1"}});
  ASSERT_NE(python, nullptr);
  std::optional<int> code = python->Wait(absl::Seconds(60));
  EXPECT_EQ(code, 0) << python->Stderr();
  EXPECT_THAT(python->Stdout(), ::testing::HasSubstr("logged "));
}

}  // namespace
}  // namespace rapport::testing
