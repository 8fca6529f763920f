// TranslateBrowsePathsToNodeIds (Part 4, 5.8.4): the request and result types, the text
// form of a relative path, and the response decoder. The service is a Client method
// (client.h, Client::TranslateBrowsePaths).
//
// Text form (a subset of Part 4, Annex A.2):
//
//   path      := ["/"] element (separator element)*     (a leading "/" starts at Root)
//   element   := [ns ":"] name
//   separator := "/"        HierarchicalReferences (i=33), forward, with subtypes
//              | "."        Aggregates (i=44), forward, with subtypes
//              | "<" ["#"] ["!"] RefName ">"
//                           a named ns=0 reference type: Organizes, HasComponent,
//                           HasProperty, HasChild, Aggregates, HierarchicalReferences,
//                           HasOrderedComponent, HasNotifier, HasEventSource, HasSubtype;
//                           "#" excludes subtypes, "!" follows the reference inversely
//
// A path starting with "/" starts at the Root folder (i=84), so "/Objects/1:Plant" names
// Objects then Plant. A path without a leading "/" starts at the Objects folder (i=85):
// "1:Plant/1:Deadband/1:Abs". A name without a namespace prefix is in
// `default_namespace` (0 as in Annex A.2 unless the caller says otherwise). "&" escapes the
// next character, so names may contain "/", ".", "<", ">", ":", "#", "!" and "&".
// An empty name, a missing ">", an unknown reference type, a namespace that is not a
// number below 65536, or a trailing "&" is refused (kInvalidArgument) naming the 1-based
// character position.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connect/opcua/binary.h"
#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {

inline constexpr uint32_t kRootFolder = 84;
inline constexpr uint32_t kAggregates = 44;
inline constexpr uint32_t kMaxNodesPerTranslateNode = 11712;

struct RelativePathElement {
  NodeId reference_type = NodeId::Numeric(0, 33);  // HierarchicalReferences
  bool is_inverse = false;
  bool include_subtypes = true;
  QualifiedName target_name;
};

struct BrowsePath {
  NodeId starting_node = NodeId::Numeric(0, 85);  // Objects
  std::vector<RelativePathElement> elements;
};

struct BrowsePathTarget {
  ExpandedNodeId target;
  // 0xFFFFFFFF when the whole path was followed; otherwise the index of the first element
  // not processed (the target is in another server).
  uint32_t remaining_path_index = 0xFFFFFFFFu;
};

struct BrowsePathResult {
  uint32_t status = 0;  // e.g. BadNoMatch when an element has no match
  std::vector<BrowsePathTarget> targets;
};

// Parses the text form above. Errors name the 1-based character position.
core::Result<BrowsePath> ParseBrowsePath(std::string_view text, uint16_t default_namespace = 0);
// The text form of a path (inverse of ParseBrowsePath for paths it can express).
std::string BrowsePathToString(const BrowsePath& path);

// The response body after the header: BrowsePathResult[] then DiagnosticInfo[].
core::Status DecodeBrowsePathResults(Decoder& d, std::vector<BrowsePathResult>* results);

}  // namespace shopfloor::connect::opcua
