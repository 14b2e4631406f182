#include "tests/support/test_certs.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace rapport::testing {

std::string MakeTestCertificates(const std::string& script,
                                 const std::string& name) {
  std::string pattern = absl::StrCat(::testing::TempDir(), name, "_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern;
    return "";
  }
  const std::string command = absl::StrCat("'", script, "' '", pattern, "'");
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "failed: " << command;
    std::filesystem::remove_all(pattern);
    return "";
  }
  return pattern;
}

void RemoveTestCertificates(const std::string& dir) {
  if (!dir.empty()) std::filesystem::remove_all(dir);
}

namespace {
std::string ReadPem(const std::string& dir, const std::string& name) {
  std::ifstream in(absl::StrCat(dir, "/", name));
  EXPECT_TRUE(in.good()) << "cannot read " << dir << "/" << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

std::shared_ptr<grpc::ChannelCredentials> TestClientCredentials(
    const std::string& dir, const std::string& ca, const std::string& client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadPem(dir, ca + ".crt");
  if (!client.empty()) {
    options.pem_cert_chain = ReadPem(dir, client + ".crt");
    options.pem_private_key = ReadPem(dir, client + ".key");
  }
  return grpc::SslCredentials(options);
}

}  // namespace rapport::testing
