// rapport.v1.AdminService: plugins and parked event deliveries.
// Thread-safe: reads the plugin manager's records and the dispatcher's
// tables, both thread-safe.
#ifndef RAPPORT_SERVER_API_ADMIN_SERVICE_H_
#define RAPPORT_SERVER_API_ADMIN_SERVICE_H_

#include "rapport/v1/admin_service.grpc.pb.h"

namespace rapport::plugins {
class PluginManager;
}
namespace rapport::events {
class Dispatcher;
}

namespace rapport::api {

class AdminServiceImpl final : public rapport::v1::AdminService::Service {
 public:
  // Neither is owned; both outlive the service. `dispatcher` may be null
  // (no subscriptions): the parked list is then empty.
  AdminServiceImpl(const plugins::PluginManager* plugins,
                   events::Dispatcher* dispatcher)
      : plugins_(plugins), dispatcher_(dispatcher) {}

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

 private:
  const plugins::PluginManager* const plugins_;  // not owned
  events::Dispatcher* const dispatcher_;         // not owned, may be null
};

}  // namespace rapport::api

#endif  // RAPPORT_SERVER_API_ADMIN_SERVICE_H_
