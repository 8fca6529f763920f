// The asset tree of the plant configuration: asset types, the ISA-95 levels, type
// inheritance of tags and the resolution of tag bindings to data sources.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "model/plant_schema.h"

namespace shopfloor::model::internal {
namespace {

using Need = MapReader::Need;
constexpr Need kRequired = MapReader::kRequired;

struct ChildList {
  std::string_view key;
  AssetLevel level;
};

// Which lists of children each level may hold, in the order they appear in `children`.
std::vector<ChildList> ChildListsOf(AssetLevel level) {
  switch (level) {
    case AssetLevel::kEnterprise: return {{"sites", AssetLevel::kSite}};
    case AssetLevel::kSite: return {{"areas", AssetLevel::kArea}};
    case AssetLevel::kArea: return {{"lines", AssetLevel::kLine}, {"machines", AssetLevel::kMachine}};
    case AssetLevel::kLine: return {{"cells", AssetLevel::kCell}, {"machines", AssetLevel::kMachine}};
    case AssetLevel::kCell: return {{"machines", AssetLevel::kMachine}};
    case AssetLevel::kMachine: return {};
  }
  return {};
}

MapReader OpenAsset(const YAML::Node& node, ConfigLocation fallback, AssetLevel level, Problems* problems) {
  std::string what(AssetLevelName(level));
  switch (level) {
    case AssetLevel::kEnterprise:
      return MapReader(node, fallback, what, {"name", "description", "timezone", "source", "tags", "sites"}, problems);
    case AssetLevel::kSite:
      return MapReader(node, fallback, what, {"name", "description", "source", "tags", "areas"}, problems);
    case AssetLevel::kArea:
      return MapReader(node, fallback, what, {"name", "description", "source", "tags", "lines", "machines"},
                       problems);
    case AssetLevel::kLine:
      return MapReader(node, fallback, what, {"name", "description", "source", "tags", "cells", "machines"},
                       problems);
    case AssetLevel::kCell:
      return MapReader(node, fallback, what, {"name", "description", "source", "tags", "machines"}, problems);
    case AssetLevel::kMachine:
      return MapReader(node, fallback, what, {"name", "description", "type", "source", "tags"}, problems);
  }
  return MapReader(node, fallback, what, {}, problems);
}

bool IsNumeric(core::ValueType type) { return type == core::ValueType::kDouble || type == core::ValueType::kInt64; }

std::vector<std::string> SourceNames(const TreeContext& context) {
  std::vector<std::string> names;
  for (const SourceConfig& source : *context.sources) names.push_back(source.name);
  return names;
}

bool SourceExists(const TreeContext& context, std::string_view name) {
  return std::any_of(context.sources->begin(), context.sources->end(),
                     [&](const SourceConfig& source) { return source.name == name; });
}

// The type's tag overridden field by field by the machine's own tag of the same name.
TagSpec Merge(const TagSpec& base, const TagSpec& own) {
  TagSpec merged = base;
  merged.location = own.location;
  merged.name_location = own.name_location;
  merged.type_written = merged.type_written || own.type_written;
  if (own.type_written) {
    merged.type = own.type;
    merged.type_location = own.type_location;
    merged.type_overridden = true;
  }
  if (own.unit) merged.unit = own.unit;
  if (own.description) merged.description = own.description;
  if (own.range) {
    merged.range = own.range;
    merged.range_location = own.range_location;
    merged.range_overridden = true;
  }
  if (own.deadband) {
    merged.deadband = own.deadband;
    merged.deadband_location = own.deadband_location;
    merged.deadband_overridden = true;
  }
  if (own.writable) {
    merged.writable = own.writable;
    merged.writable_location = own.writable_location;
  }
  if (own.has_binding) merged.has_binding = true;
  if (own.source) {
    merged.source = own.source;
    merged.source_location = own.source_location;
  }
  if (own.address) {
    merged.address = own.address;
    merged.address_location = own.address_location;
  }
  return merged;
}

// Turns a (merged) spec into the effective tag and checks what only the whole tag shows.
// `owner` is the asset (or asset type) the tag belongs to; `inherited_unchanged` marks a
// type's tag the machine did not mention, whose problems are reported at the machine.
std::optional<TagConfig> Finalize(const TagSpec& spec, const MapReader& owner, bool is_template,
                                  const std::string& default_source, bool inherited_unchanged,
                                  const TreeContext& context) {
  Problems* problems = context.problems;
  std::string what = fmt::format("tag \"{}\"", spec.name);
  bool ok = true;
  if (!spec.type) {
    // An invalid "type" was already reported where it is written.
    if (!spec.type_written) problems->Add(spec.location, fmt::format("{}: missing required key \"type\"", what));
    return std::nullopt;
  }
  if (!IsNumeric(*spec.type)) {
    std::string_view type_name = core::ValueTypeName(*spec.type);
    auto numeric_only = [&](std::string_view key, ConfigLocation field_location, bool field_overridden) {
      ConfigLocation where = spec.type_overridden && !field_overridden ? spec.type_location : field_location;
      problems->Add(where, fmt::format("{}: \"{}\" applies only to double and int64 tags (this tag is {})", what, key,
                                       type_name));
      ok = false;
    };
    if (spec.range) numeric_only("range", spec.range_location, spec.range_overridden);
    if (spec.deadband) numeric_only("deadband", spec.deadband_location, spec.deadband_overridden);
  }
  // A writable tag without a binding is written through an MQTT command (docs/mqtt.md).
  TagConfig tag;
  if (spec.has_binding) {
    TagBinding binding;
    binding.address = spec.address.value_or("");
    if (spec.source) {
      binding.source = *spec.source;
      if (!SourceExists(context, *spec.source)) {
        problems->Add(spec.source_location,
                      fmt::format("{} binding: \"source\" names unknown source \"{}\" ({})", what, *spec.source,
                                  KnownNames(SourceNames(context))));
        ok = false;
      }
    } else if (!default_source.empty()) {
      binding.source = default_source;  // known: checked where the default was set
    } else if (!is_template) {
      if (inherited_unchanged) {
        problems->Add(owner.location(),
                           fmt::format("{}: tag \"{}\" (from its asset type) has a binding without \"source\" and "
                                       "no default \"source\" is set on this asset or its parents",
                                       owner.what(), spec.name));
      } else {
        problems->Add(spec.location, fmt::format("{}: the binding has no \"source\" and no default \"source\" is "
                                                 "set on {} or its parents",
                                                 what, owner.what()));
      }
      ok = false;
    }
    tag.binding = std::move(binding);
  }
  if (!ok) return std::nullopt;
  tag.name = spec.name;
  tag.type = *spec.type;
  tag.unit = spec.unit.value_or("");
  tag.range = spec.range;
  tag.description = spec.description.value_or("");
  tag.deadband = spec.deadband.value_or(0.0);
  tag.writable = spec.writable.value_or(false);
  tag.location = spec.location;
  tag.address_location = spec.address ? spec.address_location : spec.location;
  return tag;
}

// Reads the optional "source" default of an asset; checks it names a known source.
std::string ReadDefaultSource(MapReader& reader, const std::string& inherited, const TreeContext& context) {
  std::optional<std::string> source = reader.Name("source");
  if (!source) return inherited;
  if (!SourceExists(context, *source)) {
    reader.Problem("source", fmt::format("\"source\" names unknown source \"{}\" ({})", *source,
                                         KnownNames(SourceNames(context))));
    return inherited;
  }
  return *source;
}

class TreeParser {
 public:
  TreeParser(const std::vector<TypeSpec>& types, const TreeContext& context) : types_(types), context_(context) {}

  // Parses one asset; `name_location` receives where its name is written.
  std::optional<AssetConfig> Parse(const YAML::Node& node, ConfigLocation fallback, AssetLevel level,
                                   const std::string& parent_path, const std::string& parent_source,
                                   ConfigLocation* name_location, std::string* timezone) {
    MapReader reader = OpenAsset(node, fallback, level, context_.problems);
    if (!reader.valid()) return std::nullopt;
    AssetConfig asset;
    asset.level = level;
    asset.location = reader.location();
    std::optional<std::string> name = reader.ReadName();
    *name_location = reader.ValueLocation("name");
    asset.name = name.value_or("");
    asset.path = parent_path.empty() ? asset.name : parent_path + "/" + asset.name;
    asset.description = reader.String("description").value_or("");
    if (level == AssetLevel::kEnterprise) {
      if (auto zone = reader.String("timezone")) {
        if (IsValidTimeZoneName(*zone)) {
          *timezone = *zone;
        } else {
          reader.Problem("timezone", fmt::format("\"timezone\" must be an IANA time zone name such as "
                                                 "Europe/Berlin or UTC (got {})",
                                                 Quote(*zone)));
        }
      }
    }
    asset.default_source = ReadDefaultSource(reader, parent_source, context_);
    const TypeSpec* type = nullptr;
    if (level == AssetLevel::kMachine) type = ReadType(reader, &asset);
    ResolveTags(reader, type, &asset);

    std::vector<std::pair<std::string, ConfigLocation>> sibling_names;
    for (const ChildList& list : ChildListsOf(level)) {
      std::optional<YAML::Node> children =
          reader.Sequence(list.key, level == AssetLevel::kEnterprise ? kRequired : MapReader::kOptional);
      if (!children) continue;
      ForEachElement(*children, reader.ValueLocation(list.key), [&](const YAML::Node& element, size_t, ConfigLocation at) {
        ConfigLocation child_name_location;
        std::optional<AssetConfig> child =
            Parse(element, at, list.level, asset.path, asset.default_source, &child_name_location, timezone);
        if (!child) return;
        for (const auto& [sibling, sibling_location] : sibling_names) {
          if (sibling == child->name) {
            context_.problems->Add(child_name_location,
                                   fmt::format("{} \"{}\": duplicate asset name under {} (first at line {})",
                                               AssetLevelName(list.level), child->name, reader.what(),
                                               sibling_location.line));
            return;
          }
        }
        sibling_names.emplace_back(child->name, child_name_location);
        asset.children.push_back(std::move(*child));
      });
    }
    reader.Finish();
    if (!name) return std::nullopt;
    return asset;
  }

 private:
  static bool IsValidTimeZoneName(std::string_view zone) {
    if (zone.empty() || zone.size() > 64 || zone.front() == '/' || zone.back() == '/') return false;
    if (!((zone.front() >= 'A' && zone.front() <= 'Z') || (zone.front() >= 'a' && zone.front() <= 'z'))) return false;
    char previous = '\0';
    for (char c : zone) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                c == '+' || c == '/';
      if (!ok || (c == '/' && previous == '/')) return false;
      previous = c;
    }
    return true;
  }

  const TypeSpec* ReadType(MapReader& reader, AssetConfig* asset) {
    std::optional<std::string> type_name = reader.Name("type");
    if (!type_name) return nullptr;
    for (const TypeSpec& type : types_) {
      if (type.config.name == *type_name) {
        asset->type = *type_name;
        return &type;
      }
    }
    std::vector<std::string> known;
    for (const TypeSpec& type : types_) known.push_back(type.config.name);
    reader.Problem("type", fmt::format("\"type\" names unknown asset type \"{}\" ({})", *type_name, KnownNames(known)));
    return nullptr;
  }

  void ResolveTags(MapReader& reader, const TypeSpec* type, AssetConfig* asset) {
    std::vector<TagSpec> own = ParseTagList(reader, context_.problems);
    std::vector<bool> used(own.size(), false);
    if (type != nullptr) {
      for (const TagSpec& base : type->tags) {
        auto match = std::find_if(own.begin(), own.end(), [&](const TagSpec& tag) { return tag.name == base.name; });
        bool overridden = match != own.end();
        TagSpec merged = overridden ? Merge(base, *match) : base;
        if (overridden) used[static_cast<size_t>(match - own.begin())] = true;
        std::optional<TagConfig> tag =
            Finalize(merged, reader, /*is_template=*/false, asset->default_source, !overridden, context_);
        if (!tag) continue;
        tag->asset_type = type->config.name;
        asset->tags.push_back(std::move(*tag));
      }
    }
    for (size_t i = 0; i < own.size(); ++i) {
      if (used[i]) continue;
      std::optional<TagConfig> tag = Finalize(own[i], reader, false, asset->default_source, false, context_);
      if (tag) asset->tags.push_back(std::move(*tag));
    }
  }

  const std::vector<TypeSpec>& types_;
  const TreeContext& context_;
};

}  // namespace

std::vector<TypeSpec> ParseAssetTypes(const YAML::Node& sequence, ConfigLocation fallback,
                                      const TreeContext& context) {
  std::vector<TypeSpec> types;
  ForEachElement(sequence, fallback, [&](const YAML::Node& element, size_t, ConfigLocation at) {
    MapReader reader(element, at, "asset type", {"name", "description", "tags"}, context.problems);
    if (!reader.valid()) return;
    TypeSpec type;
    type.config.location = reader.location();
    std::optional<std::string> name = reader.ReadName();
    type.config.description = reader.String("description").value_or("");
    type.tags = ParseTagList(reader, context.problems);
    for (const TagSpec& spec : type.tags) {
      std::optional<TagConfig> tag = Finalize(spec, reader, /*is_template=*/true, "", false, context);
      if (tag) type.config.tags.push_back(std::move(*tag));
    }
    reader.Finish();
    if (!name) return;
    type.config.name = *name;
    for (const TypeSpec& earlier : types) {
      if (earlier.config.name == *name) {
        reader.Problem("name", fmt::format("duplicate asset type name (first at line {})", earlier.config.location.line));
        return;
      }
    }
    types.push_back(std::move(type));
  });
  return types;
}

std::optional<AssetConfig> ParseEnterprise(const YAML::Node& node, ConfigLocation fallback,
                                           const std::vector<TypeSpec>& types, const TreeContext& context,
                                           std::string* timezone) {
  TreeParser parser(types, context);
  ConfigLocation name_location;
  return parser.Parse(node, fallback, AssetLevel::kEnterprise, "", "", &name_location, timezone);
}

}  // namespace shopfloor::model::internal
