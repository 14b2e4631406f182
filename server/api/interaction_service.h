// rapport.v1.InteractionService: validates at the edge, then calls the
// interaction store. Thread-safe like ContactServiceImpl.
#ifndef RAPPORT_SERVER_API_INTERACTION_SERVICE_H_
#define RAPPORT_SERVER_API_INTERACTION_SERVICE_H_

#include "rapport/v1/interaction_service.grpc.pb.h"
#include "server/storage/interaction_store.h"

namespace rapport::api {

class InteractionServiceImpl final
    : public rapport::v1::InteractionService::Service {
 public:
  // `store` is not owned and must outlive the service.
  explicit InteractionServiceImpl(storage::InteractionStore* store)
      : store_(store) {}

  grpc::Status LogInteraction(grpc::ServerContext* context,
                              const rapport::v1::LogInteractionRequest* request,
                              rapport::v1::Interaction* response) override;
  grpc::Status GetInteraction(grpc::ServerContext* context,
                              const rapport::v1::GetInteractionRequest* request,
                              rapport::v1::Interaction* response) override;
  grpc::Status ListInteractions(
      grpc::ServerContext* context,
      const rapport::v1::ListInteractionsRequest* request,
      rapport::v1::ListInteractionsResponse* response) override;

 private:
  storage::InteractionStore* const store_;  // not owned
};

}  // namespace rapport::api

#endif  // RAPPORT_SERVER_API_INTERACTION_SERVICE_H_
