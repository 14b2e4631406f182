// Per-caller request rate limit: one token bucket per principal and replica
// (rate tokens per second, up to `burst` saved up).
//
// Buckets live in memory only: a limit per replica is what protects the
// replica, and a shared one would put a database write on every call.
// A bucket is forgotten once it has been idle long enough to be full again
// (at least a minute), so memory stays bounded by the recent callers.
//
// Thread-safety: Acquire may be called from any thread.
#ifndef RAPPORT_SERVER_AUTH_RATE_LIMITER_H_
#define RAPPORT_SERVER_AUTH_RATE_LIMITER_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rapport::auth {

class RateLimiter {
 public:
  // rate <= 0 disables the limit.
  RateLimiter(double rate_per_second, double burst);

  // Takes one token from `caller`'s bucket. Returns zero when allowed, else
  // how long until a token is available.
  absl::Duration Acquire(absl::string_view caller, absl::Time now);

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };

  void ForgetIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  const absl::Duration idle_;  // when a bucket is full again, >= 1 min
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_RATE_LIMITER_H_
