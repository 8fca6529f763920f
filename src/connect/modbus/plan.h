// Request planning for the Modbus collector: which read requests one poll of a source sends.
//
// Tags are grouped by poll interval (the address's poll=, else the source's poll_interval)
// and, within a group, by table. In a table the tags are sorted by register and merged
// greedily into requests: a tag joins the current request when its first register is at most
// `max_gap` unused registers past the request's end (overlapping and adjacent tags always
// qualify) and the request then spans at most `max_registers` registers (bit tables: 16
// times as many bits and gaps, at most 2000 bits, the protocol's limit for FC 1/2). A value is
// never split across requests: a tag wider than max_registers (a float64 with max_registers
// 2) gets a request of its own, which may exceed max_registers but never the protocol's 125.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "connect/modbus/address.h"
#include "core/types.h"

namespace shopfloor::connect::modbus {

inline constexpr int kMaxReadRegisters = 125;  // FC 3/4 (Modbus Application Protocol 6.3/6.4)
inline constexpr int kMaxReadBits = 2000;      // FC 1/2

struct PlanOptions {
  core::Duration default_poll = core::kSecond;  // the source's poll_interval
  int max_registers = kMaxReadRegisters;        // 1..125
  int max_gap = 0;                              // 0..100 registers
};

// One read: `count` registers (or bits) of `table` from `start`, carrying `tags` (indices
// into the addresses given to Plan, in register order).
struct ReadRequest {
  Table table = Table::kHoldingRegister;
  uint16_t start = 0;
  uint16_t count = 0;
  std::vector<size_t> tags;
};

struct PollGroup {
  core::Duration interval = 0;
  std::vector<ReadRequest> requests;  // by table (co, di, ir, hr), then by register
};

// Groups ordered by interval, shortest first. Every address appears in exactly one request.
std::vector<PollGroup> Plan(std::span<const Address> addresses, const PlanOptions& options);

}  // namespace shopfloor::connect::modbus
