#include "server/app/access_log.h"

#include <grpcpp/server_context.h>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "server/app/deadline_cap.h"
#include "server/audit/audit_log.h"
#include "server/auth/authenticator.h"
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

// The request or response type of a protobuf method, when `method`
// ("/pkg.Service/Method") is a method of a generated service linked into
// the process: only then is an interceptor's message pointer known to be a
// google::protobuf::Message.
const google::protobuf::MethodDescriptor* ProtoMethod(const char* method) {
  std::string name = method == nullptr ? "" : method;
  if (name.size() < 2 || name[0] != '/') return nullptr;
  name.erase(0, 1);
  const size_t slash = name.rfind('/');
  if (slash == std::string::npos) return nullptr;
  name[slash] = '.';
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      name);
}

// The collection a service's bare ids belong to: ContactService ->
// "contacts", InteractionService -> "interactions".
std::string Collection(const google::protobuf::MethodDescriptor& method) {
  std::string name = method.service()->name();
  if (absl::EndsWith(name, "Service")) name.resize(name.size() - 7);
  if (name.empty()) return "";
  name[0] = absl::ascii_tolower(name[0]);
  return name + "s";
}

// The resource a message names: its `name` field ("apiKeys/k1"), else its
// `id` or `primary_id` in `collection` ("contacts/42"), else the same one
// message level down (UpdateContactRequest.contact.id).
std::string ResourceName(const google::protobuf::Message& m,
                         const std::string& collection, int depth = 0) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  auto text = [&](const char* field) -> std::string {
    const auto* f = d->FindFieldByName(field);
    if (f == nullptr || f->is_repeated() ||
        f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
      return "";
    }
    return r->GetString(m, f);
  };
  if (std::string name = text("name"); !name.empty()) {
    return name.substr(0, 255);
  }
  for (const char* field : {"id", "primary_id"}) {
    if (std::string id = text(field); !id.empty() && !collection.empty()) {
      return absl::StrCat(collection, "/", id).substr(0, 255);
    }
  }
  if (depth > 0) return "";
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->is_repeated() ||
        f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE ||
        !r->HasField(m, f)) {
      continue;
    }
    std::string name = ResourceName(r->GetMessage(m, f), collection, depth + 1);
    if (!name.empty()) return name;
  }
  return "";
}

class AccessLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  AccessLogInterceptor(grpc::experimental::ServerRpcInfo* info,
                       const AccessLogInterceptorFactory::Deps& deps)
      : info_(info),
        metrics_(deps.metrics),
        authenticator_(deps.authenticator),
        audit_(deps.audit),
        deadline_cap_(deps.deadline_cap),
        start_(absl::Now()) {
    if (audit_ != nullptr && authenticator_ != nullptr) {
      const auth::MethodRule* rule =
          authenticator_->permissions().Find(info_->method());
      // Undeclared methods (a plugin's) are audited: they may change
      // anything.
      audited_ = rule == nullptr || rule->mutating;
      if (audited_) proto_method_ = ProtoMethod(info_->method());
      if (proto_method_ != nullptr) collection_ = Collection(*proto_method_);
    }
  }

  ~AccessLogInterceptor() override {
    if (deadline_cap_ != nullptr) deadline_cap_->Done(deadline_ticket_);
  }

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
      if (deadline_cap_ != nullptr) {
        deadline_ticket_ = deadline_cap_->Start(info_->server_context());
      }
    }
    if (audited_ && proto_method_ != nullptr && resource_.empty()) {
      // The request's resource (Update/Delete/Merge...); a create's comes
      // with the response.
      if (methods->QueryInterceptionHookPoint(
              InterceptionHookPoints::POST_RECV_MESSAGE) &&
          methods->GetRecvMessage() != nullptr) {
        resource_ = ResourceName(*static_cast<const google::protobuf::Message*>(
                                     methods->GetRecvMessage()),
                                 collection_);
      }
      if (methods->QueryInterceptionHookPoint(
              InterceptionHookPoints::PRE_SEND_MESSAGE) &&
          methods->GetSendMessage() != nullptr) {
        resource_ = ResourceName(*static_cast<const google::protobuf::Message*>(
                                     methods->GetSendMessage()),
                                 collection_);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (request_id_.empty()) request_id_ = NewRequestId();
      methods->GetSendInitialMetadata()->insert({kRequestIdKey, request_id_});
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      got_request_ = true;
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL &&
          status.error_message().empty() && !got_request_) {
        // gRPC answers a request it cannot parse (bad protobuf, or a string
        // field that is not UTF-8) with INTERNAL and no message before any
        // handler runs. It is the caller's error: say so.
        status = grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the request is not a valid ", info_->method(),
                         " request message (protobuf encoding, or a string "
                         "field that is not valid UTF-8)"));
        methods->ModifySendStatus(status);
      }
      if (deadline_cap_ != nullptr) {
        deadline_cap_->Done(deadline_ticket_);
        deadline_ticket_ = 0;
      }
      if (audited_) Audit(status);
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
  void Audit(const grpc::Status& status) {
    grpc::ServerContextBase* context = info_->server_context();
    audit::AuditRecord record;
    record.time = absl::Now();
    std::optional<auth::Principal> who = authenticator_->PrincipalOf(*context);
    record.principal = who ? who->name : "anonymous";
    if (who) record.role = who->role;
    record.method = info_->method();
    record.resource = resource_;
    record.code = CodeName(status.error_code());
    record.request_id = request_id_;
    record.peer = context->peer();
    audit_->Record(std::move(record));
  }

  grpc::experimental::ServerRpcInfo* info_;  // owned by gRPC, outlives us
  metrics::ServerMetrics* const metrics_;    // may be null
  const auth::Authenticator* const authenticator_;  // may be null
  audit::AuditLog* const audit_;                    // may be null
  DeadlineCap* const deadline_cap_;                 // may be null
  const absl::Time start_;
  bool audited_ = false;
  bool got_request_ = false;
  const google::protobuf::MethodDescriptor* proto_method_ = nullptr;
  uint64_t deadline_ticket_ = 0;
  std::string collection_;
  std::string request_id_;
  std::string resource_;
};

}  // namespace

grpc::experimental::Interceptor*
AccessLogInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AccessLogInterceptor(info, deps_);
}

std::string RequestIdFromClient(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find(kRequestIdKey);
  if (it == md.end() || !UsableRequestId(it->second)) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace rapport::app
