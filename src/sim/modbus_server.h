// ModbusServer: one simulated PLC, a Modbus TCP server (libmodbus) serving the registers
// that a plant config's `modbus` source binds, with values from the simulated machines.
//
// Points. Every tag bound to the source (its binding address parsed with
// connect/modbus/address.h) becomes a point: (machine = the tag's asset name, signal = the
// tag name). The register map is therefore exactly the one the config documents, in the
// source's word order (docs/simulator.md lists it). Refresh() encodes every point's current
// reading into the register image; an unavailable reading (a sensor dropout) is served as
// NaN for float types and leaves integer registers unchanged (a frozen PLC input).
//
// Requests. Reads (FC 1-4) anywhere in the image are answered (holes read 0, like a PLC's
// unused memory); beyond it, exception 2 (illegal data address). Writes (FC 5, 6, 15, 16)
// must fall entirely inside writable points (tags with writable: true on co or hr); others
// get exception 2. A write is decoded into the point's value and handed to `apply` (the
// simulator's setpoint); if that refuses it (out of range, wrong type) the answer is
// exception 3 (illegal data value) and the registers keep their value. FC 22/23 and other
// functions get exception 1. A request for another unit id than the source's gets
// exception 11 (gateway target device failed to respond), as a gateway would answer.
//
// Communication loss: while SetReachable(false), the server closes its connections and
// drops new ones at once, as a powered-off PLC behind a switch would look to a client.
//
// Threading: Start() runs one thread that multiplexes every client with select(). Refresh
// and SetReachable may be called from any thread. `apply` runs on the server thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connect/modbus/address.h"
#include "core/status.h"
#include "model/plant_config.h"
#include "sim/factory.h"

struct _modbus_mapping_t;

namespace shopfloor::sim {

struct ModbusPoint {
  connect::modbus::Address address;
  std::string machine;
  std::string signal;
  core::ValueType type = core::ValueType::kDouble;  // the tag's type
  bool writable = false;
  std::string tag_path;  // "<asset path>/<tag>", for messages
};

using ApplySetpoint = std::function<core::Status(const std::string& machine, const std::string& signal,
                                                 const core::Value& value)>;

// A decoded write request (FC 5, 6, 15, 16): the values by register (or coil) number.
struct WriteRequest {
  bool coils = false;
  std::vector<std::pair<int, uint16_t>> values;
};
// Decodes a write request's PDU (function code first). InvalidArgument when the PDU is
// malformed (short, quantity and byte count disagreeing, quantity 0 or beyond the limits of
// 1968 coils / 123 registers, a FC 5 value other than 0x0000/0xFF00) or not a write.
core::Result<WriteRequest> ParseWriteRequest(const uint8_t* pdu, size_t length);

struct ModbusServerStats {
  uint64_t connections = 0;
  uint64_t requests = 0;
  uint64_t exceptions = 0;
  uint64_t writes_applied = 0;
};

class ModbusServer {
 public:
  // The points of `source` in `config` (InvalidArgument for a bad address or binding).
  static core::Result<std::vector<ModbusPoint>> PointsOf(const model::PlantConfig& config,
                                                         const model::SourceConfig& source);
  // Listens on host:port (port 0: ephemeral). The image is sized to the points' extent.
  static core::Result<std::unique_ptr<ModbusServer>> Start(std::string name, std::vector<ModbusPoint> points,
                                                           const std::string& host, uint16_t port, int unit_id,
                                                           bool word_swap, ApplySetpoint apply);
  ~ModbusServer();
  ModbusServer(const ModbusServer&) = delete;
  ModbusServer& operator=(const ModbusServer&) = delete;

  void Refresh(const Factory& factory);
  void SetReachable(bool reachable) { reachable_.store(reachable, std::memory_order_release); }
  void Stop();

  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  const std::vector<ModbusPoint>& points() const { return points_; }
  // Machines whose signals this server carries (for communication loss).
  std::vector<std::string> machines() const;
  ModbusServerStats stats() const;

 private:
  ModbusServer(std::string name, std::vector<ModbusPoint> points, int unit_id, bool word_swap,
               ApplySetpoint apply);
  void Run();
  // Handles one request; returns false to close the connection.
  bool Serve(int fd);
  // Decodes the write in `req` and applies it; returns a Modbus exception code or 0.
  int ApplyWrite(const uint8_t* req, int length);

  const std::string name_;
  const std::vector<ModbusPoint> points_;
  const int unit_id_;
  const bool word_swap_;
  const ApplySetpoint apply_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  void* ctx_ = nullptr;  // modbus_t*
  std::atomic<bool> reachable_{true};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  _modbus_mapping_t* map_ = nullptr;  // GUARDED_BY(mu_)
  ModbusServerStats stats_;           // GUARDED_BY(mu_)
};

}  // namespace shopfloor::sim
