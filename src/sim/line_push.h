// LinePush: sends InfluxDB line protocol to Shopfloor's HTTP ingest (POST
// /write?precision=ns with a bearer token), as a plant gateway would: the simulator's
// vibration waveform bursts and its ground truth go this way.
//
// Bodies are queued (bounded by count and by bytes, 32 MiB by default: when full the oldest
// are dropped and counted, so an unreachable Shopfloor never grows memory) and sent by one
// thread; a failed POST (connection refused, 5xx) is retried with backoff (200 ms doubling
// to 5 s) until it succeeds or Stop(); a 4xx is logged and dropped (the body is wrong and
// would be refused again).
//
// Thread safety: Send() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"

namespace shopfloor::sim {

struct LinePushStats {
  uint64_t posted = 0;    // bodies accepted (204)
  uint64_t refused = 0;   // 4xx
  uint64_t dropped = 0;   // queue overflow
  uint64_t retries = 0;
  size_t queued_bytes = 0;
  std::string last_error;
};

class LinePush {
 public:
  LinePush(std::string host, uint16_t port, std::string token, size_t max_queue = 256,
           size_t max_queue_bytes = 32u << 20);
  ~LinePush();  // Stop()
  LinePush(const LinePush&) = delete;
  LinePush& operator=(const LinePush&) = delete;

  void Send(std::string body);
  // Waits until the queue is empty (or `timeout_ms` passed); true when empty.
  bool Flush(int timeout_ms);
  void Stop();
  LinePushStats stats() const;

  // One POST; returns the HTTP status (0 when no answer) and sets *error. Exposed for tests.
  static int Post(const std::string& host, uint16_t port, const std::string& token, const std::string& body,
                  std::string* error);

 private:
  void Run();

  const std::string host_;
  const uint16_t port_;
  const std::string token_;
  const size_t max_queue_;
  const size_t max_queue_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // GUARDED_BY(mu_)
  bool busy_ = false;              // GUARDED_BY(mu_): a body is being posted
  bool stop_ = false;              // GUARDED_BY(mu_)
  LinePushStats stats_;            // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace shopfloor::sim
