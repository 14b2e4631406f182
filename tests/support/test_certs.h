// Test certificates made at test time by tests/tls/make_test_certs.sh
// (openssl): two CAs with server and client certificates each. One set per
// test suite, since generating them is the slow part.
#ifndef RAPPORT_TESTS_SUPPORT_TEST_CERTS_H_
#define RAPPORT_TESTS_SUPPORT_TEST_CERTS_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

namespace rapport::testing {

// Runs `script` into a new temporary folder named after `name`; returns the
// folder, or "" (with a GoogleTest failure) when the script fails.
std::string MakeTestCertificates(const std::string& script,
                                 const std::string& name);

// Removes a folder made by MakeTestCertificates ("" is ignored).
void RemoveTestCertificates(const std::string& dir);

// TLS client credentials from the certificates in `dir`: trusting `ca`
// ("ca1" or "ca2"), presenting `client` ("client1", "client2") when not
// empty.
std::shared_ptr<grpc::ChannelCredentials> TestClientCredentials(
    const std::string& dir, const std::string& ca,
    const std::string& client = "");

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_SUPPORT_TEST_CERTS_H_
