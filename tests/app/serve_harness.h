// Test support for running the real `shopfloor` binary as a user does: shell commands
// (`shopfloor admin ...`), a `shopfloor serve` child process on a free loopback port, and a
// small blocking HTTP/1.1 client that can send the headers the API reads (Authorization,
// Accept, Cookie, Content-Type). Header-only; used by the app tests that walk the API.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace shopfloor::app::testing {

inline std::string ShopfloorBinary() { return std::string(SHOPFLOOR_BINARY_DIR) + "/src/app/shopfloor"; }

struct ShRun {
  int exit_code = -1;
  std::string output;
};

// Runs a shell command line with the shopfloor binary as $SF; captures stdout (and stderr
// when the line redirects it).
inline ShRun Sh(const std::string& line) {
  const std::string cmd = "SF=" + ShopfloorBinary() + "; " + line;
  ShRun run;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A port the kernel just handed out on 127.0.0.1 (closed again: a tiny race, fine for tests).
inline uint16_t FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// A temporary directory removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sf_e2e_XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct HttpAnswer {
  int status = 0;  // 0: transport error, the text in body
  std::string body;
  std::string content_type;
  std::string content_disposition;
};

// One request on a fresh connection (Connection: close), so a test never depends on
// keep-alive state. `headers` are sent verbatim.
inline HttpAnswer HttpCall(uint16_t port, std::string_view method, std::string_view target, std::string body = {},
                           const std::map<std::string, std::string>& headers = {}) {
  namespace http = boost::beast::http;
  HttpAnswer out;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::beast::error_code ec;
  socket.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    out.body = "connect: " + ec.message();
    return out;
  }
  http::request<http::string_body> req{http::string_to_verb(boost::beast::string_view(method.data(), method.size())),
                                      std::string(target), 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body() = std::move(body);
    req.prepare_payload();
  }
  http::write(socket, req, ec);
  if (ec) {
    out.body = "write: " + ec.message();
    return out;
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64ull << 20);
  http::read(socket, buffer, parser, ec);
  if (ec) {
    out.body = "read: " + ec.message();
    return out;
  }
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  out.content_disposition = std::string(res[http::field::content_disposition]);
  return out;
}

inline std::map<std::string, std::string> Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// Percent-encodes everything but RFC 3986 unreserved characters (an asset path in a segment).
inline std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// `shopfloor serve --config <config> --data <dir> --http 127.0.0.1:<port>` as a child
// process; its output goes to <dir>/../serve-<n>.log. The destructor kills a server the test
// did not stop.
class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts the server and waits (up to 30 s) until GET /healthz answers 200. False, with the
  // reason in *error (and the log's tail), when it exits or never answers.
  bool Start(const std::string& config, const std::string& data_dir, const std::string& log_file,
             std::string* error) {
    port_ = FreePort();
    log_file_ = log_file;
    const std::string binary = ShopfloorBinary();
    const std::string http = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {binary, "serve", "--data", data_dir, "--http", http, "--durability", "always"};
    if (!config.empty()) {
      args.push_back("--config");
      args.push_back(config);
    }
    pid_ = fork();
    if (pid_ < 0) {
      *error = "fork failed";
      return false;
    }
    if (pid_ == 0) {
      FILE* log = std::fopen(log_file.c_str(), "a");
      if (log != nullptr) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *error = "shopfloor serve exited early: " + LogTail();
        return false;
      }
      if (HttpCall(port_, "GET", "/healthz").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    *error = "shopfloor serve did not answer /healthz within 30 s: " + LogTail();
    return false;
  }

  // SIGTERM and wait (up to 30 s); the exit code, or -1 when it had to be killed.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }

  uint16_t port() const { return port_; }

  std::string LogTail() const {
    ShRun tail = Sh("tail -c 2000 '" + log_file_ + "' 2>/dev/null");
    return tail.output;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_file_;
};

}  // namespace shopfloor::app::testing
