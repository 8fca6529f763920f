// Fuzz target for the simulated PLC's write-request decoder (sim/modbus_server.h): any PDU
// either decodes or says why; a decoded request stays within the protocol's limits and the
// register space, and its values are bits for coil writes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "sim/modbus_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto request = shopfloor::sim::ParseWriteRequest(data, size);
  if (!request.ok()) {
    if (request.status().message().empty()) std::abort();
    return 0;
  }
  if (request->values.empty() || request->values.size() > 1968) std::abort();
  for (const auto& [reg, value] : request->values) {
    if (reg < 0 || reg > 65535) std::abort();
    if (request->coils && value > 1) std::abort();
  }
  return 0;
}
