#include "connect/modbus/bindings.h"

#include <fmt/format.h>

#include "connect/modbus/address.h"

namespace shopfloor::connect::modbus {

std::vector<core::Status> CheckConfigBindings(const model::PlantConfig& config) {
  std::vector<core::Status> problems;
  for (const model::SeriesTag& series : model::ListSeries(config)) {
    const model::TagConfig& tag = *series.tag;
    if (!tag.binding) continue;
    const model::SourceConfig* source = config.FindSource(tag.binding->source);
    if (source == nullptr || source->protocol != model::Protocol::kModbus) continue;
    core::Status s;
    if (tag.binding->address.empty()) {
      s = core::Status::InvalidArgument("a tag bound to a modbus source needs an address such as hr:100:float32");
    } else if (auto address = ParseAddress(tag.binding->address); !address.ok()) {
      s = address.status();
    } else {
      s = CheckBinding(*address, tag.type, tag.writable);
    }
    if (s.ok()) continue;
    core::StatusContext where;
    where.file = config.file_name;
    if (tag.address_location.line > 0) {
      where.line = tag.address_location.line;
      where.column = tag.address_location.column;
    }
    problems.push_back(core::Status::InvalidArgument(
        fmt::format("{} tag \"{}\": {}", series.asset->path, tag.name, s.message()), std::move(where)));
  }
  return problems;
}

}  // namespace shopfloor::connect::modbus
