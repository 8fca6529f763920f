// Internal to sf_model: the schema of the plant configuration file, section by section.
//
// plant_sections.cc reads sources, storage, server and single tags; asset_tree.cc reads
// asset types and the asset tree and resolves type inheritance and source bindings;
// plant_config.cc ties them together. Every function records problems and carries on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "model/plant_config.h"
#include "model/yaml_reader.h"

namespace shopfloor::model::internal {

// A tag as written in the file: every field optional, so that a machine's tag can override
// an asset type's tag field by field. Locations are kept for the problems found after merging.
struct TagSpec {
  std::string name;
  ConfigLocation location;       // the tag's mapping
  ConfigLocation name_location;
  std::optional<core::ValueType> type;
  bool type_written = false;  // "type" is present, even if its value was invalid
  ConfigLocation type_location;
  std::optional<std::string> unit;
  std::optional<std::string> description;
  std::optional<TagRange> range;
  ConfigLocation range_location;
  std::optional<double> deadband;
  ConfigLocation deadband_location;
  std::optional<bool> writable;
  ConfigLocation writable_location;
  bool has_binding = false;
  std::optional<std::string> source;  // binding.source
  ConfigLocation source_location;
  std::optional<std::string> address;  // binding.address
  ConfigLocation address_location;
  // Set by merging: which fields the machine's own tag overrode.
  bool type_overridden = false;
  bool range_overridden = false;
  bool deadband_overridden = false;
};

// Reads one tag mapping; nullopt when it is not a mapping or has no valid name.
std::optional<TagSpec> ParseTagSpec(const YAML::Node& node, ConfigLocation fallback, Problems* problems);

// Reads the "tags" list of `owner`, reporting duplicate names within it.
std::vector<TagSpec> ParseTagList(MapReader& owner, Problems* problems);

std::vector<SourceConfig> ParseSources(const YAML::Node& sequence, ConfigLocation fallback,
                                       Problems* problems);
StorageConfig ParseStorage(const YAML::Node& node, ConfigLocation fallback, Problems* problems);
ServerConfig ParseServer(const YAML::Node& node, ConfigLocation fallback, Problems* problems);

// username + password_env (opcua, mqtt): the name of an environment variable holding the
// password, read when the source connects. The password itself never goes in the file.
void ParseCredentials(MapReader& reader, SourceOptions* options);
// The options of an mqtt source (plant_mqtt_options.cc).
void ParseMqttOptions(MapReader& reader, std::string_view endpoint, SourceOptions* options);

// Checks "host:port" (port 0..65535); on success fills host and port, else returns why not.
std::optional<std::string> CheckHostPort(std::string_view text, std::string* host, uint16_t* port);

// Everything the asset tree needs from the other sections.
struct TreeContext {
  const std::vector<SourceConfig>* sources = nullptr;
  Problems* problems = nullptr;
};

struct TypeSpec {
  AssetTypeConfig config;     // tags resolved without a default source
  std::vector<TagSpec> tags;  // as written, for merging into machines
};

std::vector<TypeSpec> ParseAssetTypes(const YAML::Node& sequence, ConfigLocation fallback,
                                      const TreeContext& context);

// Reads the enterprise and everything below it.
std::optional<AssetConfig> ParseEnterprise(const YAML::Node& node, ConfigLocation fallback,
                                           const std::vector<TypeSpec>& types, const TreeContext& context,
                                           std::string* timezone);

// "unknown source \"x\" (known: a, b)" style list of names, capped for readability.
std::string KnownNames(const std::vector<std::string>& names);

}  // namespace shopfloor::model::internal
