// A process-wide registry of named counters. Plugins get theirs through
// sdk::Host::counter; the /metrics endpoint (later) and tests read them.
// Thread-safety: all methods are thread-safe; counters are lock-free.
#ifndef RAPPORT_SERVER_COMMON_METRICS_H_
#define RAPPORT_SERVER_COMMON_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rapport/sdk/host.h"

namespace rapport {

class AtomicCounter final : public sdk::Counter {
 public:
  using sdk::Counter::Increment;
  void Increment(int64_t n) override {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class CounterRegistry {
 public:
  // The counter called `name`, created on first use. Owned by the registry
  // and valid as long as it.
  AtomicCounter& Get(absl::string_view name, absl::string_view help) {
    absl::MutexLock lock(&mu_);
    auto& entry = counters_[std::string(name)];
    if (entry.counter == nullptr) {
      entry.counter = std::make_unique<AtomicCounter>();
      entry.help = std::string(help);
    }
    return *entry.counter;
  }

  struct Sample {
    std::string name;
    std::string help;
    int64_t value;
  };
  std::vector<Sample> Snapshot() const {
    absl::MutexLock lock(&mu_);
    std::vector<Sample> out;
    for (const auto& [name, entry] : counters_) {
      out.push_back({name, entry.help, entry.counter->value()});
    }
    return out;
  }

 private:
  struct Entry {
    std::unique_ptr<AtomicCounter> counter;
    std::string help;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_METRICS_H_
