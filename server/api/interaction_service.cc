#include "server/api/interaction_service.h"

#include "absl/time/clock.h"
#include "server/common/grpc_status.h"
#include "server/api/list_params.h"
#include "server/query/pagination.h"
#include "server/validation/validation.h"

namespace rapport::api {

namespace v1 = rapport::v1;

grpc::Status InteractionServiceImpl::LogInteraction(
    grpc::ServerContext*, const v1::LogInteractionRequest* request,
    v1::Interaction* response) {
  if (!request->has_interaction()) {
    return ToGrpcStatus(absl::InvalidArgumentError("interaction: required"));
  }
  absl::Status status = validation::ValidateRequestId(request->request_id());
  if (!status.ok()) return ToGrpcStatus(status);
  v1::Interaction interaction = request->interaction();
  interaction.clear_id();
  interaction.clear_create_time();
  status = validation::NormalizeInteraction(&interaction, absl::Now());
  if (!status.ok()) return ToGrpcStatus(status);
  absl::StatusOr<v1::Interaction> logged =
      store_->Log(interaction, request->request_id());
  if (!logged.ok()) return ToGrpcStatus(logged.status());
  *response = *std::move(logged);
  return grpc::Status::OK;
}

grpc::Status InteractionServiceImpl::GetInteraction(
    grpc::ServerContext*, const v1::GetInteractionRequest* request,
    v1::Interaction* response) {
  absl::StatusOr<int64_t> id = validation::ParseId(request->id(), "id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<v1::Interaction> found = store_->Get(*id);
  if (!found.ok()) return ToGrpcStatus(found.status());
  *response = *std::move(found);
  return grpc::Status::OK;
}

grpc::Status InteractionServiceImpl::ListInteractions(
    grpc::ServerContext*, const v1::ListInteractionsRequest* request,
    v1::ListInteractionsResponse* response) {
  absl::StatusOr<int> page_size = query::ClampPageSize(request->page_size());
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  storage::InteractionListParams params;
  if (!request->contact_id().empty()) {
    absl::StatusOr<int64_t> contact =
        validation::ParseId(request->contact_id(), "contact_id");
    if (!contact.ok()) return ToGrpcStatus(contact.status());
    params.contact_id = *contact;
  }
  params.filter = request->filter();
  params.order_by = request->order_by();
  params.page_token = request->page_token();
  params.page_size = *page_size;
  absl::StatusOr<storage::InteractionPage> page = store_->List(params);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (v1::Interaction& i : page->interactions) {
    *response->add_interactions() = std::move(i);
  }
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

}  // namespace rapport::api
