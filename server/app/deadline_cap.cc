#include "server/app/deadline_cap.h"

#include <grpcpp/support/time.h>

#include <chrono>

#include "absl/time/clock.h"

namespace rapport::app {

DeadlineCap::DeadlineCap(absl::Duration cap)
    : cap_(cap), thread_([this] { Loop(); }) {}

DeadlineCap::~DeadlineCap() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

uint64_t DeadlineCap::Start(grpc::ServerContextBase* context) {
  const absl::Time now = absl::Now();
  const absl::Time cap = now + cap_;
  const absl::Time client = absl::FromChrono(context->deadline());
  if (client <= cap) return 0;  // gRPC enforces the client's deadline itself
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = next_ticket_++;
  calls_.emplace(std::make_pair(cap, ticket), context);
  when_.emplace(ticket, cap);
  return ticket;
}

void DeadlineCap::Done(uint64_t ticket) {
  if (ticket == 0) return;
  absl::MutexLock lock(&mu_);
  auto it = when_.find(ticket);
  if (it == when_.end()) return;
  calls_.erase(std::make_pair(it->second, ticket));
  when_.erase(it);
}

void DeadlineCap::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    const absl::Time now = absl::Now();
    while (!calls_.empty() && calls_.begin()->first.first <= now) {
      // Cancelling under the lock: Done() for this call waits until
      // TryCancel returned, so the context is still alive here.
      calls_.begin()->second->TryCancel();
      when_.erase(calls_.begin()->first.second);
      calls_.erase(calls_.begin());
    }
    const absl::Time next =
        calls_.empty() ? now + absl::Seconds(1) : calls_.begin()->first.first;
    mu_.AwaitWithDeadline(absl::Condition(&stop_), next);
  }
}

}  // namespace rapport::app
