// Fuzz target: arbitrary text as a Modbus binding address. ParseAddress must never crash;
// whatever parses must format to a canonical text that parses back to the same canonical
// text, fit below register 65536, and decode the input's bytes as registers without
// crashing; a decoded value that is encoded again must decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "connect/modbus/address.h"

namespace modbus = shopfloor::connect::modbus;
using shopfloor::core::ValueType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = modbus::ParseAddress(text);
  if (!parsed.ok()) {
    if (!parsed.status().IsInvalidArgument()) std::abort();
    return 0;
  }
  const modbus::Address& a = *parsed;
  if (static_cast<uint32_t>(a.reg) + a.count() > 65536 || a.count() == 0) std::abort();
  const std::string canonical = modbus::FormatAddress(a);
  auto again = modbus::ParseAddress(canonical);
  if (!again.ok() || modbus::FormatAddress(*again) != canonical) std::abort();
  // The input's bytes as register contents (repeated as needed).
  std::vector<uint16_t> words(a.count());
  std::vector<uint8_t> bits(a.count());
  for (size_t i = 0; i < words.size(); ++i) {
    const size_t at = (2 * i) % size;
    words[i] = static_cast<uint16_t>((data[at] << 8) | data[(at + 1) % size]);
    bits[i] = data[i % size] & 1;
  }
  for (ValueType type : {ValueType::kDouble, ValueType::kInt64, ValueType::kBool, ValueType::kString}) {
    (void)modbus::CheckBinding(a, type, (size & 1) != 0);
    for (bool swap : {false, true}) {
      auto value = modbus::Decode(a, swap, words, bits, type);
      if (!value.ok()) continue;
      auto encoded = modbus::Encode(a, swap, *value);
      if (!encoded.ok()) continue;
      if (encoded->size() != a.count()) std::abort();
      if (modbus::IsBitTable(a.table) || a.type == modbus::DataType::kBit || a.scaled()) continue;
      auto back = modbus::Decode(a, swap, *encoded, bits, type);
      if (!back.ok() || !back->IdenticalTo(*value)) std::abort();
    }
  }
  return 0;
}
