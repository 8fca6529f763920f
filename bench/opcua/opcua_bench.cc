// opcua_bench: Shopfloor's OPC UA client against a server (scripts/bench opcua runs it
// against tests/peers/opcua/server.js --changing=N, beside node-opcua's own client,
// tests/peers/opcua/bench_client.js, which prints the same lines).
//
//   opcua_bench --url=opc.tcp://127.0.0.1:PORT --nodes=1000 --mode=read --batch=100 --seconds=5
//     Reads the Value of ns=1;s=Changing.V0..V(nodes-1), `batch` nodes per Read request,
//     cycling through all nodes, for `seconds`. Prints values/s and requests/s.
//   opcua_bench --url=... --nodes=1000 --mode=subscribe --seconds=5 --publishing-ms=100
//     One subscription with one monitored item per node (sampling --sampling-ms, default
//     25, queue 10); the initial values are drained first, then DataChangeNotifications are
//     counted for `seconds`. Prints notifications/s.
// Output: one JSON object per line, e.g.
//   {"client":"shopfloor","mode":"read","batch":100,"nodes":1000,"seconds":5.0,"values":..,"requests":..,
//    "values_per_s":..,"requests_per_s":..}
// Every value read must be Good; anything else is an error (exit 1).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "connect/opcua/client.h"

namespace opcua = shopfloor::connect::opcua;

namespace {

struct Args {
  std::string url;
  std::string mode = "read";
  int nodes = 1000;
  int batch = 100;
  double seconds = 5;
  double publishing_ms = 100;
  double sampling_ms = 25;
};

bool Flag(const char* arg, std::string_view name, std::string* out) {
  std::string prefix = fmt::format("--{}=", name);
  if (std::strncmp(arg, prefix.c_str(), prefix.size()) != 0) return false;
  *out = arg + prefix.size();
  return true;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "opcua_bench: %s\n", message.c_str());
  std::exit(1);
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void RunRead(opcua::Client& client, const Args& args) {
  std::vector<opcua::ReadValueId> all;
  for (int i = 0; i < args.nodes; ++i) all.push_back({opcua::NodeId::String(1, fmt::format("Changing.V{}", i))});
  uint64_t values = 0, requests = 0;
  size_t next = 0;
  const auto start = std::chrono::steady_clock::now();
  while (Since(start) < args.seconds) {
    std::vector<opcua::ReadValueId> batch;
    for (int i = 0; i < args.batch; ++i) batch.push_back(all[(next + i) % all.size()]);
    next = (next + args.batch) % all.size();
    auto read = client.Read(batch);
    if (!read.ok()) Fail(read.status().ToString());
    for (const auto& dv : *read) {
      if (dv.status_code() != 0) Fail(fmt::format("a value read is {}", opcua::StatusCodeName(dv.status_code())));
    }
    values += read->size();
    ++requests;
  }
  const double elapsed = Since(start);
  std::printf(
      "{\"client\":\"shopfloor\",\"mode\":\"read\",\"batch\":%d,\"nodes\":%d,\"seconds\":%.3f,\"values\":%llu,"
      "\"requests\":%llu,\"values_per_s\":%.1f,\"requests_per_s\":%.1f}\n",
      args.batch, args.nodes, elapsed, static_cast<unsigned long long>(values),
      static_cast<unsigned long long>(requests), values / elapsed, requests / elapsed);
}

void RunSubscribe(opcua::Client& client, const Args& args) {
  opcua::SubscriptionParams params;
  params.publishing_interval_ms = args.publishing_ms;
  params.max_keep_alive_count = 10;
  params.lifetime_count = 100;
  params.max_notifications_per_publish = 0;
  auto sub = client.CreateSubscription(params);
  if (!sub.ok()) Fail(sub.status().ToString());
  std::vector<opcua::MonitoredItemRequest> items(args.nodes);
  for (int i = 0; i < args.nodes; ++i) {
    items[i].node_id = opcua::NodeId::String(1, fmt::format("Changing.V{}", i));
    items[i].client_handle = static_cast<uint32_t>(i);
    items[i].sampling_interval_ms = args.sampling_ms;
    items[i].queue_size = 10;
  }
  const auto created_at = std::chrono::steady_clock::now();
  auto created = client.CreateMonitoredItems(sub->id, items);
  if (!created.ok()) Fail(created.status().ToString());
  const double create_s = Since(created_at);
  for (const auto& r : *created) {
    if (r.status & 0x80000000u) Fail(fmt::format("CreateMonitoredItems: {}", opcua::StatusCodeName(r.status)));
  }
  // Drain the initial values (one per item) before measuring.
  size_t initial = 0;
  while (initial < static_cast<size_t>(args.nodes)) {
    auto p = client.Publish();
    if (!p.ok()) Fail(p.status().ToString());
    initial += p->data_changes.size();
  }
  uint64_t notifications = 0, publishes = 0;
  const auto start = std::chrono::steady_clock::now();
  while (Since(start) < args.seconds) {
    auto p = client.Publish();
    if (!p.ok()) Fail(p.status().ToString());
    notifications += p->data_changes.size();
    ++publishes;
  }
  const double elapsed = Since(start);
  std::printf(
      "{\"client\":\"shopfloor\",\"mode\":\"subscribe\",\"nodes\":%d,\"seconds\":%.3f,\"notifications\":%llu,"
      "\"publishes\":%llu,\"notifications_per_s\":%.1f,\"create_monitored_items_s\":%.3f}\n",
      args.nodes, elapsed, static_cast<unsigned long long>(notifications), static_cast<unsigned long long>(publishes),
      notifications / elapsed, create_s);
  client.DeleteSubscriptions({sub->id}).status().IgnoreError();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (Flag(argv[i], "url", &v)) args.url = v;
    else if (Flag(argv[i], "mode", &v)) args.mode = v;
    else if (Flag(argv[i], "nodes", &v)) args.nodes = std::atoi(v.c_str());
    else if (Flag(argv[i], "batch", &v)) args.batch = std::atoi(v.c_str());
    else if (Flag(argv[i], "seconds", &v)) args.seconds = std::atof(v.c_str());
    else if (Flag(argv[i], "publishing-ms", &v)) args.publishing_ms = std::atof(v.c_str());
    else if (Flag(argv[i], "sampling-ms", &v)) args.sampling_ms = std::atof(v.c_str());
    else Fail(fmt::format("unknown argument {}", argv[i]));
  }
  if (args.url.empty() || args.nodes <= 0 || args.batch <= 0 || args.seconds <= 0) {
    Fail("usage: opcua_bench --url=URL [--mode=read|subscribe] [--nodes=N] [--batch=B] [--seconds=S] [--publishing-ms=MS] [--sampling-ms=MS]");
  }
  opcua::ClientOptions options;
  options.endpoint_url = args.url;
  options.timeout = 30 * shopfloor::core::kSecond;
  auto client = opcua::Client::Connect(options);
  if (!client.ok()) Fail(client.status().ToString());
  if (args.mode == "read") {
    RunRead(**client, args);
  } else if (args.mode == "subscribe") {
    RunSubscribe(**client, args);
  } else {
    Fail("--mode must be read or subscribe");
  }
  (*client)->Close().IgnoreError();
  return 0;
}
