// `shopfloor opcua browse URL [--node N] [--depth D]` and `shopfloor opcua read URL NODE...`:
// an engineer's quick check of an OPC UA server (SecurityPolicy None).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/commands.h"
#include "connect/opcua/client.h"

namespace shopfloor::app {

namespace {

namespace opcua = connect::opcua;

struct OpcUaArgs {
  std::string url;
  std::string node = "i=85";
  int depth = 2;
  std::vector<std::string> nodes;
  std::string username;
  std::string password;
  double timeout_s = 10;
};

core::Result<std::unique_ptr<opcua::Client>> ConnectClient(const OpcUaArgs& args) {
  opcua::ClientOptions options;
  options.endpoint_url = args.url;
  options.username = args.username;
  options.password = args.password;
  options.timeout = static_cast<core::Duration>(args.timeout_s * core::kSecond);
  return opcua::Client::Connect(options);
}

std::string DataTypeName(const opcua::DataValue& dv) {
  if (dv.status_code() != 0 || !dv.value || !std::holds_alternative<opcua::NodeId>(dv.value->scalar)) return "";
  const auto& id = std::get<opcua::NodeId>(dv.value->scalar);
  if (id.namespace_index == 0 && id.id_type == opcua::IdType::kNumeric && id.numeric >= 1 &&
      id.numeric <= opcua::kMaxBuiltinType) {
    return std::string(opcua::BuiltinTypeName(static_cast<opcua::BuiltinType>(id.numeric)));
  }
  return id.ToString();
}

core::Status BrowseTree(opcua::Client& client, const opcua::NodeId& node, int depth, int indent) {
  SF_ASSIGN_OR_RETURN(auto refs, client.Browse(node));
  std::vector<opcua::ReadValueId> types;
  for (const auto& ref : refs) {
    if (ref.node_class == opcua::NodeClass::kVariable) {
      types.push_back({ref.node_id.node_id, opcua::kAttributeDataType});
    }
  }
  std::vector<opcua::DataValue> type_values;
  if (!types.empty()) {
    SF_ASSIGN_OR_RETURN(type_values, client.Read(types));
  }
  size_t next_type = 0;
  for (const auto& ref : refs) {
    std::string type;
    if (ref.node_class == opcua::NodeClass::kVariable) type = DataTypeName(type_values[next_type++]);
    std::printf("%*s%s  %s  %s%s%s\n", indent * 2, "", ref.node_id.ToString().c_str(),
                ref.browse_name.ToString().c_str(), std::string(opcua::NodeClassName(ref.node_class)).c_str(),
                type.empty() ? "" : "  ", type.c_str());
    if (depth > 1 && ref.node_id.server_index == 0 && ref.node_id.namespace_uri.empty()) {
      SF_RETURN_IF_ERROR(BrowseTree(client, ref.node_id.node_id, depth - 1, indent + 1));
    }
  }
  return core::Status::OK();
}

std::string FormatTicks(const std::optional<int64_t>& ticks) {
  if (!ticks || *ticks == 0) return "-";
  return core::FormatTimestamp(opcua::UaTicksToTimestamp(*ticks));
}

int RunBrowse(const OpcUaArgs& args) {
  auto node = opcua::ParseNodeId(args.node);
  if (!node.ok()) {
    std::fprintf(stderr, "opcua browse: %s\n", node.status().ToString().c_str());
    return 2;
  }
  auto client = ConnectClient(args);
  if (!client.ok()) {
    std::fprintf(stderr, "opcua browse %s: %s\n", args.url.c_str(), client.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", node->ToString().c_str());
  core::Status s = BrowseTree(**client, *node, args.depth, 1);
  (*client)->Close().IgnoreError();
  if (!s.ok()) {
    std::fprintf(stderr, "opcua browse %s: %s\n", args.url.c_str(), s.ToString().c_str());
    return 1;
  }
  return 0;
}

int RunRead(const OpcUaArgs& args) {
  std::vector<opcua::ReadValueId> items;
  for (const auto& text : args.nodes) {
    auto node = opcua::ParseNodeId(text);
    if (!node.ok()) {
      std::fprintf(stderr, "opcua read: %s\n", node.status().ToString().c_str());
      return 2;
    }
    items.push_back({*node, opcua::kAttributeValue});
  }
  auto client = ConnectClient(args);
  if (!client.ok()) {
    std::fprintf(stderr, "opcua read %s: %s\n", args.url.c_str(), client.status().ToString().c_str());
    return 1;
  }
  auto values = (*client)->Read(items);
  (*client)->Close().IgnoreError();
  if (!values.ok()) {
    std::fprintf(stderr, "opcua read %s: %s\n", args.url.c_str(), values.status().ToString().c_str());
    return 1;
  }
  int bad = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& dv = (*values)[i];
    if (dv.status_code() & 0x80000000u) ++bad;
    std::printf("%s  %s  status=%s  source=%s  server=%s\n", items[i].node_id.ToString().c_str(),
                dv.value ? dv.value->ToString().c_str() : "Null",
                opcua::StatusCodeName(dv.status_code()).c_str(), FormatTicks(dv.source_timestamp).c_str(),
                FormatTicks(dv.server_timestamp).c_str());
  }
  return bad ? 3 : 0;
}

void AddConnectionOptions(CLI::App* cmd, OpcUaArgs* args) {
  cmd->add_option("URL", args->url, "opc.tcp://host:port")->required();
  cmd->add_option("--user", args->username, "User name (default: anonymous)");
  cmd->add_option("--password", args->password, "Password for --user");
  cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for each answer")->capture_default_str();
}

}  // namespace

void AddOpcUaCommand(CLI::App& app, int* exit_code) {
  CLI::App* opcua_cmd = app.add_subcommand("opcua", "Quick checks of an OPC UA server (SecurityPolicy None)");
  opcua_cmd->require_subcommand(1);
  auto args = std::make_shared<OpcUaArgs>();

  CLI::App* browse = opcua_cmd->add_subcommand(
      "browse", "Print the node tree: NodeId, BrowseName, NodeClass and, for variables, DataType");
  AddConnectionOptions(browse, args.get());
  browse->add_option("--node", args->node, "Start node (default: the Objects folder)")->capture_default_str();
  browse->add_option("--depth", args->depth, "Levels to descend")->capture_default_str()->check(CLI::Range(1, 64));
  browse->callback([args, exit_code] { *exit_code = RunBrowse(*args); });

  CLI::App* read = opcua_cmd->add_subcommand(
      "read", "Read values: type, value, StatusCode, source and server timestamps; exit 3 if any is Bad");
  AddConnectionOptions(read, args.get());
  read->add_option("NODEID", args->nodes, "NodeIds such as ns=2;s=Line1.Speed or i=2258")->required();
  read->callback([args, exit_code] { *exit_code = RunRead(*args); });
}

}  // namespace shopfloor::app
