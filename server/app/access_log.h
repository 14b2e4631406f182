// A gRPC server interceptor that gives every call a request id (the
// client's x-request-id metadata, or a new one), echoes it back in the
// response metadata, and writes one access-log line per RPC with the
// method, status code and latency. It sees every service, plugins' included.
// Thread-safety: the factory is shared; each interceptor serves one call.
#ifndef RAPPORT_SERVER_APP_ACCESS_LOG_H_
#define RAPPORT_SERVER_APP_ACCESS_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <string>

namespace rapport::metrics {
class ServerMetrics;
}  // namespace rapport::metrics

namespace rapport::app {

// Metadata key carrying the request id, in both directions.
inline constexpr char kRequestIdKey[] = "x-request-id";

class AccessLogInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` (may be null) records each call's code and latency; it must
  // outlive the server.
  explicit AccessLogInterceptorFactory(metrics::ServerMetrics* metrics)
      : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::ServerMetrics* const metrics_;
};

// The request id of the call served by `context`: the client's when it sent
// a usable one, else empty.
std::string RequestIdFromClient(const grpc::ServerContextBase& context);

}  // namespace rapport::app

#endif  // RAPPORT_SERVER_APP_ACCESS_LOG_H_
