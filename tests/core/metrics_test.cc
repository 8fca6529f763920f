#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace shopfloor::core {
namespace {

// A strict reader of the text format 0.0.4, enough to check what RenderPrometheus() writes:
// every line is a HELP, a TYPE or a sample; every sample belongs to a family whose HELP
// and TYPE came first; label values unescape; values parse as floats.
struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::vector<ParsedSample> samples;
  std::string error;  // empty when everything parsed
};

bool ParseValue(const std::string& text, double* out) {
  if (text == "+Inf") { *out = INFINITY; return true; }
  if (text == "-Inf") { *out = -INFINITY; return true; }
  if (text == "NaN") { *out = NAN; return true; }
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

// The family a sample name belongs to (histogram samples carry a suffix).
std::string FamilyOf(const std::string& sample, const std::map<std::string, std::string>& types) {
  if (types.count(sample)) return sample;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.ends_with(s)) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return "";
}

Exposition Parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) { e.error = "line " + std::to_string(n) + ": " + why + ": " + line; };
  while (std::getline(in, line)) {
    ++n;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      if (sp == std::string::npos) { fail("no text after the name"); return e; }
      std::string name = rest.substr(0, sp);
      if (line[2] == 'H') {
        if (e.help.count(name)) { fail("second HELP"); return e; }
        e.help[name] = rest.substr(sp + 1);
      } else {
        if (!e.help.count(name)) { fail("TYPE before HELP"); return e; }
        std::string t = rest.substr(sp + 1);
        if (t != "counter" && t != "gauge" && t != "histogram") { fail("unknown type"); return e; }
        e.type[name] = t;
      }
      continue;
    }
    ParsedSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name.push_back(line[i++]);
    if (s.name.empty()) { fail("no metric name"); return e; }
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        while (i < line.size() && line[i] != '=') label.push_back(line[i++]);
        if (i + 1 >= line.size() || line[i + 1] != '"') { fail("label without a quoted value"); return e; }
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            if (i + 1 >= line.size()) { fail("dangling escape"); return e; }
            char c = line[i + 1];
            if (c == 'n') value.push_back('\n');
            else if (c == '\\' || c == '"') value.push_back(c);
            else { fail("bad escape"); return e; }
            i += 2;
          } else {
            value.push_back(line[i++]);
          }
        }
        if (i >= line.size()) { fail("unterminated label value"); return e; }
        ++i;  // closing quote
        if (s.labels.count(label)) { fail("duplicate label"); return e; }
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) { fail("unterminated label set"); return e; }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') { fail("no space before the value"); return e; }
    if (!ParseValue(line.substr(i + 1), &s.value)) { fail("bad value"); return e; }
    if (FamilyOf(s.name, e.type).empty()) { fail("sample before its HELP/TYPE"); return e; }
    e.samples.push_back(std::move(s));
  }
  return e;
}

TEST(MetricsTest, GoldenText) {
  MetricsRegistry r;
  auto requests = r.AddCounterFamily("http_requests_total", "HTTP requests.", {"route", "status"});
  ASSERT_TRUE(requests.ok());
  (*(*requests)->WithLabels({"/api/v1/query", "200"}))->Increment(3);
  (*(*requests)->WithLabels({"/api/v1/latest", "404"}))->Increment();
  auto temp = r.AddGauge("a_temperature_celsius", "A gauge.\nSecond line \\ here.");
  ASSERT_TRUE(temp.ok());
  (*temp)->Set(-2.5);
  ASSERT_TRUE(r.AddGaugeCallback("b_clients", "Clients connected.", [] { return 7.0; }).ok());
  auto lat = r.AddHistogram("c_latency_seconds", "Latency.", {0.1, 0.5, 1});
  ASSERT_TRUE(lat.ok());
  for (double v : {0.05, 0.1, 0.3, 2.0}) (*lat)->Observe(v);
  // A labelled family with no children yet renders nothing.
  ASSERT_TRUE(r.AddGaugeFamily("d_queue_depth", "Queue depth.", {"queue"}).ok());

  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP a_temperature_celsius A gauge.\\nSecond line \\\\ here.\n"
            "# TYPE a_temperature_celsius gauge\n"
            "a_temperature_celsius -2.5\n"
            "# HELP b_clients Clients connected.\n"
            "# TYPE b_clients gauge\n"
            "b_clients 7\n"
            "# HELP c_latency_seconds Latency.\n"
            "# TYPE c_latency_seconds histogram\n"
            "c_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "c_latency_seconds_bucket{le=\"0.5\"} 3\n"
            "c_latency_seconds_bucket{le=\"1\"} 3\n"
            "c_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "c_latency_seconds_sum 2.45\n"
            "c_latency_seconds_count 4\n"
            "# HELP http_requests_total HTTP requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"/api/v1/latest\",status=\"404\"} 1\n"
            "http_requests_total{route=\"/api/v1/query\",status=\"200\"} 3\n");
  Exposition e = Parse(r.RenderPrometheus());
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.samples.size(), 10u);
}

TEST(MetricsTest, LabelValuesAreEscapedAndParseBack) {
  MetricsRegistry r;
  auto f = r.AddCounterFamily("odd_total", "Odd labels.", {"path", "other"});
  ASSERT_TRUE(f.ok());
  const std::string nasty = "a\"b\\c\nd}{,=e ";
  (*(*f)->WithLabels({nasty, ""}))->Increment(2);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("odd_total{path=\"a\\\"b\\\\c\\nd}{,=e \",other=\"\"} 2\n"), std::string::npos) << text;
  Exposition e = Parse(text);
  ASSERT_EQ(e.error, "");
  ASSERT_EQ(e.samples.size(), 1u);
  EXPECT_EQ(e.samples[0].labels.at("path"), nasty);
  EXPECT_EQ(e.samples[0].labels.at("other"), "");
  EXPECT_EQ(e.samples[0].value, 2);
}

TEST(MetricsTest, HistogramBucketBoundariesAreInclusive) {
  Histogram h(std::vector<double>{1, 2, 4});
  for (double v : {-1.0, 1.0, 1.0000001, 2.0, 4.0, 4.5, double{INFINITY}}) h.Observe(v);
  h.Observe(NAN);
  Histogram::Snapshot s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // -1, 1
  EXPECT_EQ(s.cumulative[1], 4u);  // + 1.0000001, 2
  EXPECT_EQ(s.cumulative[2], 5u);  // + 4
  EXPECT_EQ(s.cumulative[3], 8u);  // + 4.5, +Inf, NaN
  EXPECT_EQ(s.count, 8u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(LinearBuckets(0, 5, 3), (std::vector<double>{0, 5, 10}));
  EXPECT_EQ(DefaultLatencyBuckets().size(), 11u);
}

TEST(MetricsTest, RegistrationIsIdempotentAndChecked) {
  MetricsRegistry r;
  auto a = r.AddGaugeFamily("shopfloor_queue_depth", "Queue depth.", {"queue"});
  auto b = r.AddGaugeFamily("shopfloor_queue_depth", "Queue depth.", {"queue"});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  // The same name as another type, or with other labels, is refused with a message naming it.
  auto c = r.AddCounterFamily("shopfloor_queue_depth", "x", {"queue"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().ToString().find("shopfloor_queue_depth"), std::string::npos);
  EXPECT_FALSE(r.AddGaugeFamily("shopfloor_queue_depth", "x", {"q"}).ok());
  // Names.
  EXPECT_FALSE(r.AddCounter("", "x").ok());
  EXPECT_FALSE(r.AddCounter("9lives", "x").ok());
  EXPECT_FALSE(r.AddCounter("has-dash", "x").ok());
  EXPECT_TRUE(r.AddCounter("ns:sub_total", "x").ok());
  EXPECT_FALSE(r.AddCounterFamily("l_total", "x", {"__reserved"}).ok());
  EXPECT_FALSE(r.AddCounterFamily("l_total", "x", {"a:b"}).ok());
  EXPECT_FALSE(r.AddCounterFamily("l_total", "x", {"a", "a"}).ok());
  EXPECT_FALSE(r.AddHistogramFamily("h_seconds", "x", {1}, {"le"}).ok());
  // Bounds.
  EXPECT_FALSE(r.AddHistogram("h1", "x", {1, 1}).ok());
  EXPECT_FALSE(r.AddHistogram("h2", "x", {2, 1}).ok());
  EXPECT_FALSE(r.AddHistogram("h3", "x", {NAN}).ok());
  EXPECT_TRUE(r.AddHistogram("h4", "x", {1, INFINITY}).ok());  // +Inf is implicit
  EXPECT_TRUE(r.AddHistogram("h4", "x", {1}).ok());
  EXPECT_FALSE(r.AddHistogram("h4", "x", {1, 2}).ok());
}

TEST(MetricsTest, ChildrenNeedTheRightNumberOfLabels) {
  MetricsRegistry r;
  auto f = r.AddCounterFamily("x_total", "x", {"a", "b"});
  ASSERT_TRUE(f.ok());
  auto bad = (*f)->WithLabels({"only-one"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("x_total"), std::string::npos);
  auto c1 = (*f)->WithLabels({"1", "2"});
  auto c2 = (*f)->WithLabels({"1", "2"});
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(*c1, *c2);  // the same child, so callers may look it up once and keep it
}

TEST(MetricsTest, CallbackChildrenAndRemoval) {
  MetricsRegistry r;
  auto f = r.AddGaugeFamily("q_depth", "Depth.", {"queue"});
  ASSERT_TRUE(f.ok());
  int calls = 0;
  ASSERT_TRUE((*f)->SetCallback({"bus"}, [&] { ++calls; return 12.0; }).ok());
  ASSERT_TRUE((*f)->SetCallback({"ws"}, [] { return 3.0; }).ok());
  EXPECT_FALSE((*f)->SetCallback({"ws"}, nullptr).ok());
  // A callback child is not also a plain child.
  EXPECT_FALSE((*f)->WithLabels({"bus"}).ok());
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("q_depth{queue=\"bus\"} 12\n"), std::string::npos);
  EXPECT_NE(text.find("q_depth{queue=\"ws\"} 3\n"), std::string::npos);
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE((*f)->RemoveChild({"bus"}).ok());
  EXPECT_FALSE((*f)->RemoveChild({"bus"}).ok());
  text = r.RenderPrometheus();
  EXPECT_EQ(text.find("bus"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, SpecialValues) {
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(123456789), "123456789");
  double back = 0;
  ASSERT_TRUE(ParseValue(FormatMetricValue(0.1 + 0.2), &back));
  EXPECT_EQ(back, 0.1 + 0.2);  // shortest round-trip, no precision lost
}

TEST(MetricsTest, ConcurrentIncrementsAndScrapes) {
  MetricsRegistry r;
  auto f = r.AddCounterFamily("work_total", "Work.", {"worker"});
  auto h = r.AddHistogram("work_seconds", "Work latency.", {0.5, 1.5});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(h.ok());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread shares one child and owns one.
      Counter* shared = *(*f)->WithLabels({"shared"});
      Counter* own = *(*f)->WithLabels({"t" + std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        shared->Increment();
        own->Increment(2);
        (*h)->Observe(i % 2);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 20; ++i) {
      Exposition e = Parse(r.RenderPrometheus());
      EXPECT_EQ(e.error, "");
    }
  });
  for (auto& t : threads) t.join();
  scraper.join();
  EXPECT_EQ((*(*f)->WithLabels({"shared"}))->value(), uint64_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ((*(*f)->WithLabels({"t" + std::to_string(t)}))->value(), 2ull * kPerThread);
  }
  Histogram::Snapshot s = (*h)->snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(s.sum, kThreads * kPerThread / 2.0);
  Exposition e = Parse(r.RenderPrometheus());
  ASSERT_EQ(e.error, "");
  std::set<std::string> families;
  for (const auto& sample : e.samples) families.insert(FamilyOf(sample.name, e.type));
  EXPECT_EQ(families, (std::set<std::string>{"work_total", "work_seconds"}));
}

}  // namespace
}  // namespace shopfloor::core
