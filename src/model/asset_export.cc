// AssetStore::ExportYaml: the live model written back as a plant config file.
//
// The text is written directly (not through a YAML emitter) so that numbers come out as
// plain shortest round-trip scalars and every free-text string as a double-quoted scalar
// (JSON string syntax, which YAML's double-quoted style accepts). Instances of a type list
// only the fields they override.
#include <shared_mutex>
#include <string>

#include <fmt/format.h>

#include "model/asset_store_internal.h"

namespace shopfloor::model {

using core::Result;
using core::Status;
using internal::State;

namespace {

std::string Q(std::string_view text) { return internal::Dump(nlohmann::json(std::string(text))); }

std::string Num(double value) { return fmt::format("{}", value); }

// A duration in the largest unit that divides it ("500ms", "2s", "30d"); "0" for zero.
std::string Duration(core::Duration d) {
  if (d == 0) return "0";
  struct Unit {
    core::Duration size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{7 * core::kDay, "w"},     {core::kDay, "d"},         {core::kHour, "h"},
                                    {core::kMinute, "m"},      {core::kSecond, "s"},      {core::kMillisecond, "ms"},
                                    {core::kMicrosecond, "us"}, {core::kNanosecond, "ns"}};
  for (const Unit& unit : kUnits) {
    if (d % unit.size == 0) return fmt::format("{}{}", d / unit.size, unit.name);
  }
  return fmt::format("{}ns", d);
}

class Writer {
 public:
  void Line(int indent, std::string_view text) {
    out_.append(static_cast<size_t>(indent) * 2, ' ');
    out_.append(text);
    out_.push_back('\n');
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// One tag as a sequence item at `indent`; a definition with only the set fields.
void WriteTag(Writer& w, int indent, const TagDef& def) {
  w.Line(indent, fmt::format("- name: {}", def.name));
  int in = indent + 1;
  if (def.type) w.Line(in, fmt::format("type: {}", core::ValueTypeName(*def.type)));
  if (def.unit && !def.unit->empty()) w.Line(in, fmt::format("unit: {}", Q(*def.unit)));
  if (def.range) w.Line(in, fmt::format("range: [{}, {}]", Num(def.range->min), Num(def.range->max)));
  if (def.description && !def.description->empty()) w.Line(in, fmt::format("description: {}", Q(*def.description)));
  if (def.deadband && *def.deadband != 0.0) w.Line(in, fmt::format("deadband: {}", Num(*def.deadband)));
  if (def.writable && *def.writable) w.Line(in, "writable: true");
  if (def.binding) {
    std::string binding = "binding: {";
    if (!def.binding->source.empty()) binding += fmt::format("source: {}, ", def.binding->source);
    binding += fmt::format("address: {}}}", Q(def.binding->address));
    w.Line(in, binding);
  }
}

bool HasFields(const TagDef& def) {
  return def.type || (def.unit && !def.unit->empty()) || def.range || (def.description && !def.description->empty()) ||
         (def.deadband && *def.deadband != 0.0) || (def.writable && *def.writable) || def.binding;
}

// username + password_env of a source (never a password: it is not in the model).
void AddCredentials(const SourceOptions& o, std::vector<std::string>* options) {
  if (o.username.empty()) return;
  options->push_back(fmt::format("username: {}", Q(o.username)));
  options->push_back(fmt::format("password_env: {}", o.password_env));
}

void WriteSources(Writer& w, const PlantConfig& sections) {
  if (sections.sources.empty()) return;
  w.Line(0, "sources:");
  for (const SourceConfig& source : sections.sources) {
    w.Line(1, fmt::format("- name: {}", source.name));
    w.Line(2, fmt::format("protocol: {}", ProtocolName(source.protocol)));
    w.Line(2, fmt::format("endpoint: {}", Q(source.endpoint)));
    const SourceOptions& o = source.options;
    std::vector<std::string> options;
    switch (source.protocol) {
      case Protocol::kModbus:
        options = {fmt::format("unit_id: {}", o.unit_id), fmt::format("word_order: {}", o.word_swap ? "little" : "big"),
                   fmt::format("timeout: {}", Duration(o.timeout))};
        break;
      case Protocol::kOpcUa:
        options = {fmt::format("security_policy: {}", o.security_policy),
                   fmt::format("security_mode: {}", o.security_mode), fmt::format("timeout: {}", Duration(o.timeout))};
        AddCredentials(o, &options);
        break;
      case Protocol::kMqtt:
        options = {fmt::format("qos: {}", o.qos)};
        if (!o.client_id.empty()) options.push_back(fmt::format("client_id: {}", Q(o.client_id)));
        AddCredentials(o, &options);
        if (!o.topics.empty()) {
          std::string list;
          for (const std::string& t : o.topics) list += (list.empty() ? "" : ", ") + Q(t);
          options.push_back(fmt::format("topics: [{}]", list));
        }
        if (!o.remote_prefix.empty()) {
          options.push_back(fmt::format("remote_prefix: {}", Q(o.remote_prefix)));
          options.push_back(fmt::format("local_prefix: {}", Q(o.local_prefix)));
        }
        if (o.may_provision) options.push_back("may_provision: true");
        if (o.clean_session) options.push_back("clean_session: true");
        if (o.mqtt_version == 5) options.push_back("version: \"5\"");
        options.push_back(fmt::format("keep_alive: {}", Duration(o.keep_alive)));
        if (!o.tls_ca_file.empty()) options.push_back(fmt::format("tls_ca_file: {}", Q(o.tls_ca_file)));
        if (o.tls_insecure) options.push_back("tls_insecure: true");
        break;
      case Protocol::kSparkplug:
        options = {fmt::format("group_id: {}", o.group_id), fmt::format("qos: {}", o.qos)};
        if (!o.host_id.empty()) options.push_back(fmt::format("host_id: {}", o.host_id));
        if (!o.provision_path.empty()) options.push_back(fmt::format("provision_path: {}", Q(o.provision_path)));
        if (!o.client_id.empty()) options.push_back(fmt::format("client_id: {}", Q(o.client_id)));
        AddCredentials(o, &options);
        break;
      case Protocol::kHttp:
        options = {fmt::format("format: {}", o.format), fmt::format("timeout: {}", Duration(o.timeout))};
        break;
    }
    if (source.poll_interval > 0) w.Line(2, fmt::format("poll_interval: {}", Duration(source.poll_interval)));
    w.Line(2, "options:");
    for (const std::string& option : options) w.Line(3, option);
  }
}

void WriteStorageAndServer(Writer& w, const PlantConfig& sections) {
  const StorageConfig& s = sections.storage;
  w.Line(0, "storage:");
  w.Line(1, fmt::format("data_dir: {}", Q(s.data_dir)));
  switch (s.durability) {
    case DurabilityMode::kAlways: w.Line(1, "durability: always"); break;
    case DurabilityMode::kNone: w.Line(1, "durability: none"); break;
    case DurabilityMode::kInterval:
      w.Line(1, fmt::format("durability: interval={}", Duration(s.durability_interval)));
      break;
  }
  w.Line(1, fmt::format("head_memory: {}", s.head_memory));
  w.Line(1, fmt::format("disk_quota: {}", s.disk_quota));
  if (!s.retention.empty()) {
    w.Line(1, "retention:");
    for (const RetentionRule& rule : s.retention) {
      w.Line(2, fmt::format("- {{match: {}, max_age: {}}}", Q(rule.match), Duration(rule.max_age)));
    }
  }
  w.Line(0, "server:");
  const std::string& host = sections.server.http_host;
  bool v6 = host.find(':') != std::string::npos;
  w.Line(1, fmt::format("http: {}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", sections.server.http_port));
  if (!sections.server.tls_cert.empty()) {
    w.Line(1, fmt::format("tls_cert: {}", Q(sections.server.tls_cert)));
    w.Line(1, fmt::format("tls_key: {}", Q(sections.server.tls_key)));
  }
}

// The child lists of each level, in the order AssetConfig keeps them.
std::vector<std::pair<const char*, AssetLevel>> ChildLists(AssetLevel level) {
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

// The asset's keys (after "- " or at the enterprise) at `indent`.
void WriteAssetBody(Writer& w, int indent, const State& state, const State::AssetRow& row, const PlantConfig& sections) {
  if (!row.description.empty()) w.Line(indent, fmt::format("description: {}", Q(row.description)));
  if (row.level == AssetLevel::kEnterprise) w.Line(indent, fmt::format("timezone: {}", Q(sections.timezone)));
  if (!row.type.empty()) w.Line(indent, fmt::format("type: {}", row.type));
  std::vector<TagDef> tags;
  auto type = state.types.find(row.type);
  for (const State::TagRow* tag : internal::OrderedTags(state, row)) {
    if (tag->from_type && type != state.types.end()) {
      const TagDef* base = internal::FindTypeTag(type->second, tag->def.name);
      TagDef diff = internal::DiffTag(*base, internal::EffectiveTag(state, *tag));
      if (HasFields(diff)) tags.push_back(std::move(diff));
    } else {
      tags.push_back(internal::DefOf(internal::EffectiveTag(state, *tag)));
    }
  }
  if (!tags.empty()) {
    w.Line(indent, "tags:");
    for (const TagDef& tag : tags) WriteTag(w, indent + 1, tag);
  }
  for (const auto& [key, level] : ChildLists(row.level)) {
    bool any = false;
    for (int64_t child_id : row.children) {
      const State::AssetRow& child = state.assets.at(child_id);
      if (child.level != level) continue;
      if (!any) w.Line(indent, fmt::format("{}:", key));
      any = true;
      w.Line(indent + 1, fmt::format("- name: {}", child.name));
      WriteAssetBody(w, indent + 2, state, child, sections);
    }
  }
}

}  // namespace

Result<std::string> AssetStore::ExportYaml(const PlantConfig& sections) const {
  std::shared_lock lock(mu_);
  const State& state = *state_;
  if (state.root == 0) return Status::NotFound("the asset model is empty: nothing to export");
  Writer w;
  w.Line(0, fmt::format("# Exported from the Shopfloor asset model, version {}.", state.version));
  w.Line(0, "version: 1");
  WriteSources(w, sections);
  if (!state.types.empty()) {
    w.Line(0, "asset_types:");
    for (const auto& [name, type] : state.types) {
      w.Line(1, fmt::format("- name: {}", name));
      if (!type.description.empty()) w.Line(2, fmt::format("description: {}", Q(type.description)));
      if (!type.tags.empty()) {
        w.Line(2, "tags:");
        for (const TagDef& tag : type.tags) WriteTag(w, 3, tag);
      }
    }
  }
  const State::AssetRow& root = state.assets.at(state.root);
  w.Line(0, "enterprise:");
  w.Line(1, fmt::format("name: {}", root.name));
  WriteAssetBody(w, 1, state, root, sections);
  WriteStorageAndServer(w, sections);
  return w.Take();
}

}  // namespace shopfloor::model
