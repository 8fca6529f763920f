// `shopfloor opcua browse URL [--node N] [--depth D]`, `shopfloor opcua read URL NODE...`,
// `shopfloor opcua resolve URL PATH... [--ns N]` and
// `shopfloor opcua discover URL [--node N] [--depth D] [--source NAME]`: an engineer's quick
// check of an OPC UA server, and tags proposed for the plant config; SecurityPolicy None or
// Basic256Sha256 (`--security Basic256Sha256 --mode SignAndEncrypt --data DIR`).
// `shopfloor opcua certs` lists the client's certificate and the trusted and rejected server
// certificates; `shopfloor opcua trust THUMBPRINT|FILE` trusts one.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/commands.h"
#include "connect/opcua/client.h"
#include "connect/opcua/pki.h"
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
  std::string security = "None";
  std::string mode;  // default: None for policy None, else SignAndEncrypt
  std::string data_dir;
  std::string pki_dir;
  std::string certificate;  // trust: thumbprint or file
  int default_namespace = 0;  // resolve: namespace of names without a prefix
  std::string source;         // discover: the binding source name
  int discover_depth = 4;     // discover: Objects/Plant/Line/Machine/Variable is common
};

// The certificate store: --pki, else <--data>/pki/opcua (where `shopfloor serve` keeps it).
std::string PkiDir(const OpcUaArgs& args) {
  if (!args.pki_dir.empty()) return args.pki_dir;
  if (!args.data_dir.empty()) return args.data_dir + "/pki/opcua";
  return "";
}

core::Result<std::unique_ptr<opcua::Client>> ConnectClient(const OpcUaArgs& args) {
  opcua::ClientOptions options;
  options.endpoint_url = args.url;
  options.username = args.username;
  options.password = args.password;
  if (!args.username.empty() && options.password.empty()) {
    // Kept off the command line (visible to every user in `ps`) when possible.
    if (const char* env = std::getenv("SHOPFLOOR_OPCUA_PASSWORD")) options.password = env;
  }
  options.timeout = static_cast<core::Duration>(args.timeout_s * core::kSecond);
  options.security_policy = args.security;
  options.security_mode = !args.mode.empty() ? args.mode : (args.security == "None" ? "None" : "SignAndEncrypt");
  options.pki_dir = PkiDir(args);
  if (options.security_policy != "None" && options.pki_dir.empty()) {
    return core::Status::InvalidArgument("--security " + args.security + " needs --data DIR or --pki DIR for the certificates");
  }
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

int RunCerts(const OpcUaArgs& args) {
  const std::string dir = PkiDir(args);
  auto pki = opcua::Pki::Open(dir, core::Clock::System()->Now());
  if (!pki.ok()) {
    std::fprintf(stderr, "opcua certs: %s\n", pki.status().ToString().c_str());
    return 1;
  }
  const auto& own = (*pki)->certificate();
  std::printf("own       %s  %s  %s  until %s\n", opcua::crypto::Hex(own.thumbprint()).c_str(), own.subject().c_str(),
              own.application_uri().c_str(), core::FormatTimestamp(own.not_after()).c_str());
  std::printf("          %s/own/certs/shopfloor.der (give this to servers that must trust Shopfloor)\n", dir.c_str());
  auto entries = opcua::Pki::List(dir);
  if (!entries.ok()) {
    std::fprintf(stderr, "opcua certs: %s\n", entries.status().ToString().c_str());
    return 1;
  }
  for (const auto& e : *entries) {
    std::printf("%-9s %s  %s  %s  until %s\n", e.trusted ? "trusted" : "rejected", e.thumbprint.c_str(),
                e.subject.c_str(), e.application_uri.c_str(), core::FormatTimestamp(e.not_after).c_str());
  }
  return 0;
}

int RunTrust(const OpcUaArgs& args) {
  auto entry = opcua::Pki::Trust(PkiDir(args), args.certificate);
  if (!entry.ok()) {
    std::fprintf(stderr, "opcua trust: %s\n", entry.status().ToString().c_str());
    return 1;
  }
  std::printf("trusted %s  %s  %s\n", entry->thumbprint.c_str(), entry->subject.c_str(), entry->application_uri.c_str());
  return 0;
}

void AddPkiOptions(CLI::App* cmd, OpcUaArgs* args) {
  CLI::Option* data = cmd->add_option("--data", args->data_dir, "Data directory (certificates in DIR/pki/opcua)");
  CLI::Option* pki = cmd->add_option("--pki", args->pki_dir, "Certificate store directory (instead of --data)");
  data->excludes(pki);
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
  cmd->add_option("--password", args->password,
                  "Password for --user (default: the SHOPFLOOR_OPCUA_PASSWORD environment variable)");
  cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for each answer")->capture_default_str();
  cmd->add_option("--security", args->security, "Security policy")
      ->check(CLI::IsMember({"None", "Basic256Sha256"}))
      ->capture_default_str();
  cmd->add_option("--mode", args->mode, "Security mode (default: SignAndEncrypt unless the policy is None)")
      ->check(CLI::IsMember({"None", "Sign", "SignAndEncrypt"}));
  AddPkiOptions(cmd, args);
}

}  // namespace

void AddOpcUaCommand(CLI::App& app, int* exit_code) {
  CLI::App* opcua_cmd = app.add_subcommand("opcua", "Quick checks of an OPC UA server, and its certificates");
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

  CLI::App* certs = opcua_cmd->add_subcommand(
      "certs", "Show the client certificate (created on first use) and the trusted and rejected server certificates");
  AddPkiOptions(certs, args.get());
  certs->callback([args, exit_code] {
    if (PkiDir(*args).empty()) {
      std::fprintf(stderr, "opcua certs: give --data DIR or --pki DIR\n");
      *exit_code = 2;
      return;
    }
    *exit_code = RunCerts(*args);
  });

  CLI::App* trust = opcua_cmd->add_subcommand(
      "trust", "Trust a server certificate: a rejected one by its SHA-1 thumbprint (8+ hex digits), or a DER file");
  AddPkiOptions(trust, args.get());
  trust->add_option("CERTIFICATE", args->certificate, "Thumbprint (prefix) of a rejected certificate, or a .der file")
      ->required();
  trust->callback([args, exit_code] {
    if (PkiDir(*args).empty()) {
      std::fprintf(stderr, "opcua trust: give --data DIR or --pki DIR\n");
      *exit_code = 2;
      return;
    }
    *exit_code = RunTrust(*args);
  });
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
