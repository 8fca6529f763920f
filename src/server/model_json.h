// The JSON shapes of the asset model in the REST API (assets, tags, types), and the
// decoding of the bodies that create and change them. Decoders read network bytes: every
// problem is InvalidArgument naming the field ("body.tags[1].range.min: ...").
#pragma once

#include "model/asset_store.h"
#include "server/json_body.h"

namespace shopfloor::server {

Json TagJson(const model::Tag& tag);
Json TagDefJson(const model::TagDef& def);
Json AssetJson(const model::Asset& asset, bool with_tags = true);
Json TypeJson(const model::AssetType& type);

core::Result<model::TagDef> TagDefFromJson(const Json& j, std::string_view where);
core::Result<std::vector<model::TagDef>> TagDefsFromJson(const Json& object, std::string_view where,
                                                         std::string_view field);
core::Result<std::map<std::string, std::string>> AttributesFromJson(const Json& object, std::string_view where);
core::Result<model::AssetLevel> ParseLevel(std::string_view text, std::string_view where);
core::Result<core::ValueType> ParseTagType(std::string_view text, std::string_view where);

}  // namespace shopfloor::server
