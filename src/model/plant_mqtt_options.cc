// The options of an `mqtt` source: a bridge that subscribes to an external broker
// (docs/configuration.md, docs/mqtt.md "Bridge mode"). Every problem names the option.
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "model/plant_schema.h"

namespace shopfloor::model::internal {
namespace {

// Why `filter` is not an MQTT topic filter, or "".
std::string FilterProblem(std::string_view filter) {
  if (filter.empty()) return "a topic filter must not be empty";
  for (size_t i = 0; i < filter.size(); ++i) {
    char c = filter[i];
    bool level_start = i == 0 || filter[i - 1] == '/';
    bool level_end = i + 1 == filter.size() || filter[i + 1] == '/';
    if (c == '#' && (!level_start || i + 1 != filter.size())) return "'#' must be a whole level and the last one";
    if (c == '+' && (!level_start || !level_end)) return "'+' must be a whole level";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a topic filter must not contain control characters";
  }
  return "";
}

// Why `prefix` is not a usable topic prefix (whole levels, no wildcards), or "".
std::string PrefixProblem(std::string_view prefix) {
  if (prefix.empty()) return "must not be empty";
  if (prefix.front() == '/' || prefix.back() == '/') return "must not start or end with '/' (it is whole topic levels)";
  if (prefix.find("//") != std::string_view::npos) return "must not contain an empty level";
  for (char c : prefix) {
    if (c == '+' || c == '#') return "must not contain the wildcards '+' or '#'";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "must not contain control characters";
  }
  return "";
}

}  // namespace

void ParseMqttOptions(MapReader& reader, std::string_view endpoint, SourceOptions* options) {
  if (auto v = reader.String("client_id")) {
    if (v->empty() || v->size() > 65535) {
      reader.Problem("client_id", "client_id must be 1 to 65535 characters (leave it out to derive one from the source name)");
    } else {
      options->client_id = *v;
    }
  }
  if (auto v = reader.Int("qos", 0, 2)) options->qos = static_cast<int>(*v);
  ParseCredentials(reader, options);
  if (auto list = reader.Sequence("topics")) {
    if (list->size() == 0) reader.Problem("topics", "topics must list at least one topic filter (leave it out for the default)");
    ForEachElement(*list, reader.ValueLocation("topics"), [&](const YAML::Node& element, size_t index, ConfigLocation at) {
      if (!element.IsScalar()) {
        reader.ProblemAt(at, fmt::format("topics[{}] must be a topic filter string, got {}", index, Describe(element)));
        return;
      }
      std::string filter = element.Scalar();
      if (std::string why = FilterProblem(filter); !why.empty()) {
        reader.ProblemAt(at, fmt::format("topics[{}] {} is not a valid topic filter: {}", index, Quote(filter), why));
        return;
      }
      options->topics.push_back(filter);
    });
  }
  for (std::string_view key : {"remote_prefix", "local_prefix"}) {
    auto v = reader.String(key);
    if (!v) continue;
    if (std::string why = PrefixProblem(*v); !why.empty()) {
      reader.Problem(key, fmt::format("{} {} {}", key, Quote(*v), why));
      continue;
    }
    (key == "remote_prefix" ? options->remote_prefix : options->local_prefix) = *v;
  }
  if (reader.Has("remote_prefix") != reader.Has("local_prefix")) {
    reader.Problem(reader.Has("remote_prefix") ? "remote_prefix" : "local_prefix",
                   "remote_prefix and local_prefix go together (topics under remote_prefix are renamed to "
                   "start with local_prefix)");
  }
  if (auto v = reader.Bool("may_provision")) options->may_provision = *v;
  if (auto v = reader.Bool("clean_session")) options->clean_session = *v;
  if (auto v = reader.OneOf("version", {"3.1.1", "5"})) options->mqtt_version = *v == 0 ? 4 : 5;
  if (auto v = reader.Duration("keep_alive")) {
    if (*v != 0 && (*v < 5 * core::kSecond || *v > 65535 * core::kSecond)) {
      reader.Problem("keep_alive", "keep_alive must be 0 (off) or from 5s to 65535s");
    } else {
      options->keep_alive = *v;
    }
  }
  if (auto v = reader.String("tls_ca_file")) options->tls_ca_file = *v;
  if (auto v = reader.Bool("tls_insecure")) options->tls_insecure = *v;
  const bool tls = endpoint.substr(0, 8) == "mqtts://";
  for (std::string_view key : {"tls_ca_file", "tls_insecure"}) {
    if (!tls && reader.Has(key)) {
      reader.Problem(key, fmt::format("{} applies to an mqtts:// endpoint only (the endpoint is {})", key, Quote(endpoint)));
    }
  }
}

}  // namespace shopfloor::model::internal
