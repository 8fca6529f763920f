// `shopfloor opcua browse URL [--node N] [--depth D]`, `shopfloor opcua read URL NODE...`,
// `shopfloor opcua resolve URL PATH... [--ns N]` and
// `shopfloor opcua discover URL [--node N] [--depth D] [--source NAME]`: an engineer's quick
// check of an OPC UA server (SecurityPolicy None), and tags proposed for the plant config.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/commands.h"
#include "connect/opcua/client.h"
#include "connect/opcua/discovery.h"

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
  int default_namespace = 0;  // resolve: namespace of names without a prefix
  std::string source;         // discover: the binding source name
  int discover_depth = 4;     // discover: Objects/Plant/Line/Machine/Variable is common
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

int RunResolve(const OpcUaArgs& args) {
  std::vector<opcua::BrowsePath> paths;
  for (const auto& text : args.nodes) {
    auto path = opcua::ParseBrowsePath(text, static_cast<uint16_t>(args.default_namespace));
    if (!path.ok()) {
      std::fprintf(stderr, "opcua resolve: \"%s\": %s\n", text.c_str(), path.status().ToString().c_str());
      return 2;
    }
    paths.push_back(std::move(*path));
  }
  auto client = ConnectClient(args);
  if (!client.ok()) {
    std::fprintf(stderr, "opcua resolve %s: %s\n", args.url.c_str(), client.status().ToString().c_str());
    return 1;
  }
  auto results = (*client)->TranslateBrowsePaths(paths);
  (*client)->Close().IgnoreError();
  if (!results.ok()) {
    std::fprintf(stderr, "opcua resolve %s: %s\n", args.url.c_str(), results.status().ToString().c_str());
    return 1;
  }
  int bad = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& result = (*results)[i];
    if ((result.status & 0x80000000u) || result.targets.empty()) {
      ++bad;
      std::printf("%s  %s\n", args.nodes[i].c_str(), opcua::StatusCodeName(result.status).c_str());
      continue;
    }
    for (const auto& target : result.targets) {
      std::printf("%s  %s%s\n", args.nodes[i].c_str(), target.target.ToString().c_str(),
                  target.remaining_path_index == 0xFFFFFFFFu
                      ? ""
                      : fmt::format("  (remaining path from element {})", target.remaining_path_index).c_str());
    }
  }
  return bad ? 3 : 0;
}

int RunDiscover(const OpcUaArgs& args) {
  auto node = opcua::ParseNodeId(args.node);
  if (!node.ok()) {
    std::fprintf(stderr, "opcua discover: %s\n", node.status().ToString().c_str());
    return 2;
  }
  auto client = ConnectClient(args);
  if (!client.ok()) {
    std::fprintf(stderr, "opcua discover %s: %s\n", args.url.c_str(), client.status().ToString().c_str());
    return 1;
  }
  opcua::DiscoveryOptions options;
  options.start = *node;
  options.depth = args.discover_depth;
  auto discovery = opcua::Discover(**client, options);
  (*client)->Close().IgnoreError();
  if (!discovery.ok()) {
    std::fprintf(stderr, "opcua discover %s: %s\n", args.url.c_str(), discovery.status().ToString().c_str());
    return 1;
  }
  std::printf("# %zu tags discovered on %s under %s (depth %d); %zu variables skipped.\n"
              "# Paste the list under a machine's or an asset type's \"tags:\" and indent it to match.\n%s",
              discovery->tags.size(), args.url.c_str(), node->ToString().c_str(), args.discover_depth,
              discovery->skipped.size(), opcua::DiscoveryToYaml(*discovery, args.source).c_str());
  return 0;
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

  CLI::App* resolve = opcua_cmd->add_subcommand(
      "resolve", "Translate browse paths to NodeIds (TranslateBrowsePathsToNodeIds); exit 3 if any has no match");
  AddConnectionOptions(resolve, args.get());
  resolve->add_option("PATH", args->nodes,
                      "Paths such as /0:Objects/2:Plant/2:Abs (from Root) or 2:Plant/2:Abs (from Objects); "
                      "see docs/opcua.md")
      ->required();
  resolve->add_option("--ns", args->default_namespace, "Namespace index of names without a prefix")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  resolve->callback([args, exit_code] { *exit_code = RunResolve(*args); });

  CLI::App* discover = opcua_cmd->add_subcommand(
      "discover", "Propose tags for the variables under a node, as YAML for the plant config (see docs/opcua.md)");
  AddConnectionOptions(discover, args.get());
  discover->add_option("--node", args->node, "Start node (default: the Objects folder)")->capture_default_str();
  discover->add_option("--depth", args->discover_depth, "Levels to descend")->capture_default_str()->check(CLI::Range(1, 64));
  discover->add_option("--source", args->source, "Source name for the bindings (default: none, the asset's source)");
  discover->callback([args, exit_code] { *exit_code = RunDiscover(*args); });
}

}  // namespace shopfloor::app
