// Test support: tests/peers/sparkplug/edge_node.js (a Sparkplug B edge node on mqtt.js and
// sparkplug-payload) as a child process driven line by line: Send() a command, Expect() a
// JSON event on its stdout. Header-only.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopfloor::app::testing {

class EdgeNodePeer {
 public:
  static std::string Dir() { return std::string(SHOPFLOOR_SOURCE_DIR) + "/tests/peers/sparkplug"; }
  static std::string MissingReason() {
    struct stat st {};
    if (::stat((Dir() + "/node_modules/sparkplug-payload").c_str(), &st) != 0) {
      return "sparkplug-payload is not installed in tests/peers/sparkplug (run scripts/setup)";
    }
    return "";
  }

  ~EdgeNodePeer() { Stop(); }

  bool Start(uint16_t port, const std::string& user, const std::string& password, const std::string& group,
             const std::string& node, const std::string& device) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      std::string script = Dir() + "/edge_node.js";
      std::vector<std::string> args = {"node", script, "--port", std::to_string(port), "--user", user,
                                       "--password", password, "--group", group, "--node", node,
                                       "--device", device};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    return true;
  }

  void Send(const std::string& line) {
    const std::string l = line + "\n";
    [[maybe_unused]] ssize_t n = ::write(to_, l.data(), l.size());
  }

  // The first event not expected before for which `match` holds; null JSON after
  // `timeout_ms`. Every event stays in seen().
  nlohmann::json Expect(const std::function<bool(const nlohmann::json&)>& match, int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      for (size_t i = 0; i < seen_.size(); ++i) {
        if (!consumed_[i] && match(seen_[i])) {
          consumed_[i] = true;
          return seen_[i];
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !ReadSome(static_cast<int>(left.count()))) return nullptr;
    }
  }
  nlohmann::json ExpectEvent(const std::string& event, int timeout_ms = 10000) {
    return Expect([&](const nlohmann::json& j) { return j.value("event", "") == event; }, timeout_ms);
  }
  // Sends a command and waits for its "ok".
  bool Do(const std::string& line) {
    Send(line);
    const std::string cmd = line.substr(0, line.find(' '));
    return !Expect([&](const nlohmann::json& j) { return j.value("event", "") == "ok" && j.value("cmd", "") == cmd; })
                .is_null();
  }
  const std::vector<nlohmann::json>& seen() const { return seen_; }

  void Stop() {
    if (pid_ <= 0) return;
    ::close(to_);
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    ::close(from_);
    pid_ = -1;
  }

 private:
  bool ReadSome(int timeout_ms) {
    pollfd p{from_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(from_, buf, sizeof(buf));
    if (n <= 0) return false;
    partial_.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      auto j = nlohmann::json::parse(partial_.substr(0, nl), nullptr, false);
      if (!j.is_discarded()) {
        seen_.push_back(std::move(j));
        consumed_.push_back(false);
      }
      partial_.erase(0, nl + 1);
    }
    return true;
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string partial_;
  std::vector<nlohmann::json> seen_;
  std::vector<bool> consumed_;
};

}  // namespace shopfloor::app::testing
