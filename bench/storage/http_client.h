// HttpClient: one keep-alive HTTP/1.1 connection to a server (Boost.Beast underneath).
//
// Connects lazily and reconnects once when a reused connection turns out to be closed, so
// a request is retried at most once (writes in this benchmark are idempotent). Socket reads
// and writes time out after `timeout_seconds`.
//
// Not thread-safe: one client per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port, int timeout_seconds = 300);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  core::Result<HttpResponse> Get(std::string_view target);
  core::Result<HttpResponse> Post(std::string_view target, std::string_view body,
                                  std::string_view content_type);

  const std::string& peer() const { return peer_; }
  // Sent as the Authorization header of every request ("" sends none).
  void set_authorization(std::string value) { authorization_ = std::move(value); }

 private:
  struct Impl;
  core::Result<HttpResponse> Request(bool post, std::string_view target, std::string_view body,
                                     std::string_view content_type);

  std::string peer_;
  std::string authorization_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything except unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view text);

}  // namespace shopfloor::bench
