#include "sim/modbus_server.h"

#include <modbus/modbus.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "core/log.h"

namespace shopfloor::sim {

namespace mb = connect::modbus;

namespace {

void CollectPoints(const model::AssetConfig& asset, const std::string& source, std::vector<ModbusPoint>* out,
                   core::Status* error) {
  for (const auto& tag : asset.tags) {
    if (!tag.binding || tag.binding->source != source) continue;
    auto address = mb::ParseAddress(tag.binding->address);
    core::Status s = address.ok() ? mb::CheckBinding(*address, tag.type, tag.writable) : address.status();
    if (!s.ok()) {
      if (error->ok()) *error = core::Status::InvalidArgument(fmt::format("{}/{}: {}", asset.path, tag.name, s.message()));
      continue;
    }
    out->push_back(ModbusPoint{*address, asset.name, tag.name, tag.type, tag.writable, asset.path + "/" + tag.name});
  }
  for (const auto& child : asset.children) CollectPoints(child, source, out, error);
}

// Highest register (exclusive) a table's points reach.
int Extent(const std::vector<ModbusPoint>& points, mb::Table table) {
  int end = 0;
  for (const auto& p : points) {
    if (p.address.table == table) end = std::max(end, p.address.reg + p.address.count());
  }
  return end;
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

core::Result<std::vector<ModbusPoint>> ModbusServer::PointsOf(const model::PlantConfig& config,
                                                              const model::SourceConfig& source) {
  std::vector<ModbusPoint> points;
  core::Status error;
  CollectPoints(config.enterprise, source.name, &points, &error);
  if (!error.ok()) return error;
  return points;
}

ModbusServer::ModbusServer(std::string name, std::vector<ModbusPoint> points, int unit_id, bool word_swap,
                           ApplySetpoint apply)
    : name_(std::move(name)), points_(std::move(points)), unit_id_(unit_id), word_swap_(word_swap),
      apply_(std::move(apply)) {}

core::Result<std::unique_ptr<ModbusServer>> ModbusServer::Start(std::string name, std::vector<ModbusPoint> points,
                                                                const std::string& host, uint16_t port, int unit_id,
                                                                bool word_swap, ApplySetpoint apply) {
  std::unique_ptr<ModbusServer> server(
      new ModbusServer(std::move(name), std::move(points), unit_id, word_swap, std::move(apply)));
  const auto& p = server->points_;
  server->map_ = modbus_mapping_new(Extent(p, mb::Table::kCoil), Extent(p, mb::Table::kDiscreteInput),
                                    Extent(p, mb::Table::kHoldingRegister), Extent(p, mb::Table::kInputRegister));
  if (server->map_ == nullptr) return core::Status::Internal("modbus_mapping_new failed");
  modbus_t* ctx = modbus_new_tcp(host.c_str(), port);
  if (ctx == nullptr) return core::Status::InvalidArgument(fmt::format("bad Modbus listen address {}:{}", host, port));
  server->ctx_ = ctx;
  // The server answers for any unit id itself (see Serve), so libmodbus must not filter.
  int fd = modbus_tcp_listen(ctx, 16);
  if (fd < 0) {
    return core::Status::Unavailable(
        fmt::format("simulated PLC {}: cannot listen on {}:{}: {}", server->name_, host, port, modbus_strerror(errno)));
  }
  server->listen_fd_ = fd;
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) server->port_ = ntohs(addr.sin_port);
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

ModbusServer::~ModbusServer() {
  Stop();
  if (ctx_ != nullptr) modbus_free(static_cast<modbus_t*>(ctx_));
  if (map_ != nullptr) modbus_mapping_free(map_);
}

void ModbusServer::Stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

std::vector<std::string> ModbusServer::machines() const {
  std::set<std::string> names;
  for (const auto& p : points_) names.insert(p.machine);
  return {names.begin(), names.end()};
}

ModbusServerStats ModbusServer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ModbusServer::Refresh(const Factory& factory) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : points_) {
    auto reading = factory.Read(p.machine, p.signal);
    if (!reading) continue;
    const mb::Address& a = p.address;
    if (!reading->available) {
      if (a.type != mb::DataType::kFloat32 && a.type != mb::DataType::kFloat64) continue;
      reading->value = core::Value(std::nan(""));
    }
    if (reading->available && reading->value.type() != p.type) {
      auto converted = core::ConvertLossless(reading->value, p.type);
      if (!converted.ok()) continue;
      reading->value = std::move(converted).value();
    }
    auto words = mb::Encode(a, word_swap_, reading->value);
    if (!words.ok()) continue;  // a value the register type cannot hold: keep the last one
    switch (a.table) {
      case mb::Table::kCoil: map_->tab_bits[a.reg] = (*words)[0] != 0; break;
      case mb::Table::kDiscreteInput: map_->tab_input_bits[a.reg] = (*words)[0] != 0; break;
      case mb::Table::kInputRegister:
      case mb::Table::kHoldingRegister: {
        uint16_t* regs = a.table == mb::Table::kInputRegister ? map_->tab_input_registers : map_->tab_registers;
        if (a.type == mb::DataType::kBit) {
          const uint16_t mask = static_cast<uint16_t>(1u << a.bit);
          regs[a.reg] = static_cast<uint16_t>((*words)[0] ? regs[a.reg] | mask : regs[a.reg] & ~mask);
        } else {
          std::copy(words->begin(), words->end(), regs + a.reg);
        }
        break;
      }
    }
  }
}

void ModbusServer::Run() {
  std::vector<int> clients;
  auto drop_all = [&] {
    for (int c : clients) close(c);
    clients.clear();
  };
  while (!stop_.load(std::memory_order_acquire)) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(listen_fd_, &fds);
    int max_fd = listen_fd_;
    for (int c : clients) {
      FD_SET(c, &fds);
      max_fd = std::max(max_fd, c);
    }
    timeval tv{0, 50'000};
    int n = select(max_fd + 1, &fds, nullptr, nullptr, &tv);
    const bool reachable = reachable_.load(std::memory_order_acquire);
    if (!reachable) drop_all();
    if (n <= 0) continue;
    if (FD_ISSET(listen_fd_, &fds)) {
      int c = accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) {
        if (!reachable || clients.size() >= 64) {
          close(c);
        } else {
          clients.push_back(c);
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.connections;
        }
      }
    }
    if (!reachable) continue;
    for (size_t i = 0; i < clients.size();) {
      if (FD_ISSET(clients[i], &fds) && !Serve(clients[i])) {
        close(clients[i]);
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  drop_all();
}

bool ModbusServer::Serve(int fd) {
  modbus_t* ctx = static_cast<modbus_t*>(ctx_);
  uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
  modbus_set_socket(ctx, fd);
  int rc = modbus_receive(ctx, req);
  if (rc == 0) return true;  // a request for another device on the line (filtered)
  if (rc < 0) return false;  // closed, or a malformed frame: drop the connection as PLCs do
  const int hl = modbus_get_header_length(ctx);
  const int unit = req[hl - 1];
  const int function = req[hl];
  int exception = 0;
  if (unit != unit_id_ && unit != 0xFF) {
    exception = MODBUS_EXCEPTION_GATEWAY_TARGET;
  } else if (function == MODBUS_FC_WRITE_SINGLE_COIL || function == MODBUS_FC_WRITE_SINGLE_REGISTER ||
             function == MODBUS_FC_WRITE_MULTIPLE_COILS || function == MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
    exception = ApplyWrite(req + hl, rc - hl);
  } else if (function > MODBUS_FC_READ_INPUT_REGISTERS || function < MODBUS_FC_READ_COILS) {
    exception = MODBUS_EXCEPTION_ILLEGAL_FUNCTION;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (exception == 0 && function <= MODBUS_FC_READ_INPUT_REGISTERS && rc >= hl + 5) {
    // Reads beyond the image: libmodbus would answer exception 2 too; decided here so the
    // statistics see it.
    const int start = Be16(req + hl + 1), quantity = Be16(req + hl + 3);
    const int extent = function == MODBUS_FC_READ_COILS            ? map_->nb_bits
                       : function == MODBUS_FC_READ_DISCRETE_INPUTS ? map_->nb_input_bits
                       : function == MODBUS_FC_READ_HOLDING_REGISTERS ? map_->nb_registers
                                                                      : map_->nb_input_registers;
    if (start + quantity > extent) exception = MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
  }
  ++stats_.requests;
  int sent;
  if (exception != 0) {
    ++stats_.exceptions;
    sent = modbus_reply_exception(ctx, req, static_cast<unsigned>(exception));
  } else {
    if (function >= MODBUS_FC_WRITE_SINGLE_COIL) ++stats_.writes_applied;
    sent = modbus_reply(ctx, req, rc, map_);
  }
  return sent >= 0;
}

core::Result<WriteRequest> ParseWriteRequest(const uint8_t* pdu, size_t length) {
  if (length < 5) return core::Status::InvalidArgument("write request shorter than 5 bytes");
  const int function = pdu[0];
  const int start = Be16(pdu + 1);
  WriteRequest out;
  out.coils = function == MODBUS_FC_WRITE_SINGLE_COIL || function == MODBUS_FC_WRITE_MULTIPLE_COILS;
  if (function == MODBUS_FC_WRITE_SINGLE_COIL) {
    const uint16_t v = Be16(pdu + 3);
    if (v != 0xFF00 && v != 0x0000) return core::Status::InvalidArgument("FC 5 value must be 0xFF00 or 0x0000");
    out.values.emplace_back(start, v == 0xFF00 ? 1 : 0);
    return out;
  }
  if (function == MODBUS_FC_WRITE_SINGLE_REGISTER) {
    out.values.emplace_back(start, Be16(pdu + 3));
    return out;
  }
  if (function != MODBUS_FC_WRITE_MULTIPLE_COILS && function != MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
    return core::Status::InvalidArgument(fmt::format("function {} is not a write", function));
  }
  const int quantity = Be16(pdu + 3);
  const int limit = out.coils ? MODBUS_MAX_WRITE_BITS : MODBUS_MAX_WRITE_REGISTERS;
  if (quantity < 1 || quantity > limit) return core::Status::InvalidArgument(fmt::format("quantity {} out of 1..{}", quantity, limit));
  if (length < 6) return core::Status::InvalidArgument("no byte count");
  const size_t bytes = pdu[5];
  const size_t needed = out.coils ? static_cast<size_t>((quantity + 7) / 8) : static_cast<size_t>(2 * quantity);
  if (bytes != needed || length < 6 + bytes) {
    return core::Status::InvalidArgument(fmt::format("byte count {} for quantity {} (need {})", bytes, quantity, needed));
  }
  if (start + quantity > 65536) return core::Status::InvalidArgument("write beyond register 65535");
  for (int i = 0; i < quantity; ++i) {
    if (out.coils) out.values.emplace_back(start + i, (pdu[6 + i / 8] >> (i % 8)) & 1);
    else out.values.emplace_back(start + i, Be16(pdu + 6 + 2 * i));
  }
  return out;
}

int ModbusServer::ApplyWrite(const uint8_t* pdu, int length) {
  auto request = ParseWriteRequest(pdu, static_cast<size_t>(std::max(length, 0)));
  if (!request.ok()) return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
  const bool bits = request->coils;
  const auto& written = request->values;
  const mb::Table table = bits ? mb::Table::kCoil : mb::Table::kHoldingRegister;
  // Every written register must belong to a writable point.
  std::vector<const ModbusPoint*> touched;
  for (const auto& [reg, value] : written) {
    const ModbusPoint* owner = nullptr;
    for (const auto& p : points_) {
      if (p.writable && p.address.table == table && reg >= p.address.reg && reg < p.address.reg + p.address.count()) {
        owner = &p;
        break;
      }
    }
    if (owner == nullptr) return MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
    if (std::find(touched.begin(), touched.end(), owner) == touched.end()) touched.push_back(owner);
  }
  for (const ModbusPoint* p : touched) {
    const mb::Address& a = p->address;
    std::vector<uint16_t> words(a.count());
    std::vector<uint8_t> bit_values(a.count());
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < a.count(); ++i) {
        if (bits) bit_values[i] = map_->tab_bits[a.reg + i];
        else words[i] = map_->tab_registers[a.reg + i];
      }
    }
    for (const auto& [reg, value] : written) {
      if (reg < a.reg || reg >= a.reg + a.count()) continue;
      if (bits) bit_values[reg - a.reg] = static_cast<uint8_t>(value);
      else words[reg - a.reg] = value;
    }
    auto decoded = mb::Decode(a, word_swap_, words, bit_values, p->type);
    if (!decoded.ok()) return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
    core::Status s = apply_(p->machine, p->signal, *decoded);
    if (!s.ok()) {
      SF_LOG(info, "sim.modbus_write_refused", "plc={} tag={} value={} error=\"{}\"", name_, p->tag_path,
             decoded->ToString(), s.message());
      return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
    }
    SF_LOG(info, "sim.modbus_write", "plc={} tag={} value={}", name_, p->tag_path, decoded->ToString());
  }
  return 0;
}

}  // namespace shopfloor::sim
