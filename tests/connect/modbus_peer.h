// Starts the pymodbus test server (tests/peers/modbus/server.py, run by /usr/bin/python3,
// the only interpreter with python3-pymodbus) on a free loopback port, talks to its control
// channel (stdin commands, one answer line each) and stops it. Used by the Modbus tests and
// the benchmark. The server exits on its own when its stdin closes, so a crashed test leaves
// no orphan behind.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace shopfloor::connect::modbus {

class ModbusPeer {
 public:
  static constexpr const char* kPython = "/usr/bin/python3";
  static std::string Script() { return std::string(SHOPFLOOR_SOURCE_DIR) + "/tests/peers/modbus/server.py"; }
  // Why the peer cannot run here (empty when it can).
  static std::string MissingReason() {
    const std::string cmd = std::string(kPython) + " -c 'import pymodbus.server' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "/usr/bin/python3 cannot import pymodbus (apt install python3-pymodbus)";
    return "";
  }

  ModbusPeer() = default;
  ~ModbusPeer() { Kill(); }
  ModbusPeer(const ModbusPeer&) = delete;
  ModbusPeer& operator=(const ModbusPeer&) = delete;

  // Starts the server on a free port; false (with *error) when it did not print "ready".
  bool Start(std::string* error, std::vector<std::string> flags = {}) {
    port_ = FreePort();
    flags_ = std::move(flags);
    return Launch(error);
  }
  // Starts it again on the same port (after Kill); the register contents start at zero.
  bool Restart(std::string* error) { return Launch(error); }

  // Sends one control command and returns its answer line (without the newline); "" when the
  // server is gone.
  std::string Command(const std::string& line) {
    if (in_ == nullptr || out_ == nullptr) return "";
    std::fprintf(in_, "%s\n", line.c_str());
    std::fflush(in_);
    char buf[65536];
    if (std::fgets(buf, sizeof(buf), out_) == nullptr) return "";
    std::string answer(buf);
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    return answer;
  }
  // The number after "<key>=" in the answer to "stats" (-1 when absent).
  long Stat(const std::string& key) {
    const std::string stats = Command("stats");
    const size_t at = stats.find(" " + key + "=");
    if (at == std::string::npos) return -1;
    return std::strtol(stats.c_str() + at + key.size() + 2, nullptr, 10);
  }

  // SIGKILL: the server vanishes without closing anything gracefully.
  void Kill() {
    if (in_ != nullptr) std::fclose(in_);
    if (out_ != nullptr) std::fclose(out_);
    in_ = out_ = nullptr;
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  bool Launch(std::string* error) {
    Kill();
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0) return false;
    if (::pipe(from_child) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::close(to_child[1]);
      ::close(from_child[0]);
      std::string port = std::to_string(port_), script = Script();
      std::vector<char*> argv = {const_cast<char*>(kPython), script.data(), port.data()};
      for (auto& flag : flags_) argv.push_back(flag.data());
      argv.push_back(nullptr);
      ::execv(kPython, argv.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
    char line[256];
    if (std::fgets(line, sizeof(line), out_) != nullptr && std::string(line).rfind("ready", 0) == 0) return true;
    *error = "server.py exited before printing ready";
    Kill();
    return false;
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
  std::vector<std::string> flags_;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
};

}  // namespace shopfloor::connect::modbus
