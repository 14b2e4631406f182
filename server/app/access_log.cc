#include "server/app/access_log.h"

#include <grpcpp/server_context.h>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/metrics/server_metrics.h"

namespace rapport::app {
namespace {

// Client-supplied ids are logged, so keep them short and printable.
bool UsableRequestId(grpc::string_ref id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC and Abseil share the canonical code numbers and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

class AccessLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  AccessLogInterceptor(grpc::experimental::ServerRpcInfo* info,
                       metrics::ServerMetrics* metrics)
      : info_(info), metrics_(metrics), start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      auto it = md->find(kRequestIdKey);
      if (it != md->end() && UsableRequestId(it->second)) {
        request_id_.assign(it->second.data(), it->second.size());
      }
      if (request_id_.empty()) request_id_ = NewRequestId();
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (request_id_.empty()) request_id_ = NewRequestId();
      methods->GetSendInitialMetadata()->insert({kRequestIdKey, request_id_});
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const absl::Duration latency = absl::Now() - start_;
      const double ms = absl::ToDoubleMilliseconds(latency);
      if (metrics_ != nullptr) {
        metrics_->RecordRpc(info_->method(), CodeName(status.error_code()),
                            absl::ToDoubleSeconds(latency));
      }
      const log::Level level =
          status.error_code() == grpc::StatusCode::INTERNAL ||
                  status.error_code() == grpc::StatusCode::UNKNOWN
              ? log::Level::kError
              : log::Level::kInfo;
      if (status.ok()) {
        log::Log(level, "rpc",
                 {{"method", info_->method()},
                  {"code", CodeName(status.error_code())},
                  {"latency_ms", ms},
                  {"request_id", request_id_}});
      } else {
        log::Log(level, "rpc",
                 {{"method", info_->method()},
                  {"code", CodeName(status.error_code())},
                  {"latency_ms", ms},
                  {"request_id", request_id_},
                  {"error", status.error_message()}});
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;  // owned by gRPC, outlives us
  metrics::ServerMetrics* const metrics_;    // may be null
  const absl::Time start_;
  std::string request_id_;
};

}  // namespace

grpc::experimental::Interceptor*
AccessLogInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AccessLogInterceptor(info, metrics_);
}

std::string RequestIdFromClient(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find(kRequestIdKey);
  if (it == md.end() || !UsableRequestId(it->second)) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace rapport::app
