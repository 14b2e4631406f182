// The metrics HTTP server (Boost.Beast): GET /metrics serves the registry in
// the Prometheus text format, GET /healthz answers 200 "ok" while the
// process runs (liveness), GET /readyz 200 while `ready` says so and 503
// otherwise (readiness, for probes that cannot speak gRPC over TLS). One
// thread, one request per connection, bounded request size, a read deadline;
// anything else gets 404/405/400. Thread-safety: Start and Stop from one
// thread; render and ready run on the server's thread.
#ifndef RAPPORT_SERVER_METRICS_HTTP_SERVER_H_
#define RAPPORT_SERVER_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace rapport::metrics {

class HttpServer {
 public:
  // Binds `listen` ("host:port", "[v6]:port"; port 0 picks a free one) and
  // serves on a thread of its own. INVALID_ARGUMENT for an unparsable
  // address, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& listen, std::function<std::string()> render,
      std::function<bool()> ready = [] { return true; });

  ~HttpServer();  // Stop()

  int port() const { return port_; }

  // Closes the listener and open connections and joins the thread.
  // Idempotent.
  void Stop();

 private:
  struct Impl;
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" / "[v6]:port"; false when malformed.
bool SplitHostPort(const std::string& listen, std::string* host, int* port);

}  // namespace rapport::metrics

#endif  // RAPPORT_SERVER_METRICS_HTTP_SERVER_H_
