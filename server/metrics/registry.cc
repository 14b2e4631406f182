#include "server/metrics/registry.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rapport::metrics {
namespace {

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::string* out, const std::string& name, const std::string& help,
            absl::string_view type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n", "# TYPE ",
                  name, " ", type, "\n");
}

// `{a="x",b="y"}` (plus an optional extra label), or "" with no labels.
std::string Labels(const std::vector<std::string>& names,
                   const LabelValues& values, absl::string_view extra_name = "",
                   absl::string_view extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"",
                    extra_value, "\"");
  }
  return out.empty() ? out : absl::StrCat("{", out, "}");
}

LabelValues Fit(const LabelValues& values, size_t n) {
  LabelValues fitted = values;
  fitted.resize(n);
  return fitted;
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest form that reads back as the same double.
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string SanitizeName(absl::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,  0.5,    1,     2.5,  5,     10};
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_->size() && value > (*bounds_)[i]) ++i;
  absl::MutexLock lock(&mu_);
  ++counts_[i];
  sum_ += value;
}

Histogram::Snapshot Histogram::Get() const {
  absl::MutexLock lock(&mu_);
  Snapshot s;
  s.sum = sum_;
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.count = running;
  return s;
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(labels) {}

Counter& CounterFamily::WithLabels(const LabelValues& values) {
  absl::MutexLock lock(&mu_);
  auto& child = children_[Fit(values, labels_.size())];
  if (child == nullptr) child = std::make_unique<Counter>();
  return *child;
}

void CounterFamily::Render(std::string* out) const {
  Header(out, name_, help_, "counter");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, counter] : children_) {
    absl::StrAppend(out, name_, Labels(labels_, values), " ",
                    FormatValue(counter->value()), "\n");
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> labels,
                                 std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      bounds_(std::move(bounds)) {}

Histogram& HistogramFamily::WithLabels(const LabelValues& values) {
  absl::MutexLock lock(&mu_);
  auto& child = children_[Fit(values, labels_.size())];
  if (child == nullptr) child = std::make_unique<Histogram>(&bounds_);
  return *child;
}

void HistogramFamily::Render(std::string* out) const {
  Header(out, name_, help_, "histogram");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, histogram] : children_) {
    const Histogram::Snapshot s = histogram->Get();
    for (size_t i = 0; i < s.cumulative.size(); ++i) {
      const std::string le =
          i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
      absl::StrAppend(out, name_, "_bucket", Labels(labels_, values, "le", le),
                      " ", s.cumulative[i], "\n");
    }
    absl::StrAppend(out, name_, "_sum", Labels(labels_, values), " ",
                    FormatValue(s.sum), "\n", name_, "_count",
                    Labels(labels_, values), " ", s.count, "\n");
  }
}

void Registry::Callback::Render(std::string* out) const {
  Header(out, name, help, type);
  for (const Sample& sample : collect()) {
    absl::StrAppend(out, name, Labels(labels, sample.labels), " ",
                    FormatValue(sample.value), "\n");
  }
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(std::make_unique<CounterFamily>(
      std::move(name), std::move(help), std::move(labels)));
  CounterFamily* family = counters_.back().get();
  renderers_.push_back([family](std::string* out) { family->Render(out); });
  return *family;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> labels,
                                        std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  histograms_.push_back(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(labels), std::move(bounds)));
  HistogramFamily* family = histograms_.back().get();
  renderers_.push_back([family](std::string* out) { family->Render(out); });
  return *family;
}

void Registry::AddCallback(std::string name, std::string help, std::string type,
                           std::vector<std::string> labels,
                           std::function<std::vector<Sample>()> collect) {
  absl::MutexLock lock(&mu_);
  callbacks_.push_back(std::make_unique<Callback>(
      Callback{std::move(name), std::move(help), std::move(type),
               std::move(labels), std::move(collect)}));
  Callback* callback = callbacks_.back().get();
  renderers_.push_back([callback](std::string* out) { callback->Render(out); });
}

std::string Registry::Render() const {
  std::vector<std::function<void(std::string*)>> renderers;
  {
    absl::MutexLock lock(&mu_);
    renderers = renderers_;
  }
  std::string out;
  for (const auto& render : renderers) render(&out);
  return out;
}

}  // namespace rapport::metrics
