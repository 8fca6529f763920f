// Entry points of the plant configuration: YAML loading (yaml-cpp exceptions stop here),
// the top-level sections, lookups and the series listing.
#include "model/plant_config.h"

#include "core/glob.h"

#include <exception>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "model/plant_schema.h"

namespace shopfloor::model {
namespace {

using internal::MapReader;
using internal::Problems;

// Notes where each document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

// Loads exactly one YAML document; syntax errors become positioned problems.
// YAML::LoadAll is avoided on purpose: in yaml-cpp 0.7 it loops without end on input such
// as "," (empty documents forever, until memory runs out). We load the first document and
// ask the event parser only whether a second one exists.
std::optional<YAML::Node> LoadDocument(std::string_view yaml_text, Problems* problems) {
  YAML::Node document;
  std::string text(yaml_text);
  try {
    document = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ConfigLocation where = internal::LocationOf(e.mark);
    problems->Add(where.line > 0 ? where : ConfigLocation{1, 1}, fmt::format("YAML syntax error: {}", e.msg));
    return std::nullopt;
  }
  if (!document.IsDefined() || document.IsNull()) {
    problems->Add({1, 1}, "the file is empty (expected a mapping with at least \"enterprise\")");
    return std::nullopt;
  }
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts handler;
    if (parser.HandleNextDocument(handler) && parser.HandleNextDocument(handler) && handler.starts.size() > 1) {
      problems->Add(internal::LocationOf(handler.starts[1]).line > 0 ? internal::LocationOf(handler.starts[1])
                                                                     : ConfigLocation{1, 1},
                    "the file holds more than one YAML document; exactly one is expected");
    }
  } catch (const YAML::Exception& e) {
    problems->Add(internal::LocationOf(e.mark), fmt::format("YAML syntax error after the first document: {}", e.msg));
  }
  return document;
}

void ParseTopLevel(const YAML::Node& root, PlantConfig* config, Problems* problems) {
  MapReader reader(root, {1, 1}, "plant configuration",
                   {"version", "enterprise", "asset_types", "sources", "storage", "server"}, problems);
  if (!reader.valid()) return;
  reader.Int("version", 1, 1);
  // Sections are read in dependency order whatever their order in the file: tags refer to
  // sources, machines to asset types.
  if (auto sources = reader.Sequence("sources")) {
    config->sources = internal::ParseSources(*sources, reader.ValueLocation("sources"), problems);
  }
  internal::TreeContext context;
  context.sources = &config->sources;
  context.problems = problems;
  std::vector<internal::TypeSpec> types;
  if (auto asset_types = reader.Sequence("asset_types")) {
    types = internal::ParseAssetTypes(*asset_types, reader.ValueLocation("asset_types"), context);
  }
  for (const internal::TypeSpec& type : types) config->asset_types.push_back(type.config);
  if (auto enterprise = reader.Map("enterprise", MapReader::kRequired)) {
    std::optional<AssetConfig> root_asset = internal::ParseEnterprise(
        *enterprise, reader.ValueLocation("enterprise"), types, context, &config->timezone);
    if (root_asset) config->enterprise = std::move(*root_asset);
  }
  if (auto storage = reader.Map("storage")) {
    config->storage = internal::ParseStorage(*storage, reader.ValueLocation("storage"), problems);
  }
  if (auto server = reader.Map("server")) {
    config->server = internal::ParseServer(*server, reader.ValueLocation("server"), problems);
  }
  reader.Finish();
}

const AssetConfig* FindChild(const AssetConfig& asset, std::string_view name) {
  for (const AssetConfig& child : asset.children) {
    if (child.name == name) return &child;
  }
  return nullptr;
}

void CollectSeries(const AssetConfig& asset, std::vector<SeriesTag>* out) {
  for (const TagConfig& tag : asset.tags) out->push_back(SeriesTag{asset.path + "/" + tag.name, &asset, &tag});
  for (const AssetConfig& child : asset.children) CollectSeries(child, out);
}

}  // namespace

std::string_view AssetLevelName(AssetLevel level) {
  switch (level) {
    case AssetLevel::kEnterprise: return "enterprise";
    case AssetLevel::kSite: return "site";
    case AssetLevel::kArea: return "area";
    case AssetLevel::kLine: return "line";
    case AssetLevel::kCell: return "cell";
    case AssetLevel::kMachine: return "machine";
  }
  return "asset";
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kModbus: return "modbus";
    case Protocol::kOpcUa: return "opcua";
    case Protocol::kMqtt: return "mqtt";
    case Protocol::kSparkplug: return "sparkplug";
    case Protocol::kHttp: return "http";
  }
  return "unknown";
}

const SourceConfig* PlantConfig::FindSource(std::string_view name) const {
  for (const SourceConfig& source : sources) {
    if (source.name == name) return &source;
  }
  return nullptr;
}

const AssetTypeConfig* PlantConfig::FindAssetType(std::string_view name) const {
  for (const AssetTypeConfig& type : asset_types) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

const AssetConfig* PlantConfig::FindAsset(std::string_view path) const {
  size_t slash = path.find('/');
  if (path.substr(0, slash) != enterprise.name || enterprise.name.empty()) return nullptr;
  const AssetConfig* asset = &enterprise;
  while (slash != std::string_view::npos && asset != nullptr) {
    path = path.substr(slash + 1);
    slash = path.find('/');
    asset = FindChild(*asset, path.substr(0, slash));
  }
  return asset;
}

const RetentionRule* PlantConfig::RetentionFor(std::string_view series_key) const {
  for (const RetentionRule& rule : storage.retention) {
    if (core::GlobMatch(rule.match, series_key)) return &rule;
  }
  return nullptr;
}

core::Result<PlantConfig> ParsePlantConfig(std::string_view yaml_text, std::string_view file_name,
                                           std::vector<core::Status>* problems) {
  Problems found{std::string(file_name)};
  PlantConfig config;
  config.file_name = std::string(file_name);
  try {
    if (std::optional<YAML::Node> root = LoadDocument(yaml_text, &found)) ParseTopLevel(*root, &config, &found);
  } catch (const YAML::Exception& e) {
    // The walker uses only non-throwing accessors; this is a safety net, not a path.
    found.Add(internal::LocationOf(e.mark), fmt::format("YAML error: {}", e.msg));
  } catch (const std::bad_alloc&) {
    found.Add({}, "out of memory while reading the configuration");
  } catch (const std::exception& e) {
    found.Add({}, fmt::format("internal error while reading the configuration: {}", e.what()));
  }
  std::vector<core::Status> all = found.Take();
  if (problems != nullptr) *problems = all;
  if (all.empty()) return config;
  core::Status first = all.front();
  if (all.size() == 1) return first;
  return core::Status(first.code(), fmt::format("{} (and {} more problems)", first.message(), all.size() - 1),
                      first.context());
}

core::Result<PlantConfig> LoadPlantConfigFile(core::Env* env, const std::string& path,
                                              std::vector<core::Status>* problems) {
  core::Result<std::string> text = env->ReadFileToString(path);
  if (!text.ok()) {
    core::Status error = text.status().WithPrefix("reading plant configuration");
    if (problems != nullptr) *problems = {error};
    return error;
  }
  return ParsePlantConfig(*text, path, problems);
}

std::vector<SeriesTag> ListSeries(const PlantConfig& config) {
  std::vector<SeriesTag> out;
  if (!config.enterprise.name.empty()) CollectSeries(config.enterprise, &out);
  return out;
}

}  // namespace shopfloor::model
