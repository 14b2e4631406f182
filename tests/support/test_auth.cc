#include "tests/support/test_auth.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>

#include <vector>

namespace rapport::testing {
namespace {

class KeyInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit KeyInterceptor(const std::string& key) : key_(key) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      if (md->find("authorization") == md->end()) {
        md->insert({"authorization", "Bearer " + key_});
      }
    }
    methods->Proceed();
  }

 private:
  const std::string& key_;  // owned by the factory, which outlives calls
};

class KeyInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit KeyInterceptorFactory(std::string key) : key_(std::move(key)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new KeyInterceptor(key_);
  }

 private:
  const std::string key_;
};

}  // namespace

std::shared_ptr<grpc::Channel> CreateKeyedChannel(
    const std::string& target, const std::string& key,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const grpc::ChannelArguments& args) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  if (key.empty()) return grpc::CreateCustomChannel(target, credentials, args);
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      factories;
  factories.push_back(std::make_unique<KeyInterceptorFactory>(key));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, credentials, args, std::move(factories));
}

}  // namespace rapport::testing
