// Checks of a plant configuration's Modbus bindings, which the model cannot make itself
// (it does not depend on connect): every tag bound to a `modbus` source needs an address
// that parses (address.h) and suits the tag (CheckBinding). Used by `shopfloor config
// check`; the collector checks the same when it starts (modbus_sources).
#pragma once

#include <vector>

#include "core/status.h"
#include "model/plant_config.h"

namespace shopfloor::connect::modbus {

// One InvalidArgument per bad binding, located at the address in the file
// (file:line:column), e.g. "plant.yaml:31:40: tag \"speed\": modbus address \"ir:9\": a
// writable tag needs a co or hr address (ir is read-only)". Empty when all are good.
std::vector<core::Status> CheckConfigBindings(const model::PlantConfig& config);

}  // namespace shopfloor::connect::modbus
