// JSON forms of tags, assets, types and values: the before/after of change records, the
// tags of asset types in the database, and desired twin values.
#include <cmath>

#include <fmt/format.h>

#include "model/asset_store_internal.h"

namespace shopfloor::model::internal {

using core::Result;
using core::Status;
using nlohmann::json;

namespace {

json BindingToJson(const TagBinding& binding) { return json{{"source", binding.source}, {"address", binding.address}}; }

json RangeToJson(const TagRange& range) { return json::array({range.min, range.max}); }

}  // namespace

Result<core::ValueType> ParseValueType(std::string_view name) {
  for (core::ValueType type : {core::ValueType::kDouble, core::ValueType::kInt64, core::ValueType::kBool,
                               core::ValueType::kString}) {
    if (core::ValueTypeName(type) == name) return type;
  }
  return Status::InvalidArgument(
      fmt::format("\"type\" must be one of double, int64, bool, string (got \"{}\")", name));
}

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json TagToJson(const Tag& tag) {
  json out{{"id", tag.id},
           {"name", tag.name},
           {"type", core::ValueTypeName(tag.type)},
           {"unit", tag.unit},
           {"description", tag.description},
           {"deadband", tag.deadband},
           {"writable", tag.writable},
           {"critical", tag.critical},
           {"series_key", tag.series_key},
           {"from_type", tag.from_type}};
  out["range"] = tag.range ? RangeToJson(*tag.range) : json(nullptr);
  out["binding"] = tag.binding ? BindingToJson(*tag.binding) : json(nullptr);
  return out;
}

json TagDefToJson(const TagDef& def) {
  json out{{"name", def.name}};
  if (def.type) out["type"] = core::ValueTypeName(*def.type);
  if (def.unit) out["unit"] = *def.unit;
  if (def.range) out["range"] = RangeToJson(*def.range);
  if (def.description) out["description"] = *def.description;
  if (def.deadband) out["deadband"] = *def.deadband;
  if (def.writable) out["writable"] = *def.writable;
  if (def.binding) out["binding"] = BindingToJson(*def.binding);
  if (def.critical) out["critical"] = *def.critical;
  return out;
}

Result<TagDef> TagDefFromJson(const json& in, std::string_view where) {
  auto bad = [&](std::string_view field, std::string_view expected) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" must be {}", where, field, expected));
  };
  if (!in.is_object()) return Status::InvalidArgument(fmt::format("{}: a tag must be a JSON object", where));
  TagDef def;
  auto name = in.find("name");
  if (name == in.end() || !name->is_string()) return bad("name", "a string");
  def.name = name->get<std::string>();
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "name") continue;
    if (key == "type") {
      if (!value.is_string()) return bad(key, "a string");
      SF_ASSIGN_OR_RETURN(def.type, ParseValueType(value.get<std::string>()));
    } else if (key == "unit" || key == "description") {
      if (!value.is_string()) return bad(key, "a string");
      (key == "unit" ? def.unit : def.description) = value.get<std::string>();
    } else if (key == "range") {
      if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number()) {
        return bad(key, "[min, max]");
      }
      def.range = TagRange{value[0].get<double>(), value[1].get<double>()};
    } else if (key == "deadband") {
      if (!value.is_number()) return bad(key, "a number");
      def.deadband = value.get<double>();
    } else if (key == "writable" || key == "critical") {
      if (!value.is_boolean()) return bad(key, "true or false");
      (key == "writable" ? def.writable : def.critical) = value.get<bool>();
    } else if (key == "binding") {
      if (!value.is_object()) return bad(key, "an object {source, address}");
      TagBinding binding;
      auto source = value.find("source");
      auto address = value.find("address");
      if (source != value.end() && !source->is_string()) return bad("binding.source", "a string");
      if (address != value.end() && !address->is_string()) return bad("binding.address", "a string");
      if (source != value.end()) binding.source = source->get<std::string>();
      if (address != value.end()) binding.address = address->get<std::string>();
      def.binding = binding;
    } else {
      return Status::InvalidArgument(fmt::format("{}: unknown tag field \"{}\"", where, key));
    }
  }
  return def;
}

json AssetToJson(const Asset& asset) {
  json tags = json::array();
  for (const Tag& tag : asset.tags) tags.push_back(TagToJson(tag));
  return json{{"id", asset.id},
              {"parent_id", asset.parent_id},
              {"level", AssetLevelName(asset.level)},
              {"name", asset.name},
              {"path", asset.path},
              {"type", asset.type},
              {"description", asset.description},
              {"attributes", asset.attributes},
              {"tags", std::move(tags)}};
}

json TypeToJson(const AssetType& type) {
  json tags = json::array();
  for (const TagDef& tag : type.tags) tags.push_back(TagDefToJson(tag));
  return json{{"name", type.name}, {"description", type.description}, {"tags", std::move(tags)}};
}

json ValueToJson(const core::Value& value) {
  json out{{"type", core::ValueTypeName(value.type())}};
  switch (value.type()) {
    case core::ValueType::kDouble: out["value"] = value.as_double(); break;
    case core::ValueType::kInt64: out["value"] = value.as_int(); break;
    case core::ValueType::kBool: out["value"] = value.as_bool(); break;
    case core::ValueType::kString: out["value"] = value.as_string(); break;
  }
  return out;
}

Result<core::Value> ValueFromJson(const json& in, std::string_view where) {
  if (!in.is_object() || !in.contains("type") || !in["type"].is_string() || !in.contains("value")) {
    return Status::InvalidArgument(fmt::format("{}: a value must be {{\"type\", \"value\"}}", where));
  }
  SF_ASSIGN_OR_RETURN(core::ValueType type, ParseValueType(in["type"].get<std::string>()));
  const json& value = in["value"];
  switch (type) {
    case core::ValueType::kDouble:
      if (value.is_number()) return core::Value(value.get<double>());
      break;
    case core::ValueType::kInt64:
      if (value.is_number_integer()) return core::Value(value.get<int64_t>());
      break;
    case core::ValueType::kBool:
      if (value.is_boolean()) return core::Value(value.get<bool>());
      break;
    case core::ValueType::kString:
      if (value.is_string()) return core::Value(value.get<std::string>());
      break;
  }
  return Status::InvalidArgument(
      fmt::format("{}: value does not match its type {}", where, core::ValueTypeName(type)));
}

}  // namespace shopfloor::model::internal
