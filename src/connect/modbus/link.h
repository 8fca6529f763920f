// Link: one Modbus TCP connection to one unit, a thin wrapper over libmodbus that keeps its
// types out of the collector's header and turns errno into core::Status:
//   Aborted      an exception response (a definite answer); exception() gives its code
//   Timeout      no answer within the response timeout
//   Unavailable  no connection, or it broke (reset, refused, closed by the peer), or an
//                answer that does not match the request (transaction id, function, length)
// A late reply must never be taken for the answer to a later request. libmodbus matches
// the MBAP transaction id, but a reply that arrives after its timeout would still sit in the
// socket and fail (or, once the 16-bit id wraps, fool) the next request. So after a Timeout
// or a mismatched answer the Link closes its socket: a late reply can only reach a closed
// connection, and the next request goes out on a new one.
//
// Not thread-safe: one Link belongs to one thread (the collector's).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "connect/modbus/address.h"
#include "core/status.h"
#include "core/types.h"

struct _modbus;  // libmodbus's modbus_t

namespace shopfloor::connect::modbus {

class Link {
 public:
  // `endpoint` is "host:port" (an IPv6 host in brackets). Nothing connects yet.
  Link(std::string endpoint, int unit_id, core::Duration timeout);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  core::Status Connect();
  void Close();
  bool connected() const { return ctx_ != nullptr; }

  // FC 3 (hr) or FC 4 (ir): `out` holds count registers.
  core::Status ReadRegisters(Table table, uint16_t start, std::span<uint16_t> out);
  // FC 1 (co) or FC 2 (di): `out` holds count bits, 0 or 1.
  core::Status ReadBits(Table table, uint16_t start, std::span<uint8_t> out);
  core::Status WriteCoil(uint16_t address, bool on);                             // FC 5
  core::Status WriteCoils(uint16_t start, std::span<const uint8_t> bits);        // FC 15
  core::Status WriteRegister(uint16_t address, uint16_t value);                  // FC 6
  core::Status WriteRegisters(uint16_t start, std::span<const uint16_t> words);  // FC 16

  // The exception code (1 illegal function, 2 illegal data address, ...) of the latest
  // Aborted; 0 otherwise.
  int exception() const { return exception_; }

 private:
  // Maps a failed call's errno to a Status (see the header comment), closing the socket
  // when the connection cannot be trusted any more.
  core::Status Fail(const char* what, uint16_t start, int count);

  std::string endpoint_, host_, port_;
  int unit_id_;
  core::Duration timeout_;
  ::_modbus* ctx_ = nullptr;
  int exception_ = 0;
};

// "IllegalDataAddress" etc. for an exception code.
std::string_view ExceptionName(int code);
// The quality a tag gets for an exception response (docs/modbus.md): 2 illegal data address
// -> BadNodeIdUnknown, 1 -> BadNotSupported, 3 -> BadOutOfRange, 4 -> BadDeviceFailure,
// 6 busy -> BadResourceUnavailable, others BadCommunicationError.
core::Quality ExceptionQuality(int code);

}  // namespace shopfloor::connect::modbus
