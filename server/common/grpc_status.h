// absl::Status -> grpc::Status. The canonical codes share their numbers, so
// the conversion keeps the code and the message as they are.
#ifndef RAPPORT_SERVER_COMMON_GRPC_STATUS_H_
#define RAPPORT_SERVER_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace rapport {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_GRPC_STATUS_H_
