// Starts the node-opcua test server (tests/peers/opcua/server.js) on a free loopback port
// and stops it. Used by the OPC UA client tests.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace shopfloor::connect::opcua {

class OpcUaPeer {
 public:
  static std::string Dir() { return std::string(SHOPFLOOR_SOURCE_DIR) + "/tests/peers/opcua"; }
  // Why the peer cannot run here (empty when it can).
  static std::string MissingReason() {
    struct stat st {};
    if (::stat((Dir() + "/node_modules/node-opcua-server").c_str(), &st) != 0) {
      return "node-opcua is not installed in tests/peers/opcua (run scripts/setup)";
    }
    return "";
  }

  // Starts the server; returns false (with *error) if it did not print "ready" in time.
  // `flags` are passed to server.js (e.g. "--changing=1000").
  bool Start(std::string* error, int max_nodes_per_read = 0, std::vector<std::string> flags = {}) {
    port_ = FreePort();
    max_nodes_per_read_ = max_nodes_per_read;
    flags_ = std::move(flags);
    return Launch(error);
  }
  // Starts the server again on the same port with the same arguments (after Kill or Stop).
  bool Restart(std::string* error) { return Launch(error); }
  // Replaces the flags used by the next Restart (e.g. another --pki= for a new certificate).
  void set_flags(std::vector<std::string> flags) { flags_ = std::move(flags); }

 private:
  bool Launch(std::string* error) {
    int out[2];
    if (::pipe(out) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::setpgid(0, 0);
      std::string port = std::to_string(port_), limit = std::to_string(max_nodes_per_read_);
      std::string script = Dir() + "/server.js";
      std::vector<char*> argv = {const_cast<char*>("node"), script.data(), port.data(), limit.data()};
      for (auto& flag : flags_) argv.push_back(flag.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::string(line).rfind("ready", 0) == 0) {
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread([f] {
          char buf[512];
          while (std::fgets(buf, sizeof(buf), f) != nullptr) {
          }
          std::fclose(f);
        }).detach();
        return true;
      }
    }
    std::fclose(f);
    *error = "node server.js exited before printing ready";
    Stop();
    return false;
  }

 public:
  // SIGKILL: the server vanishes without closing anything gracefully.
  void Kill() { Signal(SIGKILL); }
  void Stop() { Signal(SIGTERM); }
  ~OpcUaPeer() { Signal(SIGKILL); }

  int port() const { return port_; }
  std::string url() const { return "opc.tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  pid_t pid_ = -1;
  int port_ = 0;
  int max_nodes_per_read_ = 0;
  std::vector<std::string> flags_;
};

}  // namespace shopfloor::connect::opcua
