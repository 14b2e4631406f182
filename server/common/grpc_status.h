// absl::Status -> grpc::Status. The canonical codes share their numbers, so
// the conversion keeps the code and the message as they are.
#ifndef RAPPORT_SERVER_COMMON_GRPC_STATUS_H_
#define RAPPORT_SERVER_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "server/common/utf8.h"

namespace rapport {

// Messages travel in HTTP/2 trailers, which clients cap (8 KiB by
// default; a larger one makes the client fail with RESOURCE_EXHAUSTED and
// lose the real error), so they are cut to kMaxStatusMessageBytes at a
// UTF-8 boundary.
inline constexpr size_t kMaxStatusMessageBytes = 2048;

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(Utf8Prefix(status.message(), kMaxStatusMessageBytes));
  if (message.size() < status.message().size()) message += "...";
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::move(message));
}

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_GRPC_STATUS_H_
