// Setpoint writes with read-back verification: Write (Part 4, 5.10.4) then Read of the same
// attribute, so a value the server accepted but changed (clamped, rounded, converted) is
// reported instead of being taken for success.
#include <fmt/format.h>

#include "connect/opcua/client.h"

namespace shopfloor::connect::opcua {

core::Status Client::WriteVerified(const NodeId& node, const Variant& value) {
  DataValue written;
  written.value = value;
  SF_ASSIGN_OR_RETURN(std::vector<uint32_t> results, Write({WriteValue{node, kAttributeValue, written}}));
  if (results.at(0) & 0x80000000u) {
    return core::Status::Aborted(fmt::format("setpoint {}: write refused: {}", node.ToString(),
                                             StatusCodeName(results[0])));
  }
  SF_ASSIGN_OR_RETURN(std::vector<DataValue> read, Read({ReadValueId{node, kAttributeValue}}));
  const DataValue& back = read.at(0);
  if (back.status_code() & 0x80000000u) {
    return core::Status::Aborted(fmt::format("setpoint {}: written, but the read-back is {}", node.ToString(),
                                             StatusCodeName(back.status_code())));
  }
  const Variant read_value = back.value.value_or(Variant());
  if (!(read_value == value)) {
    return core::Status::Aborted(fmt::format("setpoint {}: wrote {}, read back {}", node.ToString(), value.ToString(),
                                             read_value.ToString()));
  }
  return core::Status::OK();
}

}  // namespace shopfloor::connect::opcua
