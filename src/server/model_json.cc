#include "server/model_json.h"

#include <fmt/format.h>

namespace shopfloor::server {

using core::Result;
using core::Status;

namespace {

Json RangeJson(const std::optional<model::TagRange>& range) {
  if (!range) return nullptr;
  return {{"min", range->min}, {"max", range->max}};
}

Json BindingJson(const std::optional<model::TagBinding>& b) {
  if (!b) return nullptr;
  return {{"source", b->source}, {"address", b->address}};
}

}  // namespace

Json TagJson(const model::Tag& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"type", core::ValueTypeName(t.type)},
          {"unit", t.unit},
          {"range", RangeJson(t.range)},
          {"description", t.description},
          {"deadband", t.deadband},
          {"writable", t.writable},
          {"binding", BindingJson(t.binding)},
          {"critical", t.critical},
          {"series_key", t.series_key},
          {"from_type", t.from_type}};
}

Json TagDefJson(const model::TagDef& d) {
  Json j = {{"name", d.name}};
  if (d.type) j["type"] = core::ValueTypeName(*d.type);
  if (d.unit) j["unit"] = *d.unit;
  if (d.range) j["range"] = RangeJson(d.range);
  if (d.description) j["description"] = *d.description;
  if (d.deadband) j["deadband"] = *d.deadband;
  if (d.writable) j["writable"] = *d.writable;
  if (d.binding) j["binding"] = BindingJson(d.binding);
  if (d.critical) j["critical"] = *d.critical;
  return j;
}

Json AssetJson(const model::Asset& a, bool with_tags) {
  Json j = {{"id", a.id},
            {"parent_id", a.parent_id},
            {"level", model::AssetLevelName(a.level)},
            {"name", a.name},
            {"path", a.path},
            {"type", a.type},
            {"description", a.description},
            {"attributes", a.attributes}};
  if (with_tags) {
    Json tags = Json::array();
    for (const model::Tag& t : a.tags) tags.push_back(TagJson(t));
    j["tags"] = tags;
  }
  return j;
}

Json TypeJson(const model::AssetType& t) {
  Json tags = Json::array();
  for (const model::TagDef& d : t.tags) tags.push_back(TagDefJson(d));
  return {{"name", t.name}, {"description", t.description}, {"tags", tags}};
}

Result<core::ValueType> ParseTagType(std::string_view text, std::string_view where) {
  for (core::ValueType t : {core::ValueType::kDouble, core::ValueType::kInt64, core::ValueType::kBool,
                            core::ValueType::kString}) {
    if (core::ValueTypeName(t) == text) return t;
  }
  return Status::InvalidArgument(fmt::format("{}: \"{}\" is not double, int64, bool or string", where, text));
}

Result<model::AssetLevel> ParseLevel(std::string_view text, std::string_view where) {
  for (model::AssetLevel l : {model::AssetLevel::kEnterprise, model::AssetLevel::kSite, model::AssetLevel::kArea,
                              model::AssetLevel::kLine, model::AssetLevel::kCell, model::AssetLevel::kMachine}) {
    if (model::AssetLevelName(l) == text) return l;
  }
  return Status::InvalidArgument(
      fmt::format("{}: \"{}\" is not enterprise, site, area, line, cell or machine", where, text));
}

Result<model::TagDef> TagDefFromJson(const Json& j, std::string_view where) {
  SF_RETURN_IF_ERROR(CheckKeys(j, where, {"name", "type", "unit", "range", "description", "deadband", "writable",
                                          "binding", "critical"}));
  model::TagDef d;
  SF_ASSIGN_OR_RETURN(d.name, RequiredString(j, where, "name"));
  SF_ASSIGN_OR_RETURN(auto type, OptionalString(j, where, "type"));
  if (type) {
    SF_ASSIGN_OR_RETURN(d.type, ParseTagType(*type, fmt::format("{}.type", where)));
  }
  SF_ASSIGN_OR_RETURN(d.unit, OptionalString(j, where, "unit"));
  SF_ASSIGN_OR_RETURN(d.description, OptionalString(j, where, "description"));
  SF_ASSIGN_OR_RETURN(d.deadband, OptionalNumber(j, where, "deadband"));
  SF_ASSIGN_OR_RETURN(d.writable, OptionalBool(j, where, "writable"));
  SF_ASSIGN_OR_RETURN(d.critical, OptionalBool(j, where, "critical"));
  if (auto it = j.find("range"); it != j.end() && !it->is_null()) {
    const std::string w = fmt::format("{}.range", where);
    SF_RETURN_IF_ERROR(CheckKeys(*it, w, {"min", "max"}));
    SF_ASSIGN_OR_RETURN(auto min, OptionalNumber(*it, w, "min"));
    SF_ASSIGN_OR_RETURN(auto max, OptionalNumber(*it, w, "max"));
    if (!min || !max) return Status::InvalidArgument(fmt::format("{}: needs both min and max", w));
    d.range = model::TagRange{*min, *max};
  }
  constexpr size_t kMaxUnit = 64, kMaxDescription = 4096, kMaxAddress = 1024;
  if (d.unit && d.unit->size() > kMaxUnit) {
    return Status::InvalidArgument(fmt::format("{}.unit: longer than {} bytes", where, kMaxUnit));
  }
  if (d.description && d.description->size() > kMaxDescription) {
    return Status::InvalidArgument(fmt::format("{}.description: longer than {} bytes", where, kMaxDescription));
  }
  if (auto it = j.find("binding"); it != j.end() && !it->is_null()) {
    const std::string w = fmt::format("{}.binding", where);
    SF_RETURN_IF_ERROR(CheckKeys(*it, w, {"source", "address"}));
    model::TagBinding b;
    SF_ASSIGN_OR_RETURN(b.source, RequiredString(*it, w, "source"));
    SF_ASSIGN_OR_RETURN(auto address, OptionalString(*it, w, "address"));
    b.address = address.value_or("");
    if (b.address.size() > kMaxAddress) {
      return Status::InvalidArgument(fmt::format("{}.address: longer than {} bytes", w, kMaxAddress));
    }
    d.binding = std::move(b);
  }
  return d;
}

Result<std::vector<model::TagDef>> TagDefsFromJson(const Json& object, std::string_view where, std::string_view field) {
  std::vector<model::TagDef> out;
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array()) return Status::InvalidArgument(fmt::format("{}.{}: must be an array of tags", where, field));
  for (size_t i = 0; i < it->size(); ++i) {
    SF_ASSIGN_OR_RETURN(model::TagDef d, TagDefFromJson((*it)[i], fmt::format("{}.{}[{}]", where, field, i)));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::map<std::string, std::string>> AttributesFromJson(const Json& object, std::string_view where) {
  std::map<std::string, std::string> out;
  auto it = object.find("attributes");
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_object()) return Status::InvalidArgument(fmt::format("{}.attributes: must be an object", where));
  for (auto a = it->begin(); a != it->end(); ++a) {
    if (!a->is_string()) {
      return Status::InvalidArgument(fmt::format("{}.attributes.{}: must be a string", where, a.key()));
    }
    out[a.key()] = a->get<std::string>();
  }
  return out;
}

}  // namespace shopfloor::server
