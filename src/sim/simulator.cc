#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/log.h"

namespace shopfloor::sim {

namespace {

void MachinePaths(const model::AssetConfig& asset, std::map<std::string, std::string>* out) {
  if (asset.level == model::AssetLevel::kMachine) (*out)[asset.name] = asset.path;
  for (const auto& child : asset.children) MachinePaths(child, out);
}

// host:port -> parts; false when malformed.
bool SplitHostPort(const std::string& text, std::string* host, uint16_t* port) {
  std::string t = text;
  if (auto at = t.find("://"); at != std::string::npos) t = t.substr(at + 3);
  if (auto slash = t.find('/'); slash != std::string::npos) t = t.substr(0, slash);
  size_t colon = t.rfind(':');
  if (colon == std::string::npos) return false;
  *host = t.substr(0, colon);
  if (host->size() > 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  char* end = nullptr;
  long p = std::strtol(t.c_str() + colon + 1, &end, 10);
  if (end == t.c_str() + colon + 1 || *end != '\0' || p < 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

// A line-protocol string field value.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

Simulator::Simulator(const model::PlantConfig& config, SimulatorOptions options, core::Clock* clock)
    : config_(config), options_(std::move(options)), clock_(clock) {
  MachinePaths(config_.enterprise, &machine_paths_);
}

core::Result<std::unique_ptr<Simulator>> Simulator::Start(const model::PlantConfig& config,
                                                          SimulatorOptions options, core::Clock* clock,
                                                          std::unique_ptr<Factory> factory) {
  if (!(options.speed > 0) || options.speed > 1e6) {
    return core::Status::InvalidArgument(fmt::format("speed must be > 0 and <= 1000000, got {}", options.speed));
  }
  if (options.tick <= 0) return core::Status::InvalidArgument("tick must be positive");
  if (options.factory.start == 0) options.factory.start = clock->Now();
  std::unique_ptr<Simulator> sim(new Simulator(config, std::move(options), clock));
  sim->factory_ = factory ? std::move(factory) : Factory::Create(sim->options_.factory);
  sim->sim_start_ = sim->factory_->now();
  sim->steady_start_ = clock->Steady();
  sim->next_truth_ = sim->sim_start_;
  auto apply = [s = sim.get()](const std::string& machine, const std::string& signal, const core::Value& value) {
    return s->Write(machine, signal, value);
  };
  for (const auto& source : config.sources) {
    if (source.protocol != model::Protocol::kModbus) continue;
    auto points = ModbusServer::PointsOf(config, source);
    if (!points.ok()) return points.status();
    std::string host;
    uint16_t port = 0;
    auto listen = sim->options_.modbus_listen.find(source.name);
    const std::string& endpoint = listen != sim->options_.modbus_listen.end() ? listen->second : source.endpoint;
    if (!SplitHostPort(endpoint, &host, &port)) {
      return core::Status::InvalidArgument(fmt::format("source {}: cannot listen on \"{}\"", source.name, endpoint));
    }
    auto server = ModbusServer::Start(source.name, std::move(points).value(), host, port, source.options.unit_id,
                                      source.options.word_swap, apply);
    if (!server.ok()) return server.status();
    (*server)->Refresh(*sim->factory_);
    sim->modbus_.push_back(std::move(server).value());
  }
  // Tags the physics does not produce are served as 0 / null; say which.
  std::vector<std::string> missing;
  for (const auto& series : model::ListSeries(config)) {
    if (series.tag->binding && !sim->factory_->Read(series.asset->name, series.tag->name)) {
      missing.push_back(series.series_key);
    }
  }
  if (!missing.empty()) {
    SF_LOG(warn, "sim.unsimulated", "tags={} first=\"{}\" hint=\"the simulator knows the demo plant's machines and "
           "tags; these are served as 0 (Modbus) or null (Sparkplug)\"", missing.size(), missing.front());
  }
  sim->thread_ = std::thread([s = sim.get()] { s->Run(); });
  return sim;
}

Simulator::~Simulator() { Stop(); }

void Simulator::Stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  for (auto& server : modbus_) server->Stop();
  // Stopped outside the lock: an edge node's client thread may be waiting for it (a command).
  std::vector<std::unique_ptr<EdgeNode>> edges;
  std::unique_ptr<LinePush> push;
  {
    std::lock_guard<std::mutex> lock(mu_);
    edges.swap(edges_);
    push.swap(push_);
  }
  for (auto& edge : edges) edge->Stop();
  if (push) {
    push->Flush(2000);
    push->Stop();
  }
}

core::Status Simulator::ConnectMqtt(const std::string& host, uint16_t port, const std::string& username,
                                    const std::string& password) {
  std::vector<std::unique_ptr<EdgeNode>> nodes;
  for (const auto& source : config_.sources) {
    if (source.protocol != model::Protocol::kSparkplug) continue;
    EdgeNodeOptions o;
    o.clock = clock_;
    o.username = username;
    o.password = password;
    if (!host.empty()) {
      o.host = host;
      o.port = port;
    } else if (!SplitHostPort(source.endpoint, &o.host, &o.port)) {
      return core::Status::InvalidArgument(fmt::format("source {}: endpoint \"{}\" is not host:port", source.name,
                                                       source.endpoint));
    }
    auto node = EdgeNode::Create(config_, source, o, [this](auto& m, auto& s, auto& v) { return Write(m, s, v); });
    if (!node.ok()) return node.status();
    core::Status s = (*node)->Start();
    if (!s.ok()) return s;
    nodes.push_back(std::move(node).value());
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& n : nodes) edges_.push_back(std::move(n));
  return core::Status::OK();
}

void Simulator::ConnectHttp(const std::string& host, uint16_t port, const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  push_ = std::make_unique<LinePush>(host, port, token);
}

std::map<std::string, std::string> Simulator::modbus_endpoints() const {
  std::map<std::string, std::string> out;
  for (const auto& server : modbus_) {
    const auto& source = *config_.FindSource(server->name());
    std::string host;
    uint16_t port = 0;
    auto listen = options_.modbus_listen.find(source.name);
    SplitHostPort(listen != options_.modbus_listen.end() ? listen->second : source.endpoint, &host, &port);
    out[server->name()] = fmt::format("{}:{}", host, server->port());
  }
  return out;
}

SimulatorStatus Simulator::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  SimulatorStatus s;
  s.sim_time = factory_->now();
  s.lag = lag_;
  s.bursts = bursts_;
  s.bursts_skipped = bursts_skipped_;
  for (const auto& server : modbus_) s.modbus.emplace_back(server->name(), server->stats());
  for (const auto& edge : edges_) s.edge_nodes.emplace_back(edge->edge_node_id(), edge->stats());
  if (push_) s.push = push_->stats();
  return s;
}

void Simulator::With(const std::function<void(Factory&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fn(*factory_);
}

core::Status Simulator::Write(const std::string& machine, const std::string& signal, const core::Value& value) {
  std::lock_guard<std::mutex> lock(mu_);
  return factory_->Write(machine, signal, value);
}

void Simulator::Run() {
  while (!stop_.load(std::memory_order_acquire)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Step();
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(options_.tick));
  }
}

void Simulator::Step() {
  const int64_t steady = clock_->Steady();
  const core::Timestamp target =
      sim_start_ + static_cast<core::Timestamp>(static_cast<double>(steady - steady_start_) * options_.speed);
  // Bounded work per wake-up, so Stop() and the front ends are never starved: at most one
  // wall second's worth of steps at this speed.
  const core::Duration budget = static_cast<core::Duration>(options_.speed * core::kSecond) + options_.factory.step;
  factory_->AdvanceTo(std::min(target, factory_->now() + budget));
  lag_ = static_cast<core::Duration>(static_cast<double>(target - factory_->now()) / options_.speed);
  if (lag_ > core::kSecond && steady - last_behind_log_ > core::kMinute) {
    last_behind_log_ = steady;
    SF_LOG(warn, "sim.behind", "lag_ms={} speed={} hint=\"the machine cannot simulate this fast; lower --speed\"",
           lag_ / core::kMillisecond, options_.speed);
  }
  for (auto& server : modbus_) {
    bool reachable = true;
    for (const auto& m : server->machines()) reachable = reachable && factory_->Reachable(m);
    server->SetReachable(reachable);
    server->Refresh(*factory_);
  }
  if (steady - last_publish_ >= options_.publish_interval) {
    last_publish_ = steady;
    for (auto& edge : edges_) edge->Tick(*factory_);
  }
  PushOutputs(clock_->Now());
}

void Simulator::PushOutputs(core::Timestamp wall_now) {
  std::vector<Event> events = factory_->TakeEvents();
  std::vector<Burst> bursts = factory_->TakeBursts();
  for (const Event& e : events) {
    if (e.kind == "failure" || e.kind == "maintenance" || e.kind == "fault") {
      SF_LOG(info, "sim.event", "machine={} kind={} code={} detail=\"{}\"", e.machine, e.kind, e.code, e.detail);
    }
  }
  if (!push_) return;
  std::string body;
  for (const Event& e : events) {
    // Several events of a machine in one step keep their order 1 ns apart.
    core::Timestamp& last = last_event_[e.machine];
    last = std::max(wall_now, last + 1);
    body += fmt::format("sim/{} event={} {}\n", e.machine, Quoted(fmt::format("{}: {}", e.kind, e.detail)), last);
  }
  for (const Burst& b : bursts) {
    auto path = machine_paths_.find(b.machine);
    if (path == machine_paths_.end() || b.samples.empty() || !(b.sample_rate > 0)) continue;
    const double period = 1e9 / b.sample_rate;
    const auto length = static_cast<core::Timestamp>(period * static_cast<double>(b.samples.size()));
    // Stamped in wall time at its own sample rate; at high speed a burst that would overlap
    // the previous one of the machine is skipped.
    core::Timestamp start = wall_now - length;
    core::Timestamp& end = burst_end_[b.machine];
    if (start < end) {
      ++bursts_skipped_;
      continue;
    }
    end = wall_now;
    ++bursts_;
    std::string lines;
    lines.reserve(b.samples.size() * (path->second.size() + 40));
    for (size_t i = 0; i < b.samples.size(); ++i) {
      lines += fmt::format("{} vibration_waveform={:.5g} {}\n", path->second, b.samples[i],
                           start + static_cast<core::Timestamp>(period * static_cast<double>(i)));
    }
    push_->Send(std::move(lines));
  }
  if (factory_->now() >= next_truth_) {
    next_truth_ = factory_->now() + core::kMinute;
    for (const BearingTruth& t : factory_->Bearings()) {
      body += fmt::format("sim/{} bearing_health={:.6g},bearing_rul_h={:.6g},bearing_end_of_life={}i,"
                          "bearing_failures={}i {}\n",
                          t.machine, t.health, static_cast<double>(t.remaining) / core::kHour,
                          t.end_of_life / core::kMillisecond, t.failures, wall_now);
    }
  }
  if (!body.empty()) push_->Send(std::move(body));
}

}  // namespace shopfloor::sim
