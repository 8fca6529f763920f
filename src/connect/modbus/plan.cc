#include "connect/modbus/plan.h"

#include <algorithm>
#include <map>

namespace shopfloor::connect::modbus {

std::vector<PollGroup> Plan(std::span<const Address> addresses, const PlanOptions& options) {
  // (interval, table) -> tag indices; std::map orders the groups and tables.
  std::map<core::Duration, std::map<Table, std::vector<size_t>>> grouped;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Address& a = addresses[i];
    grouped[a.poll > 0 ? a.poll : options.default_poll][a.table].push_back(i);
  }
  const int max_registers = std::clamp(options.max_registers, 1, kMaxReadRegisters);
  const int max_gap = std::max(options.max_gap, 0);
  std::vector<PollGroup> groups;
  for (auto& [interval, tables] : grouped) {
    PollGroup group;
    group.interval = interval;
    for (auto& [table, tags] : tables) {
      const bool bits = IsBitTable(table);
      const uint32_t limit = bits ? std::min(16 * max_registers, kMaxReadBits) : max_registers;
      const uint32_t gap = bits ? 16u * max_gap : max_gap;
      std::stable_sort(tags.begin(), tags.end(), [&](size_t x, size_t y) {
        return addresses[x].reg != addresses[y].reg ? addresses[x].reg < addresses[y].reg
                                                    : addresses[x].count() > addresses[y].count();
      });
      ReadRequest current;
      uint32_t end = 0;  // one past the current request's last register
      for (size_t index : tags) {
        const Address& a = addresses[index];
        const uint32_t first = a.reg, last = uint32_t{a.reg} + a.count();
        const uint32_t merged_end = std::max(end, last);
        if (!current.tags.empty() && first <= end + gap && merged_end - current.start <= limit) {
          end = merged_end;
        } else {
          if (!current.tags.empty()) {
            current.count = static_cast<uint16_t>(end - current.start);
            group.requests.push_back(std::move(current));
          }
          current = ReadRequest{table, a.reg, 0, {}};
          end = last;
        }
        current.tags.push_back(index);
      }
      if (!current.tags.empty()) {
        current.count = static_cast<uint16_t>(end - current.start);
        group.requests.push_back(std::move(current));
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace shopfloor::connect::modbus
