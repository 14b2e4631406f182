#include "hello_service.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace example::hello {
namespace {

// absl::StatusCode and grpc::StatusCode share their numbering.
grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace

HelloService::HelloService(std::string greeting,
                           rapport::sdk::Database& database,
                           rapport::sdk::Counter& greetings)
    : greeting_(std::move(greeting)),
      database_(database),
      greetings_(greetings) {}

grpc::Status HelloService::SayHello(grpc::ServerContext* /*context*/,
                                    const v1::SayHelloRequest* request,
                                    v1::SayHelloResponse* response) {
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name is required");
  }
  response->set_message(greeting_ + ", " + request->name() + "!");
  greetings_.Increment();
  return grpc::Status::OK;
}

grpc::Status HelloService::CountContacts(
    grpc::ServerContext* /*context*/, const v1::CountContactsRequest* request,
    v1::CountContactsResponse* response) {
  if (!rapport::v1::LifecycleStage_IsValid(request->lifecycle_stage())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "unknown lifecycle_stage");
  }
  // Core tables are read-only for plugins; values always go in as `?`
  // parameters, never into the SQL text. A live contact has no delete_time.
  std::string sql = "SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL";
  std::vector<rapport::sdk::Value> params;
  if (request->lifecycle_stage() != rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED) {
    sql += " AND lifecycle_stage = ?";
    params.emplace_back(static_cast<int64_t>(request->lifecycle_stage()));
  }
  absl::StatusOr<std::vector<rapport::sdk::Row>> rows =
      database_.Query(sql, params);
  if (!rows.ok()) return ToGrpc(rows.status());
  if (rows->size() != 1 || rows->front().size() != 1 ||
      !rows->front().front().has_value()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "COUNT(*) returned no value");
  }
  const std::string& text = *rows->front().front();
  int64_t count = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc() || end != text.data() + text.size()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "COUNT(*) returned a non-number");
  }
  response->set_count(count);
  return grpc::Status::OK;
}

}  // namespace example::hello
