// MQTT load generator for scripts/bench mqtt: the same program drives Shopfloor's endpoint
// and mosquitto. Prints one JSON line.
//
//   --mode=throughput  P publisher connections each keep up to --window QoS 1 messages in
//                      flight (QoS 0: send as fast as the socket takes them) on their own
//                      topic <prefix>/t<i>; one subscriber on <prefix>/# counts what is
//                      delivered. After --seconds: messages/s acknowledged (QoS 1), messages/s
//                      delivered to the subscriber, publish-to-PUBACK latency p50/p99.
//   --mode=idle        opens --connections connections (CONNECT, CONNACK, then silence) and
//                      reports the growth of --pid's resident memory per connection.
//
// Connections are plain blocking sockets, one thread per publisher; packets are encoded and
// decoded with Shopfloor's codec (connect/mqtt/codec.h), MQTT 5.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connect/mqtt/codec.h"

namespace mqtt = shopfloor::connect::mqtt;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string mode = "throughput";
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string user, password;
  int qos = 1;
  int publishers = 8;
  int window = 16;
  double seconds = 5;
  std::string prefix = "bench";
  int connections = 1000;
  int pid = 0;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "mqtt_bench: %s\n", message.c_str());
  std::exit(1);
}

class Conn {
 public:
  Conn(const Args& args, const std::string& client_id) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) Die(fmt::format("socket: {}", std::strerror(errno)));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(args.port));
    ::inet_pton(AF_INET, args.host.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Die(fmt::format("connect {}:{}: {}", args.host, args.port, std::strerror(errno)));
    }
    mqtt::Connect c;
    c.protocol_level = mqtt::kMqtt5;
    c.client_id = client_id;
    c.keep_alive = 600;
    if (!args.user.empty()) {
      c.username = args.user;
      c.password = args.password;
    }
    Send(c);
    mqtt::Packet p;
    if (!Read(&p, 10000) || !std::holds_alternative<mqtt::Connack>(p)) Die("no CONNACK for " + client_id);
    const auto& ack = std::get<mqtt::Connack>(p);
    if (ack.reason != mqtt::Reason::kSuccess) Die(fmt::format("CONNACK {}: {}", client_id, mqtt::ReasonName(ack.reason)));
  }
  ~Conn() { ::close(fd_); }

  void Send(const mqtt::Packet& p) {
    std::string bytes;
    mqtt::Encode(p, mqtt::kMqtt5, &bytes);
    SendBytes(bytes);
  }
  void SendBytes(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) Die(fmt::format("send: {}", std::strerror(errno)));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // The next packet, or false after `timeout_ms` without one or once the server closed
  // the connection (then closed() is true).
  bool Read(mqtt::Packet* packet, int timeout_ms) {
    for (;;) {
      mqtt::Frame frame;
      mqtt::CodecError error;
      const auto status = mqtt::NextFrame(buffer_, 0, &frame, &error);
      if (status == mqtt::FrameStatus::kError) Die("bad frame: " + error.message);
      if (status == mqtt::FrameStatus::kFrame) {
        if (!mqtt::Decode(frame, mqtt::kMqtt5, packet, &error)) Die("bad packet: " + error.message);
        if (auto* d = std::get_if<mqtt::Disconnect>(packet)) last_disconnect_ = d->reason;
        buffer_.erase(0, frame.size);
        return true;
      }
      if (closed_) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        closed_ = true;
        return false;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  bool closed() const { return closed_; }
  mqtt::Reason last_disconnect() const { return last_disconnect_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
  mqtt::Reason last_disconnect_ = mqtt::Reason::kSuccess;
};

long RssKiB(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  Die(fmt::format("cannot read the memory of pid {}", pid));
}

double Percentile(std::vector<double>* v, double q) {
  if (v->empty()) return 0;
  std::sort(v->begin(), v->end());
  return (*v)[std::min(v->size() - 1, static_cast<size_t>(q * static_cast<double>(v->size())))];
}

int Throughput(const Args& args) {
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<uint64_t> delivered{0};
  Conn subscriber(args, "bench-sub");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.filters = {{args.prefix + "/#", mqtt::SubscribeOptions{static_cast<uint8_t>(args.qos)}}};
  subscriber.Send(s);
  mqtt::Packet p;
  if (!subscriber.Read(&p, 10000) || !std::holds_alternative<mqtt::SubResponse>(p)) Die("no SUBACK");
  std::atomic<bool> subscriber_closed{false};
  std::thread sub_thread([&] {
    while (!stop.load()) {
      mqtt::Packet packet;
      if (!subscriber.Read(&packet, 100)) {
        // A broker may disconnect a subscriber that cannot keep up (a slow consumer).
        if (subscriber.closed()) {
          subscriber_closed.store(true);
          return;
        }
        continue;
      }
      if (auto* pub = std::get_if<mqtt::Publish>(&packet)) {
        if (measuring.load()) delivered.fetch_add(1, std::memory_order_relaxed);
        if (pub->qos == 1) subscriber.Send(mqtt::PubResponse{mqtt::PacketType::kPuback, pub->packet_id});
      }
    }
  });

  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> acked{0}, sent{0};
  std::vector<std::thread> publishers;
  std::atomic<int> ready{0};
  for (int i = 0; i < args.publishers; ++i) {
    publishers.emplace_back([&, i] {
      Conn conn(args, fmt::format("bench-pub-{}", i));
      ready.fetch_add(1);
      const std::string topic = fmt::format("{}/t{}", args.prefix, i);
      std::map<uint16_t, Clock::time_point> in_flight;
      std::vector<double> mine;
      uint16_t next_id = 1;
      uint64_t counter = 0;
      std::string burst;
      while (!stop.load()) {
        if (args.qos == 0) {
          burst.clear();
          for (int k = 0; k < 64; ++k) {
            mqtt::Encode(mqtt::Publish{false, 0, false, topic, 0, {}, fmt::format("{}.5", counter++ % 1000)},
                         mqtt::kMqtt5, &burst);
          }
          conn.SendBytes(burst);
          if (measuring.load()) sent.fetch_add(64, std::memory_order_relaxed);
          continue;
        }
        while (static_cast<int>(in_flight.size()) < args.window) {
          const uint16_t id = next_id;
          next_id = next_id == 65535 ? 1 : next_id + 1;
          in_flight[id] = Clock::now();
          conn.Send(mqtt::Publish{false, 1, false, topic, id, {}, fmt::format("{}.5", counter++ % 1000)});
        }
        mqtt::Packet packet;
        if (!conn.Read(&packet, 200)) {
          if (conn.closed()) Die("the server closed a publisher's connection");
          continue;
        }
        if (auto* ack = std::get_if<mqtt::PubResponse>(&packet)) {
          auto it = in_flight.find(ack->packet_id);
          if (it == in_flight.end()) continue;
          if (ack->reason != mqtt::Reason::kSuccess) Die(fmt::format("PUBACK {}", mqtt::ReasonName(ack->reason)));
          if (measuring.load()) {
            acked.fetch_add(1, std::memory_order_relaxed);
            mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
          }
          in_flight.erase(it);
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  while (ready.load() < args.publishers) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // warm up
  measuring.store(true);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  measuring.store(false);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stop.store(true);
  for (auto& t : publishers) t.join();
  sub_thread.join();
  const double p50 = Percentile(&latencies_ms, 0.50), p99 = Percentile(&latencies_ms, 0.99);
  std::printf(
      "{\"mode\":\"throughput\",\"qos\":%d,\"publishers\":%d,\"window\":%d,\"seconds\":%.3f,"
      "\"acked_per_s\":%.1f,\"sent_per_s\":%.1f,\"delivered_per_s\":%.1f,\"puback_p50_ms\":%.3f,\"puback_p99_ms\":%.3f,"
      "\"subscriber_closed\":%s}\n",
      args.qos, args.publishers, args.window, elapsed, static_cast<double>(acked.load()) / elapsed,
      static_cast<double>(sent.load()) / elapsed, static_cast<double>(delivered.load()) / elapsed, p50, p99,
      subscriber_closed.load() ? "true" : "false");
  return 0;
}

int Idle(const Args& args) {
  if (args.pid <= 0) Die("--mode=idle needs --pid");
  std::vector<std::unique_ptr<Conn>> conns;
  conns.push_back(std::make_unique<Conn>(args, "idle-warmup"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long before = RssKiB(args.pid);
  for (int i = 0; i < args.connections; ++i) conns.push_back(std::make_unique<Conn>(args, fmt::format("idle-{}", i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const long after = RssKiB(args.pid);
  std::printf("{\"mode\":\"idle\",\"connections\":%d,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"bytes_per_connection\":%.1f}\n",
              args.connections, before, after, static_cast<double>(after - before) * 1024.0 / args.connections);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = std::string("--") + name + "=";
      return a.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("mode")) args.mode = v;
    else if (const char* v = value("host")) args.host = v;
    else if (const char* v = value("port")) args.port = std::atoi(v);
    else if (const char* v = value("user")) args.user = v;
    else if (const char* v = value("password")) args.password = v;
    else if (const char* v = value("qos")) args.qos = std::atoi(v);
    else if (const char* v = value("publishers")) args.publishers = std::atoi(v);
    else if (const char* v = value("window")) args.window = std::atoi(v);
    else if (const char* v = value("seconds")) args.seconds = std::atof(v);
    else if (const char* v = value("prefix")) args.prefix = v;
    else if (const char* v = value("connections")) args.connections = std::atoi(v);
    else if (const char* v = value("pid")) args.pid = std::atoi(v);
    else Die("unknown argument " + a);
  }
  if (args.qos != 0 && args.qos != 1) Die("--qos must be 0 or 1");
  return args.mode == "idle" ? Idle(args) : Throughput(args);
}
