// The WebSocket /api/v1/live message protocol: what a client sends and how samples are
// written back. Transport-neutral (text in, text out) so it is tested and fuzzed without
// sockets.
//
// Client -> server (one JSON object per text message):
//   {"op":"subscribe","id":"c1","series":["k1","k2"]}       explicit series keys
//   {"op":"subscribe","id":"c2","asset":"works/site/line"}  the subtree: every series whose
//                                                           key starts with "<asset>/", also
//                                                           series created later under it
//   {"op":"unsubscribe","id":"c1"}
// Server -> client:
//   {"type":"ack","id":"c1","op":"subscribe","series":N,"unknown":[..],"forbidden":[..]}
//   {"type":"snapshot","id":"c1","samples":[SAMPLE..]}      latest value per selected series
//   {"type":"update","seq":N,"samples":[SAMPLE..],"missed":M}
//   {"type":"error","id":"c1","message":"..."}              ("id" only when known)
// SAMPLE is {"series":"k","ts":"<RFC3339 ns>","value":V,"quality":Q} with Q "good", "bad",
// "uncertain" (no sub-code) or the OPC UA StatusCode as "0x808C0000". Non-finite doubles
// are null. "missed" counts samples replaced by a newer one of the same series before they
// were sent (a slow client sees the latest value, not every value).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::server {

inline constexpr size_t kMaxLiveIdBytes = 128;
inline constexpr size_t kMaxLiveKeyBytes = 1024;

struct LiveRequest {
  enum class Op { kSubscribe, kUnsubscribe };
  Op op = Op::kSubscribe;
  std::string id;
  std::vector<std::string> series;  // subscribe by keys (non-empty), or
  std::string asset;                // subscribe by subtree (no trailing '/')
};

// Parses one client message. Errors name the offending field, e.g.
// "field \"series\": element 2 is not a string".
core::Result<LiveRequest> ParseLiveRequest(std::string_view text);

// "good", "bad", "uncertain", or "0x%08X" when a sub-code is set.
std::string LiveQualityName(core::Quality quality);

// Appends one SAMPLE object to *out.
void AppendLiveSample(std::string_view series_key, const core::Sample& sample, std::string* out);

// {"type":"error",["id":..,]"message":..}
std::string LiveErrorMessage(std::string_view id, std::string_view message);

}  // namespace shopfloor::server
