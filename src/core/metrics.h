// Metrics: counters, gauges and histograms, rendered in the Prometheus text format 0.0.4.
//
// A MetricsRegistry holds families: a name, a help text, a type and the names of its labels
// (e.g. http_requests_total{route,method,status}). A family's children are its label-value
// combinations. Hot paths look a child up once and keep the pointer:
//
//   SF_ASSIGN_OR_RETURN(auto* family, registry.AddCounterFamily(
//       "http_requests_total", "HTTP requests answered.", {"route", "status"}));
//   SF_ASSIGN_OR_RETURN(core::Counter* ok, family->WithLabels({"/api/v1/query", "200"}));
//   ok->Increment();  // one relaxed atomic add; no lookup, no lock
//
// Values that live elsewhere (bytes in a cache, clients connected) are exported with a
// callback evaluated at scrape time instead of being copied on every change.
//
// Lifetime: families and children live as long as the registry; pointers to them stay
// valid until it is destroyed (RemoveChild() is the one exception, for callback children
// whose source goes away first).
//
// Thread safety: everything is thread-safe. Increments and observations are lock-free.
// Callbacks run during RenderPrometheus() with their family's lock held, so they must be
// quick and must not call back into the registry; once RemoveChild() has returned, the
// removed callback is never called again.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace shopfloor::core {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", "histogram"

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive: le="0.1" counts
// v <= 0.1), plus their sum and count. NaN observations count only in the +Inf bucket.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing (checked by the registry).
  explicit Histogram(std::span<const double> upper_bounds);

  void Observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;  // one per bound, plus the +Inf bucket last
    double sum = 0;
    uint64_t count = 0;                // equals cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> upper_bounds_;
  // Per-bucket (not cumulative) counts; the last is the +Inf bucket.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

// Bucket bounds: start, start*factor, ... (count bounds). start > 0, factor > 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// start, start+width, ... (count bounds). width > 0.
std::vector<double> LinearBuckets(double start, double width, int count);
// Prometheus' default latency buckets in seconds: 0.005 .. 10.
std::vector<double> DefaultLatencyBuckets();

// One family: name, help, type, label names and its children.
class MetricFamily {
 public:
  // Families are made by MetricsRegistry, which validates the names and bounds first.
  MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
               std::vector<double> upper_bounds);
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;
  virtual ~MetricFamily();

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }  // histograms

  // Removes one child (e.g. a callback whose source is going away). NotFound if absent.
  Status RemoveChild(const std::vector<std::string>& label_values);
  // Appends this family's HELP, TYPE and sample lines; nothing when it has no children.
  void Render(std::string* out) const;

 protected:
  struct Child {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;  // counter and gauge children only
  };

  // The child for label_values, created if new; with a callback, a callback child (a new
  // callback replaces an old one). Fails when the number of values differs from the number
  // of label names, or when the child exists as the other kind (callback or plain).
  Result<Child*> FindOrCreate(const std::vector<std::string>& label_values, std::function<double()> callback);
  Status SetCallbackChild(const std::vector<std::string>& label_values, std::function<double()> fn);

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Child> children_;  // guarded by mu_; sorted for output
};

class CounterFamily : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  Result<Counter*> WithLabels(const std::vector<std::string>& label_values);
  // A child whose value is fn() at scrape time (it must never decrease). Setting it again
  // replaces the callback.
  Status SetCallback(const std::vector<std::string>& label_values, std::function<double()> fn) {
    return SetCallbackChild(label_values, std::move(fn));
  }
};

class GaugeFamily : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  Result<Gauge*> WithLabels(const std::vector<std::string>& label_values);
  // A child whose value is fn() at scrape time; setting it again replaces the callback.
  Status SetCallback(const std::vector<std::string>& label_values, std::function<double()> fn) {
    return SetCallbackChild(label_values, std::move(fn));
  }
};

class HistogramFamily : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  Result<Histogram*> WithLabels(const std::vector<std::string>& label_values);
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the existing one when name, type, label names (and for
  // histograms the bounds) are the same, so independent components can share a family such
  // as shopfloor_queue_depth{queue}. InvalidArgument for a bad metric or label name
  // ([a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no "le" on a
  // histogram), bad bounds, or a clash with an existing family of that name.
  Result<CounterFamily*> AddCounterFamily(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names = {});
  Result<GaugeFamily*> AddGaugeFamily(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names = {});
  Result<HistogramFamily*> AddHistogramFamily(std::string_view name, std::string_view help,
                                              std::vector<double> upper_bounds,
                                              std::vector<std::string> label_names = {});

  // Unlabelled shorthands: the family's one child.
  Result<Counter*> AddCounter(std::string_view name, std::string_view help);
  Result<Gauge*> AddGauge(std::string_view name, std::string_view help);
  Result<Histogram*> AddHistogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds);
  Status AddGaugeCallback(std::string_view name, std::string_view help, std::function<double()> fn);
  Status AddCounterCallback(std::string_view name, std::string_view help, std::function<double()> fn);

  // The text exposition format 0.0.4: families sorted by name, children by label values.
  std::string RenderPrometheus() const;

 private:
  Result<MetricFamily*> Add(std::string_view name, std::string_view help, MetricType type,
                            std::vector<std::string> label_names, std::vector<double> upper_bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;  // guarded by mu_
};

// The content type of RenderPrometheus() output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Formats a sample value as Prometheus expects: shortest round-trip decimal, "+Inf",
// "-Inf", "NaN".
std::string FormatMetricValue(double v);
// Escapes a label value (\\, \", \n) and a HELP text (\\, \n).
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);

}  // namespace shopfloor::core
