// The Simulator runner: accelerated time, the PLCs it serves, setpoints through With/Write.
#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <modbus/modbus.h>

#include <chrono>
#include <thread>

#include "model/plant_config.h"

namespace shopfloor::sim {
namespace {

model::PlantConfig DemoConfig() {
  std::vector<core::Status> problems;
  auto config = model::LoadPlantConfigFile(core::Env::Posix(),
                                           std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", &problems);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? std::move(config).value() : model::PlantConfig{};
}

SimulatorOptions FreePorts(const model::PlantConfig& config) {
  SimulatorOptions options;
  for (const auto& s : config.sources) {
    if (s.protocol == model::Protocol::kModbus) options.modbus_listen[s.name] = "127.0.0.1:0";
  }
  return options;
}

TEST(SimulatorTest, AcceleratedTimeRunsSpeedTimesFasterThanTheClock) {
  model::PlantConfig config = DemoConfig();
  SimulatorOptions options = FreePorts(config);
  options.speed = 600;
  options.factory.step = core::kSecond;
  options.factory.random_faults = false;
  auto sim = Simulator::Start(config, options, core::Clock::System());
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  const core::Timestamp t0 = (*sim)->status().sim_time;
  const auto wall0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto status = (*sim)->status();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double simulated = static_cast<double>(status.sim_time - t0) / core::kSecond;
  EXPECT_GT(simulated, 0.7 * 600 * wall) << "simulated " << simulated << " s in " << wall << " s";
  EXPECT_LT(simulated, 1.05 * 600 * wall);
  EXPECT_LT(status.lag, core::kSecond);
  EXPECT_EQ(status.modbus.size(), 4u);
}

TEST(SimulatorTest, ServesEveryModbusSourceAndAppliesSetpoints) {
  model::PlantConfig config = DemoConfig();
  SimulatorOptions options = FreePorts(config);
  options.factory.random_faults = false;
  auto sim = Simulator::Start(config, options, core::Clock::System());
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  const auto endpoints = (*sim)->modbus_endpoints();
  ASSERT_EQ(endpoints.size(), 4u);
  for (const auto& [name, endpoint] : endpoints) {
    SCOPED_TRACE(name);
    const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
    ASSERT_GT(port, 0);
    modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_set_slave(ctx, config.FindSource(name)->options.unit_id);
    ASSERT_EQ(modbus_connect(ctx), 0);
    uint16_t regs[2];
    const int reg = name == "utilities-plc" ? 0 : name == "body-shop-plc" ? 0 : 100;
    EXPECT_EQ(modbus_read_input_registers(ctx, reg, 2, regs), 2) << modbus_strerror(errno);
    modbus_close(ctx);
    modbus_free(ctx);
  }
  EXPECT_TRUE((*sim)->Write("pasteuriser", "temperature_setpoint", core::Value(70.0)).ok());
  EXPECT_FALSE((*sim)->Write("pasteuriser", "temperature_setpoint", core::Value(99.0)).ok());
  EXPECT_FALSE((*sim)->Write("pasteuriser", "zone1_temperature", core::Value(70.0)).ok()) << "not a setpoint";
  double setpoint = 0;
  (*sim)->With([&](Factory& f) { f.Read("pasteuriser", "temperature_setpoint")->value.ToNumber(&setpoint); });
  EXPECT_EQ(setpoint, 70.0);
}

TEST(SimulatorTest, RefusesABadSpeedAndAnUnusableEndpoint) {
  model::PlantConfig config = DemoConfig();
  SimulatorOptions options = FreePorts(config);
  options.speed = 0;
  EXPECT_FALSE(Simulator::Start(config, options, core::Clock::System()).ok());
  options = FreePorts(config);
  options.modbus_listen["utilities-plc"] = "no-port-here";
  auto sim = Simulator::Start(config, options, core::Clock::System());
  ASSERT_FALSE(sim.ok());
  EXPECT_NE(sim.status().message().find("utilities-plc"), std::string::npos) << sim.status().ToString();
}

}  // namespace
}  // namespace shopfloor::sim
