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

// Runs `script` with the Python client on the path against a fresh rapportd
// with the test admin key; returns the finished child (nullptr on failure to
// start, with a test failure), after at most `timeout`.
std::unique_ptr<ChildProcess> RunPythonAgainstRapportd(
    const std::string& script, absl::Duration timeout) {
  auto db = TestDatabase::Create();
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  std::unique_ptr<RapportdProcess> server =
      RapportdProcess::Start(RAPPORTD_PATH, **db);
  EXPECT_NE(server, nullptr);
  if (server == nullptr) return nullptr;
  std::unique_ptr<ChildProcess> python = ChildProcess::Start(
      {"/usr/bin/python3", script, "--target",
       absl::StrCat("127.0.0.1:", server->port()), "--api-key", kTestAdminKey},
      {{"PATH", "/usr/bin:/bin"},
       {"PYTHONPATH", PYTHON_CLIENT_DIR},
       {"PYTHONDONTWRITEBYTECODE", "1"}});
  EXPECT_NE(python, nullptr);
  if (python == nullptr) return nullptr;
  python->Wait(timeout);
  return python;
}

TEST(PythonClientTest, PassesAgainstRapportd) {
  std::unique_ptr<ChildProcess> python =
      RunPythonAgainstRapportd(PYTHON_CLIENT_TEST, absl::Seconds(120));
  ASSERT_NE(python, nullptr);
  EXPECT_EQ(python->Wait(absl::ZeroDuration()), 0)
      << "stdout:\n"
      << python->Stdout() << "\nstderr:\n"
      << python->Stderr();
}

TEST(PythonClientTest, QuickstartExampleRuns) {
  std::unique_ptr<ChildProcess> python =
      RunPythonAgainstRapportd(PYTHON_QUICKSTART, absl::Seconds(60));
  ASSERT_NE(python, nullptr);
  EXPECT_EQ(python->Wait(absl::ZeroDuration()), 0) << python->Stderr();
  EXPECT_THAT(python->Stdout(), ::testing::HasSubstr("logged "));
}

}  // namespace
}  // namespace rapport::testing
