// Internal to the MQTT bridge client: BridgeClient::Impl, shared by bridge.cc (the
// connection loop, backoff and the public methods) and bridge_setup.cc (libmosquitto
// configuration and its callbacks). See bridge.h for the behaviour.
//
// Thread safety: fields marked GUARDED_BY(mu) are shared with callers of the public
// methods; the others belong to the client's loop thread (libmosquitto calls the callbacks
// on it).
#pragma once

#include <mosquitto.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "connect/mqtt/bridge.h"
#include "core/log.h"

namespace shopfloor::connect::mqtt {

struct Inflight {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  bool retry = false;
};

struct BridgeClient::Impl {
  BridgeOptions options;
  MessageFn on_message;
  core::Clock* clock = nullptr;
  mosquitto* mosq = nullptr;
  int wake_fd = -1;
  std::thread thread;
  std::shared_ptr<Inflight> inflight = std::make_shared<Inflight>();

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false;   // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu)
  BridgeStatus status;    // GUARDED_BY(mu)

  // Loop thread only.
  bool connack = false;
  bool connack_ok = false;
  bool dropping = false;
  std::map<int, std::string> subscribing;  // SUBSCRIBE packet id -> filter
  std::minstd_rand rng{std::random_device{}()};

  bool Stopping() const {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }
  void SetState(BridgeState state) {
    std::lock_guard<std::mutex> lock(mu);
    status.state = state;
  }
  void Fail(std::string error) {
    SF_LOG(warn, "mqtt.bridge.error", "broker={}:{} client_id={} error=\"{}\"", options.host, options.port,
           options.client_id, error);
    std::lock_guard<std::mutex> lock(mu);
    status.last_error = std::move(error);
    status.last_error_at = clock->Now();
  }
  void Wake() {
    uint64_t one = 1;
    if (wake_fd >= 0 && ::write(wake_fd, &one, sizeof one) < 0) {
      // the counter is full: the loop is awake anyway
    }
  }
  std::string ReasonText(int rc) const {
    return options.protocol_version == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
  }

  core::Status Configure();
  void Run();
  bool Session();                // one connection, until it ends; true if CONNACK succeeded
  bool Pump(int timeout_ms);     // false once the connection ended
  bool WaitCompletions();        // false: a message asked for a retry
  void Backoff(core::Duration* next);
  void Disconnect();

  static void OnConnect(mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void OnSubscribe(mosquitto*, void* self, int mid, int count, const int* granted, const mosquitto_property*);
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*);
};

}  // namespace shopfloor::connect::mqtt
