// rapport.v1.AdminService: plugins, parked event deliveries, API keys and
// the audit log. Who may call it is decided before a handler runs
// (server/auth/authenticator.h); handlers only validate and act.
// Thread-safe: every collaborator is thread-safe.
#ifndef RAPPORT_SERVER_API_ADMIN_SERVICE_H_
#define RAPPORT_SERVER_API_ADMIN_SERVICE_H_

#include "rapport/v1/admin_service.grpc.pb.h"

namespace rapport::plugins {
class PluginManager;
}
namespace rapport::events {
class Dispatcher;
}
namespace rapport::auth {
class Authenticator;
class KeyStore;
}  // namespace rapport::auth
namespace rapport::audit {
class AuditLog;
}

namespace rapport::api {

class AdminServiceImpl final : public rapport::v1::AdminService::Service {
 public:
  struct Deps {
    const plugins::PluginManager* plugins = nullptr;
    // May be null (no subscriptions): the parked list is then empty.
    events::Dispatcher* dispatcher = nullptr;
    auth::KeyStore* keys = nullptr;
    const auth::Authenticator* authenticator = nullptr;
    audit::AuditLog* audit = nullptr;
  };
  // Nothing is owned; everything outlives the service.
  explicit AdminServiceImpl(Deps deps) : deps_(deps) {}

  grpc::Status ListPlugins(grpc::ServerContext* context,
                           const rapport::v1::ListPluginsRequest* request,
                           rapport::v1::ListPluginsResponse* response) override;
  grpc::Status ListParkedEvents(
      grpc::ServerContext* context,
      const rapport::v1::ListParkedEventsRequest* request,
      rapport::v1::ListParkedEventsResponse* response) override;
  grpc::Status RetryParkedEvent(
      grpc::ServerContext* context,
      const rapport::v1::RetryParkedEventRequest* request,
      rapport::v1::RetryParkedEventResponse* response) override;
  grpc::Status CreateApiKey(
      grpc::ServerContext* context,
      const rapport::v1::CreateApiKeyRequest* request,
      rapport::v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context,
                           const rapport::v1::ListApiKeysRequest* request,
                           rapport::v1::ListApiKeysResponse* response) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* context,
                            const rapport::v1::RevokeApiKeyRequest* request,
                            rapport::v1::ApiKey* response) override;
  grpc::Status ListAuditEvents(
      grpc::ServerContext* context,
      const rapport::v1::ListAuditEventsRequest* request,
      rapport::v1::ListAuditEventsResponse* response) override;

 private:
  const Deps deps_;
};

}  // namespace rapport::api

#endif  // RAPPORT_SERVER_API_ADMIN_SERVICE_H_
