// Fuzz target for the OPC UA built-in type decoders (connect/opcua/types.h).
// The first byte picks what to decode. Beyond "no crash": a successful decode re-encodes,
// and decoding that encoding gives an equal value (NaN payloads aside, compared by bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connect/opcua/types.h"

namespace opcua = shopfloor::connect::opcua;

namespace {

template <typename T, typename EncodeFn>
void Check(std::string_view body, EncodeFn encode) {
  opcua::DecodeLimits limits;
  limits.max_array_length = 4096;
  limits.max_string_length = 4096;
  opcua::Decoder d(body, limits);
  T value;
  shopfloor::core::Status s = opcua::Decode(d, &value);
  if (!s.ok()) {
    if (!s.IsInvalidArgument() || !s.context().offset || *s.context().offset > body.size()) std::abort();
    return;
  }
  opcua::Encoder e;
  if (!encode(e, value)) std::abort();
  opcua::Decoder again(e.bytes(), limits);
  T second;
  if (!opcua::Decode(again, &second).ok() || !again.done()) std::abort();
  opcua::Encoder e2;
  if (!encode(e2, second) || e2.bytes() != e.bytes()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto plain = [](auto& e, const auto& v) {
    opcua::Encode(e, v);
    return true;
  };
  switch (data[0] % 6) {
    case 0:
      Check<opcua::DataValue>(body, [](auto& e, const auto& v) { return opcua::EncodeDataValue(e, v).ok(); });
      break;
    case 1:
      Check<opcua::Variant>(body, [](auto& e, const auto& v) { return opcua::EncodeVariant(e, v).ok(); });
      break;
    case 2: Check<opcua::DiagnosticInfo>(body, plain); break;
    case 3: Check<opcua::ExpandedNodeId>(body, plain); break;
    case 4: Check<opcua::LocalizedText>(body, plain); break;
    default: Check<opcua::ExtensionObject>(body, plain); break;
  }
  return 0;
}
