#include "server/api/admin_service.h"

#include "absl/strings/str_cat.h"
#include "server/audit/audit_log.h"
#include "server/auth/authenticator.h"
#include "server/auth/key_store.h"
#include "server/common/grpc_status.h"
#include "server/common/time_util.h"
#include "server/events/dispatcher.h"
#include "server/plugins/plugin_manager.h"

namespace rapport::api {

namespace v1 = rapport::v1;

grpc::Status AdminServiceImpl::ListPlugins(grpc::ServerContext*,
                                           const v1::ListPluginsRequest*,
                                           v1::ListPluginsResponse* response) {
  for (const plugins::PluginStatus& s : deps_.plugins->Statuses()) {
    v1::Plugin* p = response->add_plugins();
    p->set_name(s.manifest.name);
    p->set_version(s.manifest.version);
    p->set_description(s.manifest.description);
    if (s.manifest.struct_size > 0) {
      p->set_sdk_version(absl::StrCat(s.manifest.sdk_major, ".",
                                      s.manifest.sdk_minor, ".",
                                      s.manifest.sdk_patch));
    }
    p->set_path(s.path);
    switch (s.state) {
      case plugins::PluginState::kLoaded:
        p->set_state(v1::Plugin::LOADED);
        break;
      case plugins::PluginState::kRejected:
        p->set_state(v1::Plugin::REJECTED);
        break;
      case plugins::PluginState::kFailed:
        p->set_state(v1::Plugin::FAILED);
        break;
    }
    p->set_reason(s.reason);
    for (const std::string& svc : s.services) p->add_services(svc);
    p->set_build_signature(s.manifest.build_signature);
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListParkedEvents(
    grpc::ServerContext*, const v1::ListParkedEventsRequest* request,
    v1::ListParkedEventsResponse* response) {
  if (request->page_size() < 0) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("page_size: must not be negative"));
  }
  if (deps_.dispatcher == nullptr) return grpc::Status::OK;
  int limit = request->page_size() == 0 ? 100 : request->page_size();
  if (limit > 1000) limit = 1000;
  absl::StatusOr<std::vector<events::ParkedDelivery>> parked =
      deps_.dispatcher->ListParked(request->subscriber(), limit);
  if (!parked.ok()) return ToGrpcStatus(parked.status());
  for (const events::ParkedDelivery& d : *parked) {
    v1::ParkedEvent* e = response->add_parked_events();
    e->set_subscriber(d.subscriber);
    e->set_event_id(d.event_id);
    e->set_event_type(v1::EventType_Name(d.type));
    e->set_contact_id(absl::StrCat(d.contact_id));
    e->set_attempts(d.attempts);
    e->set_last_error(d.last_error);
    *e->mutable_park_time() = ToTimestamp(d.park_time);
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RetryParkedEvent(
    grpc::ServerContext*, const v1::RetryParkedEventRequest* request,
    v1::RetryParkedEventResponse*) {
  if (request->subscriber().empty() || request->event_id() <= 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "subscriber and event_id: required (see ListParkedEvents)"));
  }
  if (deps_.dispatcher == nullptr) {
    return ToGrpcStatus(absl::NotFoundError("no such parked event"));
  }
  return ToGrpcStatus(deps_.dispatcher->RetryParked(request->subscriber(),
                                                    request->event_id()));
}

grpc::Status AdminServiceImpl::CreateApiKey(
    grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
    v1::CreateApiKeyResponse* response) {
  std::optional<auth::Principal> caller =
      deps_.authenticator->PrincipalOf(*context);
  auto created =
      deps_.keys->Create(request->api_key(), caller ? caller->name : "unknown");
  if (!created.ok()) return ToGrpcStatus(created.status());
  *response = *std::move(created);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListApiKeys(
    grpc::ServerContext*, const v1::ListApiKeysRequest* request,
    v1::ListApiKeysResponse* response) {
  auto listed = deps_.keys->List(*request);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *response = *std::move(listed);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeApiKey(
    grpc::ServerContext*, const v1::RevokeApiKeyRequest* request,
    v1::ApiKey* response) {
  auto revoked = deps_.keys->Revoke(request->name());
  if (!revoked.ok()) return ToGrpcStatus(revoked.status());
  *response = *std::move(revoked);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListAuditEvents(
    grpc::ServerContext*, const v1::ListAuditEventsRequest* request,
    v1::ListAuditEventsResponse* response) {
  auto listed = deps_.audit->List(*request);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *response = *std::move(listed);
  return grpc::Status::OK;
}

}  // namespace rapport::api
