#include "core/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace shopfloor::core {

namespace {

bool IsMetricNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsLabelNameChar(char c, bool first) { return c != ':' && IsMetricNameChar(c, first); }

Status CheckMetricName(std::string_view name) {
  bool ok = !name.empty();
  for (size_t i = 0; ok && i < name.size(); ++i) ok = IsMetricNameChar(name[i], i == 0);
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("metric name '{}' is not of the form [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  return Status::OK();
}

Status CheckLabelName(std::string_view metric, std::string_view label, MetricType type) {
  bool ok = !label.empty() && !label.starts_with("__");
  for (size_t i = 0; ok && i < label.size(); ++i) ok = IsLabelNameChar(label[i], i == 0);
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "metric '{}': label name '{}' is not of the form [a-zA-Z_][a-zA-Z0-9_]* (and may not start with '__')",
        metric, label));
  }
  if (type == MetricType::kHistogram && label == "le") {
    return Status::InvalidArgument(fmt::format("histogram '{}': the label name 'le' is reserved", metric));
  }
  return Status::OK();
}

// Appends {a="x",b="y"} (plus le="..." when given); nothing for no labels.
void AppendLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view le, std::string* out) {
  if (names.empty() && le.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    fmt::format_to(std::back_inserter(*out), "{}=\"{}\"", names[i], EscapeLabelValue(values[i]));
  }
  if (!le.empty()) {
    if (!names.empty()) out->push_back(',');
    fmt::format_to(std::back_inserter(*out), "le=\"{}\"", le);
  }
  out->push_back('}');
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------- Histogram

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // The first bound >= v; NaN compares false with everything and lands in +Inf.
  size_t bucket = std::isnan(v) ? upper_bounds_.size()
                                : static_cast<size_t>(std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) -
                                                      upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = upper_bounds_;
  s.cumulative.resize(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // _count is derived from the buckets so that it always equals the +Inf bucket, even
  // while other threads observe.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---------------------------------------------------------------- families

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                           std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {}

MetricFamily::~MetricFamily() = default;

Result<MetricFamily::Child*> MetricFamily::FindOrCreate(const std::vector<std::string>& label_values,
                                                        std::function<double()> callback) {
  const bool want_callback = static_cast<bool>(callback);
  if (label_values.size() != label_names_.size()) {
    return Status::InvalidArgument(fmt::format("metric '{}' has {} label(s) ({}), got {} value(s)", name_,
                                               label_names_.size(), fmt::join(label_names_, ", "),
                                               label_values.size()));
  }
  std::lock_guard l(mu_);
  auto [it, inserted] = children_.try_emplace(label_values);
  Child& child = it->second;
  if (inserted) {
    if (want_callback) {
      child.callback = std::move(callback);
      return &child;
    }
    switch (type_) {
      case MetricType::kCounter: child.counter = std::make_unique<Counter>(); break;
      case MetricType::kGauge: child.gauge = std::make_unique<Gauge>(); break;
      case MetricType::kHistogram: child.histogram = std::make_unique<Histogram>(upper_bounds_); break;
    }
    return &child;
  }
  if (static_cast<bool>(child.callback) != want_callback) {
    return Status::AlreadyExists(fmt::format("metric '{}{{{}}}' already exists as a {} child", name_,
                                             fmt::join(label_values, ","),
                                             child.callback ? "callback" : "plain"));
  }
  if (want_callback) child.callback = std::move(callback);  // a new source replaces the old
  return &child;
}

Status MetricFamily::SetCallbackChild(const std::vector<std::string>& label_values, std::function<double()> fn) {
  if (!fn) return Status::InvalidArgument(fmt::format("metric '{}': empty callback", name_));
  return FindOrCreate(label_values, std::move(fn)).status();
}

Status MetricFamily::RemoveChild(const std::vector<std::string>& label_values) {
  std::lock_guard l(mu_);
  if (children_.erase(label_values) == 0) {
    return Status::NotFound(fmt::format("metric '{}' has no child {{{}}}", name_, fmt::join(label_values, ",")));
  }
  return Status::OK();
}

void MetricFamily::Render(std::string* out) const {
  std::lock_guard l(mu_);
  if (children_.empty()) return;
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name_, EscapeHelp(help_), name_,
                 MetricTypeName(type_));
  for (const auto& [values, child] : children_) {
    if (type_ == MetricType::kHistogram) {
      Histogram::Snapshot s = child.histogram->snapshot();
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        std::string le = i < s.upper_bounds.size() ? FormatMetricValue(s.upper_bounds[i]) : "+Inf";
        *out += name_;
        *out += "_bucket";
        AppendLabels(label_names_, values, le, out);
        fmt::format_to(std::back_inserter(*out), " {}\n", s.cumulative[i]);
      }
      *out += name_;
      *out += "_sum";
      AppendLabels(label_names_, values, {}, out);
      fmt::format_to(std::back_inserter(*out), " {}\n", FormatMetricValue(s.sum));
      *out += name_;
      *out += "_count";
      AppendLabels(label_names_, values, {}, out);
      fmt::format_to(std::back_inserter(*out), " {}\n", s.count);
      continue;
    }
    *out += name_;
    AppendLabels(label_names_, values, {}, out);
    out->push_back(' ');
    if (child.callback) {
      *out += FormatMetricValue(child.callback());
    } else if (child.counter) {
      *out += fmt::format("{}", child.counter->value());
    } else {
      *out += FormatMetricValue(child.gauge->value());
    }
    out->push_back('\n');
  }
}

Result<Counter*> CounterFamily::WithLabels(const std::vector<std::string>& label_values) {
  SF_ASSIGN_OR_RETURN(Child * child, FindOrCreate(label_values, nullptr));
  return child->counter.get();
}

Result<Gauge*> GaugeFamily::WithLabels(const std::vector<std::string>& label_values) {
  SF_ASSIGN_OR_RETURN(Child * child, FindOrCreate(label_values, nullptr));
  return child->gauge.get();
}

Result<Histogram*> HistogramFamily::WithLabels(const std::vector<std::string>& label_values) {
  SF_ASSIGN_OR_RETURN(Child * child, FindOrCreate(label_values, nullptr));
  return child->histogram.get();
}

// ---------------------------------------------------------------- registry

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<MetricFamily*> MetricsRegistry::Add(std::string_view name, std::string_view help, MetricType type,
                                           std::vector<std::string> label_names, std::vector<double> upper_bounds) {
  SF_RETURN_IF_ERROR(CheckMetricName(name));
  for (size_t i = 0; i < label_names.size(); ++i) {
    SF_RETURN_IF_ERROR(CheckLabelName(name, label_names[i], type));
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label_names[i]) {
        return Status::InvalidArgument(fmt::format("metric '{}': label '{}' given twice", name, label_names[i]));
      }
    }
  }
  if (type == MetricType::kHistogram) {
    if (!upper_bounds.empty() && std::isinf(upper_bounds.back()) && upper_bounds.back() > 0) upper_bounds.pop_back();
    for (size_t i = 0; i < upper_bounds.size(); ++i) {
      if (!std::isfinite(upper_bounds[i]) || (i > 0 && !(upper_bounds[i] > upper_bounds[i - 1]))) {
        return Status::InvalidArgument(fmt::format(
            "histogram '{}': bucket bounds must be finite and strictly increasing (bound {} is {})", name, i,
            FormatMetricValue(upper_bounds[i])));
      }
    }
  }
  std::lock_guard l(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    MetricFamily* existing = it->second.get();
    if (existing->type() != type || existing->label_names() != label_names ||
        existing->upper_bounds() != upper_bounds) {
      return Status::InvalidArgument(fmt::format(
          "metric '{}' is already registered as a {} with labels ({}); asked for a {} with labels ({})", name,
          MetricTypeName(existing->type()), fmt::join(existing->label_names(), ", "), MetricTypeName(type),
          fmt::join(label_names, ", ")));
    }
    return existing;
  }
  std::unique_ptr<MetricFamily> family;
  std::string name_copy(name);
  std::string help_copy(help);
  switch (type) {
    case MetricType::kCounter:
      family = std::make_unique<CounterFamily>(name_copy, help_copy, type, std::move(label_names),
                                               std::vector<double>{});
      break;
    case MetricType::kGauge:
      family =
          std::make_unique<GaugeFamily>(name_copy, help_copy, type, std::move(label_names), std::vector<double>{});
      break;
    case MetricType::kHistogram:
      family = std::make_unique<HistogramFamily>(name_copy, help_copy, type, std::move(label_names),
                                                 std::move(upper_bounds));
      break;
  }
  MetricFamily* raw = family.get();
  families_.emplace(std::move(name_copy), std::move(family));
  return raw;
}

Result<CounterFamily*> MetricsRegistry::AddCounterFamily(std::string_view name, std::string_view help,
                                                         std::vector<std::string> label_names) {
  SF_ASSIGN_OR_RETURN(MetricFamily * f, Add(name, help, MetricType::kCounter, std::move(label_names), {}));
  return static_cast<CounterFamily*>(f);
}

Result<GaugeFamily*> MetricsRegistry::AddGaugeFamily(std::string_view name, std::string_view help,
                                                     std::vector<std::string> label_names) {
  SF_ASSIGN_OR_RETURN(MetricFamily * f, Add(name, help, MetricType::kGauge, std::move(label_names), {}));
  return static_cast<GaugeFamily*>(f);
}

Result<HistogramFamily*> MetricsRegistry::AddHistogramFamily(std::string_view name, std::string_view help,
                                                             std::vector<double> upper_bounds,
                                                             std::vector<std::string> label_names) {
  SF_ASSIGN_OR_RETURN(MetricFamily * f,
                      Add(name, help, MetricType::kHistogram, std::move(label_names), std::move(upper_bounds)));
  return static_cast<HistogramFamily*>(f);
}

Result<Counter*> MetricsRegistry::AddCounter(std::string_view name, std::string_view help) {
  SF_ASSIGN_OR_RETURN(CounterFamily * f, AddCounterFamily(name, help));
  return f->WithLabels({});
}

Result<Gauge*> MetricsRegistry::AddGauge(std::string_view name, std::string_view help) {
  SF_ASSIGN_OR_RETURN(GaugeFamily * f, AddGaugeFamily(name, help));
  return f->WithLabels({});
}

Result<Histogram*> MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                                 std::vector<double> upper_bounds) {
  SF_ASSIGN_OR_RETURN(HistogramFamily * f, AddHistogramFamily(name, help, std::move(upper_bounds)));
  return f->WithLabels({});
}

Status MetricsRegistry::AddGaugeCallback(std::string_view name, std::string_view help, std::function<double()> fn) {
  SF_ASSIGN_OR_RETURN(GaugeFamily * f, AddGaugeFamily(name, help));
  return f->SetCallback({}, std::move(fn));
}

Status MetricsRegistry::AddCounterCallback(std::string_view name, std::string_view help,
                                           std::function<double()> fn) {
  SF_ASSIGN_OR_RETURN(CounterFamily * f, AddCounterFamily(name, help));
  return f->SetCallback({}, std::move(fn));
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::vector<const MetricFamily*> families;
  {
    std::lock_guard l(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamily* family : families) family->Render(&out);
  return out;
}

}  // namespace shopfloor::core
