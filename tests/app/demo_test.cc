// `shopfloor demo` end to end, as a newcomer runs it: the real binary with the built-in demo
// plant on loopback ports. After two minutes the API must list every asset with live,
// plausible values of every tag from both protocols (Modbus TCP and Sparkplug B), setpoints
// must reach the simulated process over both, and the history must survive a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "serve_harness.h"
#include "model/plant_config.h"

namespace shopfloor::app {
namespace {

using json = nlohmann::json;
using testing::Bearer;
using testing::FreePort;
using testing::HttpCall;
using testing::TempDir;
using testing::UrlEncode;

struct ExpectedTag {
  std::string key;
  const model::TagConfig* tag;
  model::Protocol protocol;
};

void Collect(const model::PlantConfig& config, const model::AssetConfig& asset, std::vector<ExpectedTag>* out,
             size_t* assets) {
  ++*assets;
  for (const auto& tag : asset.tags) {
    if (!tag.binding) continue;
    out->push_back({asset.path + "/" + tag.name, &tag, config.FindSource(tag.binding->source)->protocol});
  }
  for (const auto& child : asset.children) Collect(config, child, out, assets);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `shopfloor demo` as a child process with its output in a log file.
class DemoProcess {
 public:
  ~DemoProcess() { Kill(); }
  bool Start(const std::string& data, uint16_t http, uint16_t mqtt, const std::string& log, std::string* error) {
    log_ = log;
    http_ = http;
    std::vector<std::string> args = {testing::ShopfloorBinary(), "demo", "--data", data,
                                     "--http", "127.0.0.1:" + std::to_string(http),
                                     "--mqtt", "127.0.0.1:" + std::to_string(mqtt),
                                     "--modbus-base", "0", "--seed", "7", "--no-faults",
                                     "--burst-interval", "20s"};
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log.c_str(), "w");
      dup2(fileno(f), STDOUT_FILENO);
      dup2(fileno(f), STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *error = "shopfloor demo exited: " + ReadFile(log_);
        return false;
      }
      if (ReadFile(log_).find("Demo Works is running") != std::string::npos &&
          HttpCall(http_, "GET", "/healthz").status == 200) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *error = "shopfloor demo did not come up in 60 s: " + ReadFile(log_);
    return false;
  }
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
    return -1;
  }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string log() const { return ReadFile(log_); }

 private:
  pid_t pid_ = -1;
  uint16_t http_ = 0;
  std::string log_;
};

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<core::Status> problems;
    auto config = model::LoadPlantConfigFile(core::Env::Posix(), std::string(SHOPFLOOR_SOURCE_DIR) +
                                             "/config/demo-works.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
    Collect(config_, config_.enterprise, &tags_, &assets_);
    http_ = FreePort();
    mqtt_ = FreePort();
  }

  std::string Login(const std::string& password) {
    auto r = HttpCall(http_, "POST", "/api/v1/auth/login", json{{"name", "admin"}, {"password", password}}.dump(),
                      {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body)["token"].get<std::string>() : "";
  }

  // key -> newest sample
  std::map<std::string, json> Latest(const std::string& token) {
    auto r = HttpCall(http_, "GET", "/api/v1/latest?match=" + UrlEncode("demo-works/**"), {}, Bearer(token));
    std::map<std::string, json> out;
    latest_error_ = r.status == 200 ? "" : std::to_string(r.status) + " " + r.body;
    if (r.status != 200) return out;
    const json body = json::parse(r.body);
    for (const auto& s : body["series"]) out[s["key"].get<std::string>()] = s;
    return out;
  }

  // The tags that are not live (a good sample within the last `fresh_ms`) and plausible
  // (within the tag's range), with why.
  std::vector<std::string> Problems(const std::string& token, int64_t fresh_ms) {
    std::map<std::string, json> latest = Latest(token);
    std::vector<std::string> problems;
    const int64_t now = NowMs();
    for (const auto& t : tags_) {
      auto it = latest.find(t.key);
      if (it == latest.end() || !it->second.contains("value")) {
        problems.push_back(t.key + ": no value" + (latest_error_.empty() ? "" : " (latest: " + latest_error_ + ")"));
        continue;
      }
      const json& s = it->second;
      if (s.contains("quality")) problems.push_back(t.key + ": quality " + s["quality"].dump());
      // Polled doubles without a deadband are stored every poll; counters, states, deadband
      // tags and Sparkplug metrics (report by exception) only when they change.
      const bool may_be_still = t.tag->type != core::ValueType::kDouble || t.tag->deadband > 0 ||
                                t.protocol != model::Protocol::kModbus;
      if (!may_be_still && now - s["ts"].get<int64_t>() > fresh_ms) {
        problems.push_back(t.key + ": stale by " + std::to_string(now - s["ts"].get<int64_t>()) + " ms");
      }
      if (t.tag->range && s["value"].is_number()) {
        const double v = s["value"].get<double>();
        if (v < t.tag->range->min || v > t.tag->range->max) {
          problems.push_back(t.key + ": " + s["value"].dump() + " outside its range");
        }
      }
    }
    return problems;
  }

  model::PlantConfig config_;
  std::vector<ExpectedTag> tags_;
  size_t assets_ = 0;
  std::string latest_error_;
  uint16_t http_ = 0, mqtt_ = 0;
};

TEST_F(DemoTest, TwoMinutesOfLiveDataFromBothProtocolsSetpointsAndHistoryAcrossARestart) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  DemoProcess demo;
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(demo.Start(data, http_, mqtt_, dir.path() + "/demo1.log", &error)) << error;
  const int64_t first_start_ms = NowMs();
  std::smatch m;
  const std::string banner = demo.log();
  ASSERT_TRUE(std::regex_search(banner, m, std::regex("password:\\s+(\\S+)"))) << banner;
  const std::string password = m[1];
  const std::string token = Login(password);
  ASSERT_FALSE(token.empty());

  // Both protocols feed tags.
  std::set<model::Protocol> protocols;
  for (const auto& t : tags_) protocols.insert(t.protocol);
  ASSERT_TRUE(protocols.count(model::Protocol::kModbus) && protocols.count(model::Protocol::kSparkplug));

  // Every tag live and plausible within a minute of the start ...
  std::vector<std::string> problems;
  for (int i = 0; i < 120; ++i) {
    problems = Problems(token, 10'000);
    if (problems.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front() << "\n" << demo.log();

  // ... and setpoints reach the simulated process: Modbus (holding register) and Sparkplug (DCMD).
  const std::string compressor = "demo-works/stuttgart/utilities/compressor-1";
  const std::string pasteuriser = "demo-works/stuttgart/bottling/bottling-line/pasteuriser";
  auto patch = [&](const std::string& asset, const json& body) {
    auto r = HttpCall(http_, "PATCH", "/api/v1/assets/" + UrlEncode(asset) + "/twin/desired", body.dump(),
                      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
    EXPECT_EQ(r.status / 100, 2) << r.body;
  };
  patch(compressor, {{"pressure_setpoint", 6.5}});
  patch(pasteuriser, {{"temperature_setpoint", 66.0}});
  auto reported = [&](const std::string& asset, const std::string& tag) -> double {
    auto r = HttpCall(http_, "GET", "/api/v1/assets/" + UrlEncode(asset) + "/twin", {}, Bearer(token));
    if (r.status != 200) return -1;
    json twin = json::parse(r.body);
    const json& v = twin["reported"][tag];
    return v.is_object() && v.contains("value") && v["value"].is_number() ? v["value"].get<double>()
           : v.is_number()                                                ? v.get<double>()
                                                                          : -1;
  };
  bool written = false;
  for (int i = 0; i < 60 && !written; ++i) {
    written = std::abs(reported(compressor, "pressure_setpoint") - 6.5) < 1e-6 &&
              std::abs(reported(pasteuriser, "temperature_setpoint") - 66.0) < 1e-6;
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(written) << "setpoints not reported back\n" << demo.log();
  auto audit = HttpCall(http_, "GET", "/api/v1/audit?action=setpoint.write", {}, Bearer(token));
  EXPECT_NE(audit.body.find("pressure_setpoint"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("temperature_setpoint"), std::string::npos) << audit.body;

  // Two minutes in, still everything live and plausible.
  std::this_thread::sleep_until(started + std::chrono::seconds(75));
  problems = Problems(token, 10'000);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();

  // Production counters of both protocols keep counting.
  {
    const std::vector<std::string> counters = {
        "demo-works/stuttgart/bottling/bottling-line/filler/bottles_good",          // Sparkplug
        "demo-works/stuttgart/body-shop/body-line/weld-cell/robot-1/welds_good",   // Modbus uint32
        "demo-works/stuttgart/utilities/main-meter/energy_import"};                 // Modbus float64
    auto before = Latest(token);
    std::this_thread::sleep_for(std::chrono::seconds(45));
    auto after = Latest(token);
    for (const auto& key : counters) {
      ASSERT_TRUE(before.count(key) && after.count(key)) << key;
      EXPECT_GT(after[key]["value"].get<double>(), before[key]["value"].get<double>()) << key << " did not count";
      EXPECT_LT(NowMs() - after[key]["ts"].get<int64_t>(), 30'000) << key;
    }
  }

  // The API lists every asset of the plant.
  auto assets = HttpCall(http_, "GET", "/api/v1/assets?tags=false", {}, Bearer(token));
  ASSERT_EQ(assets.status, 200) << assets.body;
  for (const auto& t : tags_) {
    const std::string machine = t.key.substr(0, t.key.rfind('/'));
    EXPECT_NE(assets.body.find("\"" + machine + "\""), std::string::npos) << machine;
  }
  // The vibration gateway pushed a waveform burst; the ground truth is recorded.
  auto latest = Latest(token);
  auto burst = HttpCall(http_, "GET",
                        "/api/v1/latest?series=" + UrlEncode("demo-works/stuttgart/body-shop/body-line/press-1/"
                                                             "vibration_waveform") +
                            "&series=" + UrlEncode("sim/press-1/bearing_health"),
                        {}, Bearer(token));
  EXPECT_EQ(burst.status, 200) << burst.body;
  EXPECT_EQ(json::parse(burst.body)["series"][0].count("value"), 1u) << burst.body;
  EXPECT_EQ(json::parse(burst.body)["series"][1].count("value"), 1u) << burst.body;
  EXPECT_EQ(demo.log().find("sim.behind"), std::string::npos) << "the simulator fell behind";

  const int64_t stopped_ms = NowMs();
  ASSERT_EQ(demo.Stop(), 0) << demo.log();

  // Restart on the same data: no new admin password, the old one works, history is there.
  DemoProcess again;
  ASSERT_TRUE(again.Start(data, http_, mqtt_, dir.path() + "/demo2.log", &error)) << error;
  EXPECT_EQ(again.log().find("password:"), std::string::npos) << again.log();
  const std::string token2 = Login(password);
  ASSERT_FALSE(token2.empty());
  for (const std::string key : {"demo-works/stuttgart/utilities/compressor-1/discharge_pressure",
                                "demo-works/stuttgart/bottling/bottling-line/filler/fill_volume"}) {
    auto r = HttpCall(http_, "GET",
                      "/api/v1/query?series=" + UrlEncode(key) + "&from=" + std::to_string(first_start_ms) +
                          "&to=" + std::to_string(stopped_ms),
                      {}, Bearer(token2));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_GE(json::parse(r.body)["points"].size(), 20u) << key << ": too little history before the restart: " << r.body;
  }
  problems.clear();
  for (int i = 0; i < 60; ++i) {
    problems = Problems(token2, 10'000);
    if (problems.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems after the restart, first: " << problems.front();
  EXPECT_EQ(again.Stop(), 0) << again.log();
}

}  // namespace
}  // namespace shopfloor::app
