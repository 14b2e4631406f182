// How to reach the database. Filled by server/config from the YAML file,
// environment and flags; used by the connection pool and migrations.
#ifndef RAPPORT_SERVER_STORAGE_DB_OPTIONS_H_
#define RAPPORT_SERVER_STORAGE_DB_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace rapport::storage {

struct DbOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  // Optional. A Unix socket path; when set it is used instead of host/port.
  std::string socket;
  std::string user = "rapport";
  std::string password;
  std::string database = "rapport";
  // Connections in the pool. 0 means "size it to the server's threads".
  int pool_size = 0;
  // Bounds every network wait so an unreachable database fails calls with
  // UNAVAILABLE instead of hanging them.
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration io_timeout = absl::Seconds(30);
  // How long a call waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_DB_OPTIONS_H_
