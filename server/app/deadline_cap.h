// Caps how long any call may run (limits.max_deadline), whatever deadline
// its client set (or none): a call still running at its cap is cancelled,
// which handlers see through ServerContext::IsCancelled() and gRPC reports
// to the client as CANCELLED.
//
// One thread and one ordered map for all calls: a call registers when it
// starts and deregisters when it sends its status, so only calls that are
// actually late are ever touched.
//
// Thread-safety: all methods may be called from any thread.
#ifndef RAPPORT_SERVER_APP_DEADLINE_CAP_H_
#define RAPPORT_SERVER_APP_DEADLINE_CAP_H_

#include <grpcpp/server_context.h>

#include <cstdint>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rapport::app {

class DeadlineCap {
 public:
  explicit DeadlineCap(absl::Duration cap);
  ~DeadlineCap();

  DeadlineCap(const DeadlineCap&) = delete;
  DeadlineCap& operator=(const DeadlineCap&) = delete;

  // Registers a call that started now; returns a ticket for Done(), or 0
  // when the client's own deadline is within the cap (nothing to do).
  uint64_t Start(grpc::ServerContextBase* context);
  // The call is finishing: never cancel it. Safe with ticket 0.
  void Done(uint64_t ticket);

  absl::Duration cap() const { return cap_; }

 private:
  void Loop();

  const absl::Duration cap_;
  absl::Mutex mu_;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  // (when, ticket) -> call.
  std::map<std::pair<absl::Time, uint64_t>, grpc::ServerContextBase*> calls_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace rapport::app

#endif  // RAPPORT_SERVER_APP_DEADLINE_CAP_H_
