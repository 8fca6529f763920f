// Test support: a Debian `mosquitto` broker as an external peer, started on 127.0.0.1 on a
// port the kernel handed out, with a generated config file in a directory the caller owns.
// Stop() sends SIGTERM (mosquitto then writes its persistence file if enabled); Start()
// again reuses the port, so a client sees a restart. Header-only; single-threaded use.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace shopfloor::testing {

inline bool MosquittoInstalled() { return ::access("/usr/sbin/mosquitto", X_OK) == 0; }

class MosquittoPeer {
 public:
  struct Options {
    bool persistence = false;      // keep sessions and queued messages across restarts
    std::string user, password;    // set: no anonymous clients, this one user
  };

  // `dir` must exist and outlive the peer.
  MosquittoPeer(std::string dir, Options options) : dir_(std::move(dir)), options_(std::move(options)) {}
  ~MosquittoPeer() { Stop(); }

  // Starts the broker and waits until it accepts connections. False on failure.
  bool Start() {
    if (port_ == 0) port_ = FreeLoopbackPort();
    std::string conf = dir_ + "/mosquitto.conf";
    {
      std::ofstream out(conf);
      out << "listener " << port_ << " 127.0.0.1\n";
      out << "persistence " << (options_.persistence ? "true" : "false") << "\n";
      out << "persistence_location " << dir_ << "/\n";
      // Run as ourselves: as root mosquitto would switch to user "mosquitto", which cannot
      // write into the caller's directory.
      if (const passwd* pw = ::getpwuid(::geteuid())) out << "user " << pw->pw_name << "\n";
      out << "log_dest file " << dir_ << "/mosquitto.log\n";
      out << "log_type all\n";
      out << "max_queued_messages 10000\n";
      if (options_.user.empty()) {
        out << "allow_anonymous true\n";
      } else {
        std::string pw = dir_ + "/passwords";
        std::string cmd = "mosquitto_passwd -c -b " + pw + " " + options_.user + " " + options_.password + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) return false;
        out << "allow_anonymous false\npassword_file " << pw << "\n";
      }
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);  // its warnings go to the log file
      ::dup2(null, STDERR_FILENO);
      ::execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (Accepts()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  uint16_t port() const { return port_; }
  std::string log_file() const { return dir_ + "/mosquitto.log"; }

 private:
  static uint16_t FreeLoopbackPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
  bool Accepts() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::string dir_;
  Options options_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace shopfloor::testing
