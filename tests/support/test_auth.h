// Credentials for tests: the admin key every test server is bootstrapped
// with, and channels that present it on every call.
#ifndef RAPPORT_TESTS_SUPPORT_TEST_AUTH_H_
#define RAPPORT_TESTS_SUPPORT_TEST_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace rapport::testing {

// The bootstrap admin key of test servers (config.bootstrap_admin_key /
// RAPPORT_BOOTSTRAP_ADMIN_KEY). At least 32 characters, as rapportd wants.
inline constexpr char kTestAdminKey[] =
    "rapport-test-admin-key-0123456789abcdef";

// A channel to `target` whose calls carry "authorization: Bearer <key>"
// unless the call set its own authorization metadata (so tests can present
// other keys, or none with key = ""). gRPC does not send call credentials
// over plaintext, hence a client interceptor.
std::shared_ptr<grpc::Channel> CreateKeyedChannel(
    const std::string& target, const std::string& key = kTestAdminKey,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

}  // namespace rapport::testing

#endif  // RAPPORT_TESTS_SUPPORT_TEST_AUTH_H_
