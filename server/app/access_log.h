// A gRPC server interceptor that gives every call a request id (the
// client's x-request-id metadata, or a new one), echoes it back in the
// response metadata, and writes one access-log line per RPC with the
// method, status code and latency. For methods that change state
// (auth::MethodRule::mutating, or undeclared plugin methods) it also writes
// the audit row: caller, method, resource (the `name` the request or the
// response carries), outcome, request id, peer. And it registers every call
// with the deadline cap. It sees every service, plugins' included.
// (Refusing calls is not its job: gRPC 1.51 interceptors cannot; the
// auth::Authenticator does that before the call gets here.)
// Thread-safety: the factory is shared; each interceptor serves one call.
#ifndef RAPPORT_SERVER_APP_ACCESS_LOG_H_
#define RAPPORT_SERVER_APP_ACCESS_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <string>

namespace rapport::metrics {
class ServerMetrics;
}  // namespace rapport::metrics
namespace rapport::auth {
class Authenticator;
}  // namespace rapport::auth
namespace rapport::audit {
class AuditLog;
}  // namespace rapport::audit

namespace rapport::app {

class DeadlineCap;

// Metadata key carrying the request id, in both directions.
inline constexpr char kRequestIdKey[] = "x-request-id";

class AccessLogInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Each may be null (that part is then skipped); all must outlive the
  // server. `metrics` records each call's code and latency; `audit` with
  // `authenticator` writes the audit trail; `deadline_cap` cancels late
  // calls.
  struct Deps {
    metrics::ServerMetrics* metrics = nullptr;
    const auth::Authenticator* authenticator = nullptr;
    audit::AuditLog* audit = nullptr;
    DeadlineCap* deadline_cap = nullptr;
  };
  explicit AccessLogInterceptorFactory(Deps deps) : deps_(deps) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const Deps deps_;
};

// The request id of the call served by `context`: the client's when it sent
// a usable one, else empty.
std::string RequestIdFromClient(const grpc::ServerContextBase& context);

}  // namespace rapport::app

#endif  // RAPPORT_SERVER_APP_ACCESS_LOG_H_
