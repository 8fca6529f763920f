#include "connect/modbus/link.h"

#include <errno.h>
#include <modbus/modbus.h>

#include <fmt/format.h>

namespace shopfloor::connect::modbus {

namespace {

void SplitEndpoint(const std::string& endpoint, std::string* host, std::string* port) {
  const size_t colon = endpoint.rfind(':');
  *host = endpoint.substr(0, colon);
  *port = colon == std::string::npos ? "502" : endpoint.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
}

}  // namespace

std::string_view ExceptionName(int code) {
  switch (code) {
    case 1: return "IllegalFunction";
    case 2: return "IllegalDataAddress";
    case 3: return "IllegalDataValue";
    case 4: return "ServerDeviceFailure";
    case 5: return "Acknowledge";
    case 6: return "ServerDeviceBusy";
    case 7: return "NegativeAcknowledge";
    case 8: return "MemoryParityError";
    case 10: return "GatewayPathUnavailable";
    case 11: return "GatewayTargetFailedToRespond";
  }
  return "UnknownException";
}

core::Quality ExceptionQuality(int code) {
  switch (code) {
    case 1: return core::Quality::FromOpcUaStatus(0x803D0000u);  // BadNotSupported
    case 2: return core::Quality::FromOpcUaStatus(0x80340000u);  // BadNodeIdUnknown
    case 3: return core::Quality::FromOpcUaStatus(0x803C0000u);  // BadOutOfRange
    case 4: return core::Quality::FromOpcUaStatus(0x808B0000u);  // BadDeviceFailure
    case 6: return core::Quality::FromOpcUaStatus(0x80040000u);  // BadResourceUnavailable
  }
  return core::Quality::BadCommunicationError();
}

Link::Link(std::string endpoint, int unit_id, core::Duration timeout)
    : endpoint_(std::move(endpoint)), unit_id_(unit_id), timeout_(timeout) {
  SplitEndpoint(endpoint_, &host_, &port_);
}

Link::~Link() { Close(); }

void Link::Close() {
  if (ctx_ == nullptr) return;
  modbus_close(ctx_);
  modbus_free(ctx_);
  ctx_ = nullptr;
}

core::Status Link::Connect() {
  Close();
  modbus_t* ctx = modbus_new_tcp_pi(host_.c_str(), port_.c_str());
  if (ctx == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: {}", endpoint_, modbus_strerror(errno)));
  const auto us = std::max<int64_t>(timeout_ / 1000, 1000);
  modbus_set_response_timeout(ctx, static_cast<uint32_t>(us / 1'000'000), static_cast<uint32_t>(us % 1'000'000));
  if (modbus_set_slave(ctx, unit_id_) != 0 || modbus_connect(ctx) != 0) {
    const int err = errno;
    modbus_free(ctx);
    return core::Status::Unavailable(fmt::format("modbus {}: connect: {}", endpoint_, modbus_strerror(err)));
  }
  ctx_ = ctx;
  return core::Status::OK();
}

core::Status Link::Fail(const char* what, uint16_t start, int count) {
  const int err = errno;
  const std::string where = fmt::format("modbus {} unit {}: {} {}+{}", endpoint_, unit_id_, what, start, count);
  if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
    exception_ = err - MODBUS_ENOBASE;
    return core::Status::Aborted(fmt::format("{}: exception {} ({})", where, exception_, ExceptionName(exception_)));
  }
  Close();  // see the header: no later request may read this one's late reply
  if (err == ETIMEDOUT) return core::Status::Timeout(fmt::format("{}: no answer (timeout)", where));
  if (err >= EMBBADCRC && err <= EMBBADSLAVE) {
    return core::Status::Unavailable(fmt::format("{}: {}", where, modbus_strerror(err)));
  }
  return core::Status::Unavailable(fmt::format("{}: {}", where, modbus_strerror(err)));
}

core::Status Link::ReadRegisters(Table table, uint16_t start, std::span<uint16_t> out) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  const int n = static_cast<int>(out.size());
  const int got = table == Table::kInputRegister ? modbus_read_input_registers(ctx_, start, n, out.data())
                                                 : modbus_read_registers(ctx_, start, n, out.data());
  if (got == n) return core::Status::OK();
  if (got >= 0) {
    Close();
    return core::Status::Unavailable(
        fmt::format("modbus {}: read {}+{} answered {} registers", endpoint_, start, n, got));
  }
  return Fail(table == Table::kInputRegister ? "read input registers" : "read holding registers", start, n);
}

core::Status Link::ReadBits(Table table, uint16_t start, std::span<uint8_t> out) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  const int n = static_cast<int>(out.size());
  const int got = table == Table::kDiscreteInput ? modbus_read_input_bits(ctx_, start, n, out.data())
                                                 : modbus_read_bits(ctx_, start, n, out.data());
  if (got == n) return core::Status::OK();
  if (got >= 0) {
    Close();
    return core::Status::Unavailable(fmt::format("modbus {}: read {}+{} answered {} bits", endpoint_, start, n, got));
  }
  return Fail(table == Table::kDiscreteInput ? "read discrete inputs" : "read coils", start, n);
}

core::Status Link::WriteCoil(uint16_t address, bool on) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  if (modbus_write_bit(ctx_, address, on ? 1 : 0) == 1) return core::Status::OK();
  return Fail("write coil", address, 1);
}

core::Status Link::WriteCoils(uint16_t start, std::span<const uint8_t> bits) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  const int n = static_cast<int>(bits.size());
  if (modbus_write_bits(ctx_, start, n, bits.data()) == n) return core::Status::OK();
  return Fail("write coils", start, n);
}

core::Status Link::WriteRegister(uint16_t address, uint16_t value) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  if (modbus_write_register(ctx_, address, value) == 1) return core::Status::OK();
  return Fail("write register", address, 1);
}

core::Status Link::WriteRegisters(uint16_t start, std::span<const uint16_t> words) {
  exception_ = 0;
  if (ctx_ == nullptr) return core::Status::Unavailable(fmt::format("modbus {}: not connected", endpoint_));
  const int n = static_cast<int>(words.size());
  if (modbus_write_registers(ctx_, start, n, words.data()) == n) return core::Status::OK();
  return Fail("write registers", start, n);
}

}  // namespace shopfloor::connect::modbus
