// Fuzz target for the OPC UA service-response decoders (client.h, subscription.h,
// secure_channel.h): what a misbehaving server can send after the transport layer.
// The first byte (mod 13) picks the decoder. A decode either succeeds or fails with
// kInvalidArgument; anything else (a crash, another code) aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connect/opcua/client.h"
#include "connect/opcua/discovery.h"
#include "connect/opcua/subscription.h"
#include "connect/opcua/translate.h"

namespace opcua = shopfloor::connect::opcua;

namespace {

void Expect(const shopfloor::core::Status& s) {
  if (!s.ok() && !s.IsInvalidArgument()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  opcua::DecodeLimits limits;
  limits.max_array_length = 4096;
  limits.max_string_length = 4096;
  opcua::Decoder d(body, limits);
  switch (data[0] % 13) {
    case 0: {
      opcua::PublishResult result;
      shopfloor::core::Status s = opcua::DecodePublish(d, &result);
      Expect(s);
      // A successful decode is self-consistent: no notifications means keep-alive.
      if (s.ok() && result.keep_alive && (!result.data_changes.empty() || !result.status_changes.empty())) std::abort();
      break;
    }
    case 1: {
      std::vector<opcua::MonitoredItemResult> results;
      Expect(opcua::DecodeMonitoredItemResults(d, &results));
      break;
    }
    case 2: {
      opcua::SubscriptionInfo info;
      Expect(opcua::DecodeCreateSubscription(d, &info));
      break;
    }
    case 3: {
      opcua::ExtensionObject object;
      opcua::EuRange range;
      if (opcua::Decode(d, &object).ok()) Expect(opcua::DecodeEuRange(object, &range));
      break;
    }
    case 4: {
      std::vector<opcua::DataValue> values;
      Expect(opcua::DecodeDataValues(d, &values));
      break;
    }
    case 5: {
      std::vector<opcua::ReferenceDescription> references;
      std::vector<std::string> continuation;
      std::vector<uint32_t> statuses;
      Expect(opcua::DecodeBrowseResults(d, &references, &continuation, &statuses));
      if (continuation.size() != statuses.size()) std::abort();
      break;
    }
    case 6: {
      std::vector<opcua::EndpointDescription> endpoints;
      Expect(opcua::DecodeEndpoints(d, &endpoints));
      break;
    }
    case 7: {
      opcua::ResponseHeader header;
      Expect(opcua::DecodeResponseHeader(d, &header));
      break;
    }
    case 9: {
      std::vector<opcua::BrowsePathResult> results;
      Expect(opcua::DecodeBrowsePathResults(d, &results));
      break;
    }
    case 10: {
      std::vector<opcua::TransferResult> results;
      Expect(opcua::DecodeTransferResults(d, &results));
      break;
    }
    case 11: {
      opcua::PublishResult result;
      shopfloor::core::Status s = opcua::DecodeRepublish(d, &result);
      Expect(s);
      if (s.ok() && result.keep_alive && !result.data_changes.empty()) std::abort();
      break;
    }
    case 12: {
      opcua::ExtensionObject object;
      opcua::EuInformation info;
      if (opcua::Decode(d, &object).ok()) Expect(opcua::DecodeEuInformation(object, &info));
      break;
    }
    default: {
      // A whole response: type id and header, then (for a Publish) the body.
      shopfloor::core::Status s = opcua::BeginResponse(d, "Publish", 829, 1);
      if (s.ok()) {
        opcua::PublishResult result;
        Expect(opcua::DecodePublish(d, &result));
      }
      break;
    }
  }
  return 0;
}
