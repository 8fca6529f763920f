// Discovery of tags from an OPC UA address space (discovery.h).
#include "connect/opcua/discovery.h"

#include <cmath>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

namespace shopfloor::connect::opcua {

namespace {

constexpr uint32_t kEuInformationBinary = 889;
constexpr uint32_t kHasSubtype = 45;
constexpr uint32_t kAttributeDescription = 5;
constexpr uint32_t kAttributeValueRank = 15;
constexpr uint32_t kAttributeAccessLevel = 17;
constexpr uint32_t kAttributeUserAccessLevel = 18;
constexpr uint8_t kCurrentWrite = 0x02;
// Abstract ns=0 data types that a concrete type may derive from (Part 6, NodeIds.csv).
constexpr uint32_t kNumber = 26, kInteger = 27, kUInteger = 28, kEnumeration = 29;

struct Candidate {
  NodeId node;
  std::string browse_path;
  std::vector<std::string> names;  // BrowseNames from the start
  std::optional<NodeId> eu_range;  // property nodes
  std::optional<NodeId> engineering_units;
};

// The tag type of a ns=0 built-in or abstract data type; nullopt with *reason when skipped.
std::optional<core::ValueType> TagTypeOf(uint32_t id, std::string* reason) {
  switch (id) {
    case 1: return core::ValueType::kBool;
    case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
    case kInteger: case kUInteger: case kEnumeration:
      return core::ValueType::kInt64;
    case 10: case 11: case kNumber: return core::ValueType::kDouble;
    case 12: case 13: case 14: case 16: case 17: case 18: case 19: case 20: case 21:
      return core::ValueType::kString;
    case 15: *reason = "ByteString has no tag type"; return std::nullopt;
    case 22: *reason = "a structure (ExtensionObject) has no tag type"; return std::nullopt;
    case 24: *reason = "BaseDataType (any type) has no tag type"; return std::nullopt;
    default: *reason = fmt::format("data type i={} has no tag type", id); return std::nullopt;
  }
}

bool IsMappedBase(const NodeId& id) {
  return id.namespace_index == 0 && id.id_type == IdType::kNumeric && id.numeric >= 1 && id.numeric <= kEnumeration;
}

std::string TypeName(uint32_t id) {
  if (id <= kMaxBuiltinType) return std::string(BuiltinTypeName(static_cast<BuiltinType>(id)));
  switch (id) {
    case kNumber: return "Number";
    case kInteger: return "Integer";
    case kUInteger: return "UInteger";
    case kEnumeration: return "Enumeration";
  }
  return fmt::format("i={}", id);
}

// Follows HasSubtype (inverse) from `type` to a ns=0 type TagTypeOf knows; cached.
class TypeResolver {
 public:
  explicit TypeResolver(Client& client) : client_(client) {}
  core::Result<NodeId> BaseOf(const NodeId& type) {
    NodeId current = type;
    for (int hop = 0; hop < 16 && !IsMappedBase(current); ++hop) {
      const std::string key = current.ToString();
      auto cached = cache_.find(key);
      if (cached != cache_.end()) return cached->second;
      SF_ASSIGN_OR_RETURN(auto parents, client_.Browse(current, NodeId::Numeric(0, kHasSubtype), 1));
      if (parents.empty()) break;
      current = parents[0].node_id.node_id;
    }
    cache_[type.ToString()] = current;
    return current;
  }

 private:
  Client& client_;
  std::map<std::string, NodeId> cache_;
};

std::string SanitizedName(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += '.';
    for (char c : name) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-';
      out += ok ? c : '_';
    }
  }
  if (out.size() > 120) out.resize(120);
  if (out.empty() || out == "." || out == "..") out = "_";
  return out;
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string CommentSafe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

const Variant* ScalarValue(const DataValue& dv) {
  if ((dv.status_code() & 0x80000000u) || !dv.value || dv.value->is_array) return nullptr;
  return &*dv.value;
}

}  // namespace

core::Status DecodeEuInformation(const ExtensionObject& object, EuInformation* info) {
  if (object.type_id != NodeId::Numeric(0, kEuInformationBinary) ||
      object.encoding != ExtensionObject::Encoding::kBinary) {
    return core::Status::InvalidArgument(
        fmt::format("EngineeringUnits: an ExtensionObject of type {} where an EUInformation (i={}) was expected",
                    object.type_id.ToString(), kEuInformationBinary));
  }
  Decoder d(object.body);
  SF_RETURN_IF_ERROR(d.String(&info->namespace_uri));
  SF_RETURN_IF_ERROR(d.Int32(&info->unit_id));
  SF_RETURN_IF_ERROR(Decode(d, &info->display_name));
  return Decode(d, &info->description);
}

core::Result<Discovery> Discover(Client& client, const DiscoveryOptions& options) {
  if (options.depth < 1) return core::Status::InvalidArgument("discovery: depth must be at least 1");
  struct Pending {
    NodeId node;
    std::vector<std::string> names;
    std::string browse_path;
    int depth = 0;          // levels below start
    bool variable = false;
  };
  Discovery discovery;
  std::vector<Candidate> candidates;
  std::set<std::string> visited{options.start.ToString()};
  std::deque<Pending> queue{{options.start, {}, "", 0, false}};
  size_t browsed = 0;
  while (!queue.empty()) {
    Pending at = std::move(queue.front());
    queue.pop_front();
    if (++browsed > options.max_nodes) {
      discovery.truncated = true;
      break;
    }
    if (!at.variable && at.depth >= options.depth) continue;  // nothing below would be kept
    SF_ASSIGN_OR_RETURN(auto refs, client.Browse(at.node));
    Candidate* owner = nullptr;
    if (at.variable) {
      candidates.push_back(Candidate{at.node, at.browse_path, at.names, {}, {}});
      owner = &candidates.back();
    }
    for (const auto& ref : refs) {
      if (ref.node_id.server_index != 0 || !ref.node_id.namespace_uri.empty()) continue;  // another server
      const NodeId& child = ref.node_id.node_id;
      const bool property = ref.reference_type == NodeId::Numeric(0, kHasProperty);
      if (property) {
        if (owner && ref.browse_name.namespace_index == 0 && ref.browse_name.name == "EURange") owner->eu_range = child;
        if (owner && ref.browse_name.namespace_index == 0 && ref.browse_name.name == "EngineeringUnits") {
          owner->engineering_units = child;
        }
        continue;  // properties are metadata, not tags
      }
      if (ref.node_class != NodeClass::kObject && ref.node_class != NodeClass::kVariable) continue;
      if (child.namespace_index == 0 && !options.include_namespace0) continue;
      // A variable is browsed one level further for its properties even at the last level.
      const bool variable = ref.node_class == NodeClass::kVariable;
      if (at.depth + 1 > options.depth) continue;
      if (!visited.insert(child.ToString()).second) continue;
      Pending next{child, at.names, at.browse_path, at.depth + 1, variable};
      next.names.push_back(ref.browse_name.name);
      next.browse_path += (next.browse_path.empty() ? "" : "/") + ref.browse_name.ToString();
      queue.push_back(std::move(next));
    }
  }

  // One Read for every attribute and property value needed.
  constexpr size_t kPerCandidate = 7;
  std::vector<ReadValueId> reads;
  reads.reserve(candidates.size() * kPerCandidate);
  for (const Candidate& c : candidates) {
    reads.push_back({c.node, kAttributeDataType});
    reads.push_back({c.node, kAttributeValueRank});
    reads.push_back({c.node, kAttributeAccessLevel});
    reads.push_back({c.node, kAttributeUserAccessLevel});
    reads.push_back({c.node, kAttributeDescription});
    // Absent properties read the candidate's own DataType again; the result is ignored.
    reads.push_back({c.eu_range.value_or(c.node), c.eu_range ? kAttributeValue : kAttributeDataType});
    reads.push_back({c.engineering_units.value_or(c.node), c.engineering_units ? kAttributeValue : kAttributeDataType});
  }
  std::vector<DataValue> values;
  if (!reads.empty()) {
    SF_ASSIGN_OR_RETURN(values, client.Read(reads));
  }
  TypeResolver resolver(client);
  std::set<std::string> names;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const DataValue* v = &values[i * kPerCandidate];
    auto skip = [&](std::string reason) { discovery.skipped.push_back({c.node, c.browse_path, std::move(reason)}); };
    const Variant* data_type = ScalarValue(v[0]);
    if (!data_type || !std::holds_alternative<NodeId>(data_type->scalar)) {
      skip(fmt::format("its DataType cannot be read ({})", StatusCodeName(v[0].status_code())));
      continue;
    }
    const Variant* rank = ScalarValue(v[1]);
    if (rank && std::holds_alternative<int32_t>(rank->scalar) && std::get<int32_t>(rank->scalar) != -1) {
      skip(fmt::format("not a scalar (ValueRank {})", std::get<int32_t>(rank->scalar)));
      continue;
    }
    SF_ASSIGN_OR_RETURN(NodeId base, resolver.BaseOf(std::get<NodeId>(data_type->scalar)));
    std::string reason;
    std::optional<core::ValueType> type;
    if (IsMappedBase(base)) {
      type = TagTypeOf(base.numeric, &reason);
    } else {
      reason = fmt::format("data type {} does not derive from a built-in type",
                           std::get<NodeId>(data_type->scalar).ToString());
    }
    if (!type) {
      skip(reason);
      continue;
    }
    DiscoveredTag tag;
    tag.node = c.node;
    tag.browse_path = c.browse_path;
    tag.data_type = TypeName(base.numeric);
    tag.type = *type;
    tag.name = SanitizedName(c.names);
    for (int suffix = 2; !names.insert(tag.name).second; ++suffix) {
      tag.name = fmt::format("{}_{}", SanitizedName(c.names), suffix);
    }
    const Variant* user_access = ScalarValue(v[3]);
    const Variant* access = ScalarValue(v[2]);
    const Variant* level = user_access && std::holds_alternative<uint8_t>(user_access->scalar) ? user_access : access;
    tag.writable = level && std::holds_alternative<uint8_t>(level->scalar) &&
                   (std::get<uint8_t>(level->scalar) & kCurrentWrite) != 0;
    if (const Variant* description = ScalarValue(v[4]);
        description && std::holds_alternative<LocalizedText>(description->scalar)) {
      tag.description = std::get<LocalizedText>(description->scalar).text;
    }
    const bool numeric = tag.type == core::ValueType::kDouble || tag.type == core::ValueType::kInt64;
    if (const Variant* range = c.eu_range ? ScalarValue(v[5]) : nullptr;
        numeric && range && std::holds_alternative<ExtensionObject>(range->scalar)) {
      EuRange decoded;
      if (DecodeEuRange(std::get<ExtensionObject>(range->scalar), &decoded).ok() && std::isfinite(decoded.low) &&
          std::isfinite(decoded.high) && decoded.low <= decoded.high) {
        tag.range = decoded;
      }
    }
    if (const Variant* units = c.engineering_units ? ScalarValue(v[6]) : nullptr;
        units && std::holds_alternative<ExtensionObject>(units->scalar)) {
      EuInformation info;
      if (DecodeEuInformation(std::get<ExtensionObject>(units->scalar), &info).ok()) {
        tag.unit = !info.display_name.text.empty() ? info.display_name.text : info.description.text;
      }
    }
    discovery.tags.push_back(std::move(tag));
  }
  return discovery;
}

std::string DiscoveryToYaml(const Discovery& discovery, std::string_view source) {
  std::string out = "tags:\n";
  if (discovery.tags.empty()) out = "tags: []\n";
  for (const DiscoveredTag& tag : discovery.tags) {
    out += fmt::format("  - name: {}\n", Quoted(tag.name));
    out += fmt::format("    type: {}\n", core::ValueTypeName(tag.type));
    if (!tag.unit.empty()) out += fmt::format("    unit: {}\n", Quoted(tag.unit));
    if (tag.range) out += fmt::format("    range: [{}, {}]\n", tag.range->low, tag.range->high);
    if (!tag.description.empty()) out += fmt::format("    description: {}\n", Quoted(tag.description));
    if (tag.writable) out += "    writable: true\n";
    out += "    binding: {";
    if (!source.empty()) out += fmt::format("source: {}, ", Quoted(source));
    out += fmt::format("address: {}}}  # {} {}\n", Quoted(tag.node.ToString()), tag.data_type,
                       CommentSafe(tag.browse_path));
  }
  for (const SkippedVariable& skipped : discovery.skipped) {
    out += fmt::format("# skipped {} ({}): {}\n", skipped.node.ToString(), CommentSafe(skipped.browse_path),
                       CommentSafe(skipped.reason));
  }
  if (discovery.truncated) out += "# stopped early: the browse budget was used up; narrow it with --node\n";
  return out;
}

}  // namespace shopfloor::connect::opcua
