// Discovery: browse an OPC UA server (or a subtree) and propose Shopfloor tags for its
// Variables, as a YAML fragment for the plant configuration (`tags:` of a machine or an
// asset type; docs/configuration.md).
//
// For every Variable found under the start node (hierarchical references, forward, up to
// `depth` levels; properties - HasProperty children - are metadata, not tags):
//   type      from the DataType attribute, following HasSubtype up to a built-in type:
//             Boolean -> bool; SByte..UInt64, Integer, UInteger, Enumeration -> int64;
//             Float, Double, Number -> double; String, LocalizedText, DateTime, Guid,
//             NodeId, QualifiedName, StatusCode, XmlElement -> string. ByteString,
//             structures (ExtensionObject), BaseDataType and non-scalars (ValueRank other
//             than -1) are skipped, each with its reason.
//   unit      the EngineeringUnits property (an EUInformation): its displayName text, else
//             its description text
//   range     the EURange property (numeric tags only; dropped when not finite or low > high)
//   writable  the UserAccessLevel (else AccessLevel) has CurrentWrite
//   binding   the NodeId in text form (namespace indexes are the server's)
//   name      the BrowseNames from the start node joined with "." ("Deadband.Pct"),
//             characters outside [A-Za-z0-9_.-] replaced by "_", made unique with "_2", ...
// Nodes in namespace 0 (the Server object and its diagnostics) are not descended into
// unless include_namespace0; the start node itself always is.
//
// Not thread-safe (it drives one Client).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connect/opcua/client.h"
#include "core/types.h"

namespace shopfloor::connect::opcua {

struct DiscoveryOptions {
  NodeId start = NodeId::Numeric(0, kObjectsFolder);
  int depth = 3;                  // levels below start (>= 1)
  bool include_namespace0 = false;
  size_t max_nodes = 100'000;     // browse budget; the result says when it ran out
};

struct DiscoveredTag {
  std::string name;
  NodeId node;
  std::string browse_path;        // BrowseNames from the start, "1:Deadband/1:Pct"
  std::string data_type;          // the OPC UA type it was mapped from, e.g. "Double"
  core::ValueType type = core::ValueType::kDouble;
  std::string unit;
  std::optional<EuRange> range;
  bool writable = false;
  std::string description;
};

struct SkippedVariable {
  NodeId node;
  std::string browse_path;
  std::string reason;
};

struct Discovery {
  std::vector<DiscoveredTag> tags;
  std::vector<SkippedVariable> skipped;
  bool truncated = false;  // max_nodes was reached
};

core::Result<Discovery> Discover(Client& client, const DiscoveryOptions& options);

// The YAML fragment: a "tags:" list (column 0) of the discovered tags, each with a binding
// {source, address} (source omitted when empty: the asset's default source applies), then
// the skipped variables as comments. ParsePlantConfig accepts it under a machine.
std::string DiscoveryToYaml(const Discovery& discovery, std::string_view source);

// EUInformation (Part 8, 5.6.3).
struct EuInformation {
  std::string namespace_uri;
  int32_t unit_id = 0;
  LocalizedText display_name;
  LocalizedText description;
};
// The body of an EUInformation ExtensionObject (binary encoding i=889).
core::Status DecodeEuInformation(const ExtensionObject& object, EuInformation* info);

}  // namespace shopfloor::connect::opcua
