// The simulated PLCs against libmodbus's own client: registers hold the factory's values in
// the config's encoding and word order, setpoint writes change the simulated process,
// and refused requests get the exception a real device would send.
#include "sim/modbus_server.h"

#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <cerrno>
#include <cmath>
#include <thread>

#include "model/plant_config.h"

namespace shopfloor::sim {
namespace {

namespace mb = connect::modbus;

class ModbusServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<core::Status> problems;
    auto config = model::LoadPlantConfigFile(core::Env::Posix(),
                                             std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", &problems);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
    FactoryOptions options;
    options.seed = 3;
    options.start = 1'800'000'000 * core::kSecond;
    options.random_faults = false;
    factory_ = Factory::Create(options);
    factory_->AdvanceTo(options.start + 10 * core::kMinute);
  }

  // Starts the simulated PLC of `source_name` on a free port.
  void StartPlc(const std::string& source_name) {
    const model::SourceConfig* source = config_.FindSource(source_name);
    ASSERT_NE(source, nullptr);
    source_ = source;
    auto points = ModbusServer::PointsOf(config_, *source);
    ASSERT_TRUE(points.ok()) << points.status().ToString();
    auto server = ModbusServer::Start(source_name, std::move(points).value(), "127.0.0.1", 0,
                                      source->options.unit_id, source->options.word_swap,
                                      [this](const std::string& m, const std::string& s, const core::Value& v) {
                                        std::lock_guard<std::mutex> lock(mu_);
                                        return factory_->Write(m, s, v);
                                      });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    server_->Refresh(*factory_);
    ctx_ = modbus_new_tcp("127.0.0.1", server_->port());
    ASSERT_NE(ctx_, nullptr);
    modbus_set_slave(ctx_, source->options.unit_id);
    modbus_set_response_timeout(ctx_, 2, 0);
    ASSERT_EQ(modbus_connect(ctx_), 0) << modbus_strerror(errno);
  }

  void TearDown() override {
    if (ctx_ != nullptr) {
      modbus_close(ctx_);
      modbus_free(ctx_);
    }
    if (server_) server_->Stop();
  }

  // Reads a point's registers and decodes them as the collector would.
  core::Value ReadPoint(const ModbusPoint& p) {
    std::vector<uint16_t> words(p.address.count());
    std::vector<uint8_t> bits(p.address.count());
    int rc = -1;
    switch (p.address.table) {
      case mb::Table::kCoil: rc = modbus_read_bits(ctx_, p.address.reg, p.address.count(), bits.data()); break;
      case mb::Table::kDiscreteInput:
        rc = modbus_read_input_bits(ctx_, p.address.reg, p.address.count(), bits.data());
        break;
      case mb::Table::kInputRegister:
        rc = modbus_read_input_registers(ctx_, p.address.reg, p.address.count(), words.data());
        break;
      case mb::Table::kHoldingRegister:
        rc = modbus_read_registers(ctx_, p.address.reg, p.address.count(), words.data());
        break;
    }
    EXPECT_EQ(rc, p.address.count()) << p.tag_path << ": " << modbus_strerror(errno);
    auto v = mb::Decode(p.address, source_->options.word_swap, words, bits, p.type);
    EXPECT_TRUE(v.ok()) << p.tag_path << ": " << v.status().ToString();
    return v.ok() ? *v : core::Value();
  }

  model::PlantConfig config_;
  const model::SourceConfig* source_ = nullptr;
  std::mutex mu_;
  std::unique_ptr<Factory> factory_;
  std::unique_ptr<ModbusServer> server_;
  modbus_t* ctx_ = nullptr;
};

TEST_F(ModbusServerTest, EveryRegisterHoldsTheFactorysValueInBothWordOrders) {
  for (const std::string source : {"body-shop-plc", "utilities-plc", "robot-1-ctrl"}) {
    SCOPED_TRACE(source);
    TearDown();
    ctx_ = nullptr;
    ASSERT_NO_FATAL_FAILURE(StartPlc(source));
    ASSERT_FALSE(server_->points().empty());
    for (const ModbusPoint& p : server_->points()) {
      auto expected = factory_->Read(p.machine, p.signal);
      ASSERT_TRUE(expected.has_value()) << p.tag_path << " is not simulated";
      core::Value got = ReadPoint(p);
      double want = 0, have = 0;
      if (expected->value.ToNumber(&want) && got.ToNumber(&have)) {
        // float32 registers round; everything else is exact
        const bool f32 = p.address.type == mb::DataType::kFloat32;
        EXPECT_NEAR(have, want, f32 ? std::abs(want) * 1e-6 + 1e-6 : 1e-9) << p.tag_path;
      } else {
        EXPECT_EQ(got.ToString(), expected->value.ToString()) << p.tag_path;
      }
    }
  }
}

TEST_F(ModbusServerTest, SetpointWritesChangeTheProcessAndBadWritesGetExceptions) {
  ASSERT_NO_FATAL_FAILURE(StartPlc("utilities-plc"));
  const ModbusPoint* setpoint = nullptr;
  const ModbusPoint* pressure = nullptr;
  for (const auto& p : server_->points()) {
    if (p.signal == "pressure_setpoint") setpoint = &p;
    if (p.signal == "discharge_pressure") pressure = &p;
  }
  ASSERT_TRUE(setpoint && pressure);
  auto words = mb::Encode(setpoint->address, true, core::Value(6.0));
  ASSERT_TRUE(words.ok());
  ASSERT_EQ(modbus_write_registers(ctx_, setpoint->address.reg, 2, words->data()), 2) << modbus_strerror(errno);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_DOUBLE_EQ(factory_->Read("compressor-1", "pressure_setpoint")->value.as_double(), 6.0);
    factory_->AdvanceTo(factory_->now() + 30 * core::kMinute);
    server_->Refresh(*factory_);
  }
  double pressure_now = 0;
  ASSERT_TRUE(ReadPoint(*pressure).ToNumber(&pressure_now));
  EXPECT_NEAR(pressure_now, 6.0, 0.6) << "the discharge pressure follows the new setpoint";
  EXPECT_DOUBLE_EQ(ReadPoint(*setpoint).as_double(), 6.0);

  // Out of the setpoint's limits: illegal data value, nothing changes.
  words = mb::Encode(setpoint->address, true, core::Value(42.0));
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(modbus_write_registers(ctx_, setpoint->address.reg, 2, words->data()), -1);
  EXPECT_EQ(errno, EMBXILVAL);
  EXPECT_DOUBLE_EQ(factory_->Read("compressor-1", "pressure_setpoint")->value.as_double(), 6.0);
  // A register that is not a setpoint: illegal data address.
  uint16_t one = 1;
  EXPECT_EQ(modbus_write_registers(ctx_, 0, 1, &one), -1);
  EXPECT_EQ(errno, EMBXILADD);
  // Beyond the image: illegal data address.
  uint16_t sink[4];
  EXPECT_EQ(modbus_read_input_registers(ctx_, 60000, 4, sink), -1);
  EXPECT_EQ(errno, EMBXILADD);
  // Another unit id: the gateway's "target device failed to respond".
  modbus_set_slave(ctx_, source_->options.unit_id + 1);
  EXPECT_EQ(modbus_read_input_registers(ctx_, 0, 2, sink), -1);
  EXPECT_EQ(errno, EMBXGTAR);
  EXPECT_GE(server_->stats().exceptions, 4u);
}

TEST_F(ModbusServerTest, CommunicationLossDropsConnectionsUntilReachableAgain) {
  ASSERT_NO_FATAL_FAILURE(StartPlc("robot-2-ctrl"));
  uint16_t regs[2];
  ASSERT_EQ(modbus_read_input_registers(ctx_, 100, 2, regs), 2);
  server_->SetReachable(false);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(modbus_read_input_registers(ctx_, 100, 2, regs), -1);
  modbus_close(ctx_);
  // A new connection is accepted and closed at once.
  if (modbus_connect(ctx_) == 0) {
    EXPECT_EQ(modbus_read_input_registers(ctx_, 100, 2, regs), -1);
    modbus_close(ctx_);
  }
  server_->SetReachable(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(modbus_connect(ctx_), 0);
  EXPECT_EQ(modbus_read_input_registers(ctx_, 100, 2, regs), 2);
}

}  // namespace
}  // namespace shopfloor::sim
