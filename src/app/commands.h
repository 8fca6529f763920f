// Subcommand registration. Each Add*Command adds its subcommand(s) to the CLI and, when one
// of them runs, stores the process exit code in *exit_code.
#pragma once

namespace CLI {
class App;
}

namespace shopfloor::app {

void AddConfigCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddAdminCommand(CLI::App& app, int* exit_code);
// The user, token and audit subcommands of `admin` (cmd_admin_users.cc).
void AddAdminUserCommands(CLI::App* admin, int* exit_code);
// `admin devices ...`: MQTT device identities (cmd_admin_devices.cc).
void AddAdminDeviceCommands(CLI::App* admin, int* exit_code);
// `opcua browse` and `opcua read` (cmd_opcua.cc).
void AddOpcUaCommand(CLI::App& app, int* exit_code);
// `sim` (cmd_sim.cc) and `demo` (cmd_demo.cc): the factory simulator, alone or beside Shopfloor.
void AddSimCommand(CLI::App& app, int* exit_code);
void AddDemoCommand(CLI::App& app, int* exit_code);

}  // namespace shopfloor::app
