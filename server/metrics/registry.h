// A small Prometheus metrics registry rendering the text exposition format
// (version 0.0.4): counters and histograms with labels, and gauges or
// counters whose samples a callback computes at scrape time.
// Thread-safety: all methods are thread-safe. Families live as long as the
// registry; the references it hands out stay valid that long.
#ifndef RAPPORT_SERVER_METRICS_REGISTRY_H_
#define RAPPORT_SERVER_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace rapport::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void Increment(double n = 1) {
    double old = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(old, old + n,
                                         std::memory_order_relaxed)) {
    }
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Get() const;

 private:
  const std::vector<double>* bounds_;  // owned by the family
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket, +Inf last
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help,
                std::vector<std::string> labels);
  // The child with these label values (as many as label names), created on
  // first use.
  Counter& WithLabels(const LabelValues& values);
  void Render(std::string* out) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<Counter>> children_
      ABSL_GUARDED_BY(mu_);
};

class HistogramFamily {
 public:
  // `bounds` are the upper bounds, ascending; +Inf is implicit.
  HistogramFamily(std::string name, std::string help,
                  std::vector<std::string> labels, std::vector<double> bounds);
  Histogram& WithLabels(const LabelValues& values);
  void Render(std::string* out) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<Histogram>> children_
      ABSL_GUARDED_BY(mu_);
};

// One sample of a callback family: its label values and value.
struct Sample {
  LabelValues labels;
  double value = 0;
};

class Registry {
 public:
  // Names must be valid Prometheus names and unique in the registry.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> labels = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> labels,
                                std::vector<double> bounds);
  // `type` is "gauge" or "counter"; `collect` runs on every scrape (keep it
  // cheap: cache anything that needs I/O).
  void AddCallback(std::string name, std::string help, std::string type,
                   std::vector<std::string> labels,
                   std::function<std::vector<Sample>()> collect);

  // The whole registry in the text exposition format, families in the order
  // they were added.
  std::string Render() const;

 private:
  struct Callback {
    std::string name, help, type;
    std::vector<std::string> labels;
    std::function<std::vector<Sample>()> collect;
    void Render(std::string* out) const;
  };
  mutable absl::Mutex mu_;
  std::vector<std::function<void(std::string*)>> renderers_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<HistogramFamily>> histograms_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Callback>> callbacks_ ABSL_GUARDED_BY(mu_);
};

// Text-format helpers, exposed for tests.
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string FormatValue(double value);
// Escapes \, " and newline in a label value.
std::string EscapeLabelValue(absl::string_view value);
// Turns any string into a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
std::string SanitizeName(absl::string_view name);

// Default latency buckets for RPCs, in seconds.
std::vector<double> DefaultLatencyBuckets();

}  // namespace rapport::metrics

#endif  // RAPPORT_SERVER_METRICS_REGISTRY_H_
