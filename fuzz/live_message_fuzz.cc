// Fuzz target for the WebSocket /api/v1/live client messages (server/live_protocol.h):
// parsing never crashes, accepted requests satisfy the documented limits, and every error
// message and sample the server writes back is valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/live_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopfloor;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = server::ParseLiveRequest(text);
  std::string reply;
  if (request.ok()) {
    if (request->id.empty() || request->id.size() > server::kMaxLiveIdBytes) std::abort();
    if (request->op == server::LiveRequest::Op::kSubscribe) {
      if (request->series.empty() == request->asset.empty()) std::abort();
      if (!request->asset.empty() && request->asset.back() == '/') std::abort();
      for (const std::string& key : request->series) {
        if (key.empty() || key.size() > server::kMaxLiveKeyBytes) std::abort();
        reply.clear();
        server::AppendLiveSample(key, core::Sample{int64_t(size) * core::kSecond, core::Value(key)}, &reply);
        if (!nlohmann::json::accept(reply)) std::abort();
      }
    }
    reply = server::LiveErrorMessage(request->id, "x");
  } else {
    if (!request.status().IsInvalidArgument()) std::abort();
    reply = server::LiveErrorMessage("", request.status().message());
  }
  if (!nlohmann::json::accept(reply)) std::abort();
  return 0;
}
