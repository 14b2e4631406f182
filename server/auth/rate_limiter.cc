#include "server/auth/rate_limiter.h"

#include <algorithm>

namespace rapport::auth {
RateLimiter::RateLimiter(double rate_per_second, double burst)
    : rate_(rate_per_second),
      burst_(std::max(1.0, burst)),
      idle_(std::max(absl::Minutes(1),
                     rate_per_second > 0
                         ? absl::Seconds(burst_ / rate_per_second)
                         : absl::ZeroDuration())) {}

absl::Duration RateLimiter::Acquire(absl::string_view caller, absl::Time now) {
  if (rate_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  ForgetIdle(now);
  auto [it, inserted] = buckets_.try_emplace(caller, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted && now > b.last) {
    b.tokens = std::min(burst_,
                        b.tokens + absl::ToDoubleSeconds(now - b.last) * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  // Round up to whole milliseconds: a client that waits exactly this long
  // then finds its token.
  const double wait_s = (1.0 - b.tokens) / rate_;
  return absl::Milliseconds(
      std::max<int64_t>(1, static_cast<int64_t>(wait_s * 1000.0 + 0.999)));
}

void RateLimiter::ForgetIdle(absl::Time now) {
  if (now - last_sweep_ < idle_) return;
  last_sweep_ = now;
  absl::erase_if(buckets_, [&](const auto& entry) {
    return now - entry.second.last > idle_;
  });
}

}  // namespace rapport::auth
