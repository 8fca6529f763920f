// Modbus tag addresses and the register codec, shared by the collector (connect/modbus)
// and the simulator's servers (sim/).
//
// Grammar of a binding address (docs/modbus.md):
//   <table>:<register>[.<bit>][:<type>][:<modifier>]...
//   table     co (coils, FC 1 read, 5/15 write), di (discrete inputs, FC 2),
//             ir (input registers, FC 4), hr (holding registers, FC 3 read, 6/16 write)
//   register  0-based protocol address, decimal 0..65535
//   .bit      ir/hr only: one bit (0 = least significant .. 15) of a 16-bit register, read as
//             bool; a write sets that bit with a read-modify-write of the register (FC 3 + 6)
//   type      co/di: bool (the default and the only one)
//             ir/hr: int16, uint16 (default), int32, uint32, int64, uint64, float32, float64,
//             string<N> (N bytes, 1..250, in ceil(N/2) registers, two per register, first
//             character in the high byte unless bytes=little; NUL padding stripped)
//   modifiers scale=<number>   value = raw * scale + offset (numeric types; default 1)
//             offset=<number>  (default 0); a scaled tag is read as a double
//             words=big|little override of the source's word_order for 32/64-bit types:
//                              big = most significant register first
//             bytes=big|little big (the protocol's order) or little = bytes swapped in
//                              every register
//             poll=<duration>  this tag's poll group interval, e.g. 100ms, 5s, 1m
//                              (default: the source's poll_interval)
// Examples: "ir:0:float32", "hr:100:float32:words=little", "ir:20:int16:scale=0.1",
// "hr:50.3", "co:4", "hr:40:string16", "ir:14:float64:poll=10s".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::connect::modbus {

enum class Table : uint8_t { kCoil, kDiscreteInput, kInputRegister, kHoldingRegister };
std::string_view TableName(Table table);  // "co", "di", "ir", "hr"
inline bool IsBitTable(Table t) { return t == Table::kCoil || t == Table::kDiscreteInput; }
inline bool IsWritableTable(Table t) { return t == Table::kCoil || t == Table::kHoldingRegister; }

enum class DataType : uint8_t {
  kBool,  // a coil or discrete input
  kBit,   // one bit of a register
  kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64, kFloat32, kFloat64,
  kString,
};
std::string_view DataTypeName(DataType type);  // "bool", "bit", "int16", ..., "string"

struct Address {
  Table table = Table::kHoldingRegister;
  uint16_t reg = 0;  // first register or bit
  DataType type = DataType::kUInt16;
  int bit = -1;           // kBit: 0..15
  int string_bytes = 0;   // kString: 1..250
  std::optional<bool> word_swap;  // words=: true little, false big; unset: the source's
  bool byte_swap = false;         // bytes=little
  double scale = 1.0;
  double offset = 0.0;
  core::Duration poll = 0;  // 0: the source's poll_interval

  // Registers (or bits, for co/di) the value occupies: 1 for bool, bit, 16-bit; 2 for
  // 32-bit; 4 for 64-bit; ceil(string_bytes / 2) for strings.
  uint16_t count() const;
  bool scaled() const { return scale != 1.0 || offset != 0.0; }
  // The value type a tag bound to this address reads naturally: bool for bool/bit, string
  // for strings, double for floats and scaled numbers, int64 otherwise.
  core::ValueType natural_type() const;
};

// InvalidArgument naming the offending part, e.g. "modbus address \"ir:70000\": register
// 70000 is beyond 65535". Checks that the value fits below register 65536.
core::Result<Address> ParseAddress(std::string_view text);
std::string FormatAddress(const Address& address);  // canonical text; parses back equal

// Checks that a tag of `tag_type` (and writable or not) can use this address: a writable tag
// needs co or hr; a string tag needs a string address and the other way round; a bool tag
// needs bool or bit (or a numeric register, where nonzero is true); an int64 tag cannot
// take a float or a scaled value. InvalidArgument says why not.
core::Status CheckBinding(const Address& address, core::ValueType tag_type, bool writable);

// Decodes the value from `words` (exactly address.count() registers starting at
// address.reg) or, for bit tables, from `bits` (count() entries, 0 or 1), as a `tag_type`
// value. `source_word_swap` applies unless the address overrides it. InvalidArgument when
// the value does not fit tag_type (e.g. a uint64 above INT64_MAX into int64, NaN into a
// scaled integer).
core::Result<core::Value> Decode(const Address& address, bool source_word_swap, std::span<const uint16_t> words,
                                 std::span<const uint8_t> bits, core::ValueType tag_type);

// The registers (address.count() of them) that hold `value`; the inverse of Decode
// (scaling inverted, rounded to the nearest raw integer). For bit tables and kBit, one
// register 0 or 1. InvalidArgument when the value does not fit the raw type (out of
// range, fraction where an integer is needed, string longer than string_bytes).
core::Result<std::vector<uint16_t>> Encode(const Address& address, bool source_word_swap, const core::Value& value);

}  // namespace shopfloor::connect::modbus
