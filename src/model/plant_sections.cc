// The flat sections of the plant configuration: tags, sources, storage and server.
#include <charconv>
#include <cctype>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "model/plant_schema.h"

namespace shopfloor::model::internal {
namespace {

using Need = MapReader::Need;
constexpr Need kRequired = MapReader::kRequired;

constexpr core::Duration kDefaultPollInterval = core::kSecond;
constexpr core::Duration kMaxModbusBackoff = 30 * core::kSecond;

bool IsPolled(Protocol protocol) {
  return protocol == Protocol::kModbus || protocol == Protocol::kOpcUa || protocol == Protocol::kHttp;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Checks a host (DNS name, IPv4, or bracketed IPv6) followed by an optional ":port".
std::optional<std::string> CheckAuthority(std::string_view text, bool port_required, std::string* host,
                                          std::optional<uint16_t>* port) {
  std::string_view host_part;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) return "an IPv6 host must look like [::1]";
    for (char c : text.substr(1, close - 1)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                c == '.';
      if (!ok) return "an IPv6 host must look like [::1]";
    }
    host_part = text.substr(0, close + 1);
    rest = text.substr(close + 1);
  } else {
    size_t colon = text.find(':');
    host_part = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    if (host_part.empty()) return "the host is missing";
    for (char c : host_part) {
      if (!IsHostChar(c)) return fmt::format("the host contains '{}'", c);
    }
  }
  *host = std::string(host_part);
  if (rest.empty()) {
    if (port_required) return "the port is missing (expected HOST:PORT)";
    return std::nullopt;
  }
  if (rest.front() != ':') return "expected ':' and a port after the host";
  std::string_view digits = rest.substr(1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value > 65535) {
    return "the port must be a number from 0 to 65535";
  }
  *port = static_cast<uint16_t>(value);
  return std::nullopt;
}

// Returns why `endpoint` is not valid for `protocol`, or nullopt.
std::optional<std::string> CheckEndpoint(Protocol protocol, std::string_view endpoint) {
  size_t scheme_end = endpoint.find("://");
  std::string_view scheme;
  std::string_view rest = endpoint;
  if (scheme_end != std::string_view::npos) {
    scheme = endpoint.substr(0, scheme_end);
    rest = endpoint.substr(scheme_end + 3);
  }
  bool path_allowed = false;
  switch (protocol) {
    case Protocol::kModbus:
      if (!scheme.empty()) return "a modbus endpoint is HOST:PORT without a scheme";
      break;
    case Protocol::kOpcUa:
      if (!scheme.empty() && scheme != "opc.tcp") return "an opcua endpoint is opc.tcp://HOST:PORT[/PATH] or HOST:PORT";
      path_allowed = !scheme.empty();
      break;
    case Protocol::kMqtt:
    case Protocol::kSparkplug:
      if (!scheme.empty() && scheme != "mqtt" && scheme != "mqtts") {
        return "an MQTT endpoint is mqtt://HOST:PORT, mqtts://HOST:PORT or HOST:PORT";
      }
      break;
    case Protocol::kHttp:
      if (scheme != "http" && scheme != "https") return "an http endpoint is a URL http[s]://HOST[:PORT][/PATH]";
      path_allowed = true;
      break;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && !path_allowed) return "a path is not allowed here";
  if (slash != std::string_view::npos) {
    for (char c : rest.substr(slash)) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "the path contains a space or control character";
    }
  }
  std::string host;
  std::optional<uint16_t> port;
  return CheckAuthority(authority, /*port_required=*/scheme.empty(), &host, &port);
}

bool IsValidGlob(std::string_view glob) {
  if (glob.empty()) return false;
  for (char c : glob) {
    bool ok = IsHostChar(c) || c == '/' || c == '*' || c == '?';
    if (!ok) return false;
  }
  return true;
}

bool IsEnvVarName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

void ParseOptions(MapReader& source, Protocol protocol, SourceConfig* out, Problems* problems) {
  std::optional<YAML::Node> node = source.Map("options");
  if (!node) {
    if (protocol == Protocol::kSparkplug && !source.Has("options")) {
      source.ProblemAt(source.location(), "missing required key \"options\" (sparkplug needs options.group_id)");
    }
    return;
  }
  SourceOptions& options = out->options;
  std::string what = source.what() + " options";
  ConfigLocation where = source.ValueLocation("options");
  switch (protocol) {
    case Protocol::kModbus: {
      MapReader reader(*node, where, what,
                       {"unit_id", "word_order", "byte_order", "timeout", "retries", "max_registers", "max_gap",
                        "backoff"},
                       problems);
      if (auto v = reader.Int("unit_id", 0, 255)) options.unit_id = static_cast<int>(*v);
      if (auto v = reader.OneOf("word_order", {"big", "little"})) options.word_swap = *v == 1;
      if (auto v = reader.OneOf("byte_order", {"big", "little"})) options.byte_swap = *v == 1;
      if (auto v = reader.Duration("timeout")) {
        if (*v <= 0) {
          reader.Problem("timeout", "\"timeout\" must be greater than zero");
        } else {
          options.timeout = *v;
        }
      }
      if (auto v = reader.Int("retries", 0, 10)) options.retries = static_cast<int>(*v);
      if (auto v = reader.Int("max_registers", 1, 125)) options.max_registers = static_cast<int>(*v);
      if (auto v = reader.Int("max_gap", 0, 100)) options.max_gap = static_cast<int>(*v);
      if (auto v = reader.Duration("backoff")) {
        if (*v <= 0 || *v > kMaxModbusBackoff) {
          reader.Problem("backoff", "\"backoff\" must be greater than zero and at most 30s");
        } else {
          options.backoff = *v;
        }
      }
      reader.Finish();
      break;
    }
    case Protocol::kOpcUa: {
      MapReader reader(*node, where, what,
                       {"security_policy", "security_mode", "timeout", "username", "password_env", "password"},
                       problems);
      // The policies the OPC UA client implements (docs/opcua.md); others are refused here
      // rather than failing at run time.
      static constexpr std::string_view kPolicies[] = {"None", "Basic256Sha256"};
      static constexpr std::string_view kModes[] = {"None", "Sign", "SignAndEncrypt"};
      auto policy = reader.OneOf("security_policy", {kPolicies[0], kPolicies[1]});
      auto mode = reader.OneOf("security_mode", {kModes[0], kModes[1], kModes[2]});
      if (policy) options.security_policy = std::string(kPolicies[*policy]);
      if (mode) options.security_mode = std::string(kModes[*mode]);
      bool policy_read = !reader.Has("security_policy") || policy.has_value();
      bool mode_read = !reader.Has("security_mode") || mode.has_value();
      bool policy_none = options.security_policy == "None";
      if (policy_read && mode_read && policy_none != (options.security_mode == "None")) {
        reader.Problem(reader.Has("security_mode") ? "security_mode" : "security_policy",
                       fmt::format("security_policy {} needs security_mode {} (got {})", options.security_policy,
                                   policy_none ? "None" : "Sign or SignAndEncrypt", options.security_mode));
      }
      if (auto v = reader.Duration("timeout")) options.timeout = *v;
      ParseCredentials(reader, &options);
      reader.Finish();
      break;
    }
    case Protocol::kMqtt: {
      MapReader reader(*node, where, what,
                       {"client_id", "qos", "username", "password_env", "password", "topics", "remote_prefix",
                        "local_prefix", "may_provision", "clean_session", "version", "keep_alive", "tls_ca_file",
                        "tls_insecure"},
                       problems);
      ParseMqttOptions(reader, out->endpoint, &options);
      reader.Finish();
      break;
    }
    case Protocol::kSparkplug: {
      MapReader reader(*node, where, what,
                       {"group_id", "host_id", "client_id", "qos", "provision_path", "username", "password_env", "password"},
                       problems);
      if (auto v = reader.Name("group_id", kRequired)) options.group_id = *v;
      ParseCredentials(reader, &options);
      if (auto v = reader.Name("host_id")) options.host_id = *v;
      if (auto v = reader.String("provision_path")) options.provision_path = *v;
      if (auto v = reader.String("client_id")) options.client_id = *v;
      if (auto v = reader.Int("qos", 0, 1)) options.qos = static_cast<int>(*v);
      reader.Finish();
      break;
    }
    case Protocol::kHttp: {
      MapReader reader(*node, where, what, {"format", "timeout"}, problems);
      if (auto v = reader.OneOf("format", {"json", "line"})) options.format = *v == 0 ? "json" : "line";
      if (auto v = reader.Duration("timeout")) options.timeout = *v;
      reader.Finish();
      break;
    }
  }
}

}  // namespace

// username + password_env (the name of an environment variable holding the password, read
// when the source connects). The password itself never goes in the file.
void ParseCredentials(MapReader& reader, SourceOptions* options) {
  if (reader.Has("password")) {
    reader.Problem("password", "passwords never go in the configuration file; put it in an environment "
                               "variable and name that variable in password_env");
  }
  if (auto v = reader.String("username")) {
    if (v->empty()) {
      reader.Problem("username", "must not be empty (leave it out for anonymous login)");
    } else {
      options->username = *v;
    }
  }
  if (auto v = reader.String("password_env")) {
    if (!IsEnvVarName(*v)) {
      reader.Problem("password_env", fmt::format("must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), got \"{}\"", *v));
    } else {
      options->password_env = *v;
    }
  }
  if (reader.Has("username") != reader.Has("password_env")) {
    reader.Problem(reader.Has("username") ? "username" : "password_env",
                   "username and password_env go together (password_env names the environment variable "
                   "holding the user's password)");
  }
}

std::optional<std::string> CheckHostPort(std::string_view text, std::string* host, uint16_t* port) {
  std::optional<uint16_t> parsed_port;
  std::optional<std::string> why = CheckAuthority(text, /*port_required=*/true, host, &parsed_port);
  if (!why && parsed_port) *port = *parsed_port;
  return why;
}

std::string KnownNames(const std::vector<std::string>& names) {
  if (names.empty()) return "none are defined";
  constexpr size_t kMaxListed = 8;
  std::string out = "known: ";
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kMaxListed) out += fmt::format(" and {} more", names.size() - kMaxListed);
  return out;
}

std::optional<TagSpec> ParseTagSpec(const YAML::Node& node, ConfigLocation fallback, Problems* problems) {
  MapReader reader(node, fallback, "tag",
                   {"name", "type", "unit", "range", "description", "deadband", "writable", "binding"}, problems);
  if (!reader.valid()) return std::nullopt;
  TagSpec spec;
  spec.location = reader.location();
  std::optional<std::string> name = reader.ReadName();
  spec.name = name.value_or("");
  spec.name_location = reader.ValueLocation("name");
  if (auto type = reader.OneOf("type", {"double", "int64", "bool", "string"})) {
    spec.type = static_cast<core::ValueType>(*type);
  }
  spec.type_written = reader.Has("type");
  spec.type_location = reader.ValueLocation("type");
  spec.unit = reader.String("unit");
  spec.description = reader.String("description");
  if (auto range = reader.Sequence("range")) {
    spec.range_location = reader.ValueLocation("range");
    if (range->size() != 2) {
      reader.Problem("range", fmt::format("\"range\" must be [min, max] (got a sequence of {})", range->size()));
    } else {
      std::optional<double> bounds[2];
      ForEachElement(*range, spec.range_location, [&](const YAML::Node& element, size_t index, ConfigLocation at) {
        static constexpr std::string_view kBound[2] = {"min", "max"};
        double value = 0.0;
        const std::string& text = element.IsScalar() ? element.Scalar() : std::string();
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!element.IsScalar() || element.Tag() == "!" || ec != std::errc() ||
            ptr != text.data() + text.size() || !std::isfinite(value)) {
          reader.ProblemAt(at, fmt::format("\"range\" {} must be a finite number (got {})", kBound[index],
                                           Describe(element)));
        } else {
          bounds[index] = value;
        }
      });
      if (bounds[0] && bounds[1]) {
        if (*bounds[0] > *bounds[1]) {
          reader.Problem("range", fmt::format("\"range\" min {} is greater than max {}", *bounds[0], *bounds[1]));
        } else {
          spec.range = TagRange{*bounds[0], *bounds[1]};
        }
      }
    }
  }
  if (auto deadband = reader.Double("deadband")) {
    if (*deadband < 0) {
      reader.Problem("deadband", fmt::format("\"deadband\" must be zero or positive (got {})", *deadband));
    } else {
      spec.deadband = *deadband;
    }
  }
  spec.deadband_location = reader.ValueLocation("deadband");
  spec.writable = reader.Bool("writable");
  spec.writable_location = reader.ValueLocation("writable");
  if (auto binding = reader.Map("binding")) {
    MapReader binding_reader(*binding, reader.ValueLocation("binding"), reader.what() + " binding",
                             {"source", "address"}, problems);
    spec.has_binding = binding_reader.valid();
    spec.source = binding_reader.Name("source");
    spec.source_location = binding_reader.ValueLocation("source");
    spec.address = binding_reader.String("address");
    spec.address_location = binding_reader.ValueLocation("address");
    binding_reader.Finish();
  }
  reader.Finish();
  if (!name) return std::nullopt;
  return spec;
}

std::vector<TagSpec> ParseTagList(MapReader& owner, Problems* problems) {
  std::vector<TagSpec> tags;
  std::optional<YAML::Node> list = owner.Sequence("tags");
  if (!list) return tags;
  ForEachElement(*list, owner.ValueLocation("tags"), [&](const YAML::Node& element, size_t, ConfigLocation at) {
    std::optional<TagSpec> spec = ParseTagSpec(element, at, problems);
    if (!spec) return;
    for (const TagSpec& earlier : tags) {
      if (earlier.name == spec->name) {
        problems->Add(spec->name_location,
                      fmt::format("{}: duplicate tag name \"{}\" (first at line {})", owner.what(), spec->name,
                                  earlier.name_location.line));
        return;
      }
    }
    tags.push_back(std::move(*spec));
  });
  return tags;
}

std::vector<SourceConfig> ParseSources(const YAML::Node& sequence, ConfigLocation fallback, Problems* problems) {
  std::vector<SourceConfig> sources;
  ForEachElement(sequence, fallback, [&](const YAML::Node& element, size_t, ConfigLocation at) {
    MapReader reader(element, at, "source", {"name", "description", "protocol", "endpoint", "poll_interval", "options"},
                     problems);
    if (!reader.valid()) return;
    SourceConfig source;
    source.location = reader.location();
    std::optional<std::string> name = reader.ReadName();
    reader.String("description");
    auto protocol = reader.OneOf("protocol", {"modbus", "opcua", "mqtt", "sparkplug", "http"}, kRequired);
    std::optional<std::string> endpoint = reader.String("endpoint", kRequired);
    std::optional<core::Duration> poll = reader.Duration("poll_interval");
    if (protocol) {
      source.protocol = static_cast<Protocol>(*protocol);
      if (endpoint) {
        if (std::optional<std::string> why = CheckEndpoint(source.protocol, *endpoint)) {
          reader.Problem("endpoint", fmt::format("\"endpoint\" {} is not valid: {}", Quote(*endpoint), *why));
        }
      }
      if (IsPolled(source.protocol)) {
        source.poll_interval = kDefaultPollInterval;
        if (poll && *poll <= 0) {
          reader.Problem("poll_interval", "\"poll_interval\" must be greater than zero");
        } else if (poll) {
          source.poll_interval = *poll;
        }
      } else if (reader.Has("poll_interval")) {
        reader.Problem("poll_interval", fmt::format("\"poll_interval\" does not apply to {} sources (they push data)",
                                                    ProtocolName(source.protocol)));
      }
      if (endpoint) source.endpoint = *endpoint;
      ParseOptions(reader, source.protocol, &source, problems);
    }
    if (endpoint) source.endpoint = *endpoint;
    reader.Finish();
    if (!name) return;
    source.name = *name;
    for (const SourceConfig& earlier : sources) {
      if (earlier.name == source.name) {
        reader.Problem("name", fmt::format("duplicate source name (first at line {})", earlier.location.line));
        return;
      }
    }
    sources.push_back(std::move(source));
  });
  return sources;
}

StorageConfig ParseStorage(const YAML::Node& node, ConfigLocation fallback, Problems* problems) {
  StorageConfig storage;
  MapReader reader(node, fallback, "storage", {"data_dir", "durability", "head_memory", "disk_quota", "retention"},
                   problems);
  if (auto dir = reader.String("data_dir")) {
    if (dir->empty()) {
      reader.Problem("data_dir", "\"data_dir\" must not be empty");
    } else {
      storage.data_dir = *dir;
    }
  }
  if (auto durability = reader.String("durability")) {
    constexpr std::string_view kPrefix = "interval=";
    std::string_view text = *durability;
    if (text == "always") {
      storage.durability = DurabilityMode::kAlways;
    } else if (text == "none") {
      storage.durability = DurabilityMode::kNone;
    } else if (text.starts_with(kPrefix)) {
      std::string_view interval = text.substr(kPrefix.size());
      bool all_digits = !interval.empty() && interval.find_first_not_of("0123456789") == std::string_view::npos;
      core::Result<core::Duration> parsed =
          all_digits ? ParseDuration(std::string(interval) + "ms") : ParseDuration(interval);
      if (!parsed.ok() || *parsed <= 0) {
        reader.Problem("durability",
                       fmt::format("\"durability\" interval must be a positive number of milliseconds such as "
                                   "interval=100 (got {}){}",
                                   Quote(*durability),
                                   parsed.ok() ? "" : ": " + parsed.status().message()));
      } else {
        storage.durability = DurabilityMode::kInterval;
        storage.durability_interval = *parsed;
      }
    } else {
      reader.Problem("durability", fmt::format("\"durability\" must be one of always, none, interval=<ms> (got {})",
                                               Quote(*durability)));
    }
  }
  if (auto head = reader.ByteSize("head_memory")) {
    if (*head < (1ull << 20)) {
      reader.Problem("head_memory", fmt::format("\"head_memory\" must be at least 1MiB (got {} bytes)", *head));
    } else {
      storage.head_memory = *head;
    }
  }
  if (auto quota = reader.ByteSize("disk_quota")) storage.disk_quota = *quota;
  if (auto retention = reader.Sequence("retention")) {
    ForEachElement(*retention, reader.ValueLocation("retention"),
                   [&](const YAML::Node& element, size_t index, ConfigLocation at) {
                     MapReader rule_reader(element, at, fmt::format("storage retention[{}]", index),
                                           {"match", "max_age"}, problems);
                     if (!rule_reader.valid()) return;
                     RetentionRule rule;
                     rule.location = rule_reader.location();
                     std::optional<std::string> match = rule_reader.String("match", kRequired);
                     if (match && !IsValidGlob(*match)) {
                       rule_reader.Problem("match", fmt::format("\"match\" must be a glob over series keys using "
                                                                "A-Z a-z 0-9 _ - . / * ? (got {})",
                                                                Quote(*match)));
                       match.reset();
                     }
                     // A plain value, not the optional: g++ 12 -O2 warns maybe-uninitialized on it.
                     core::Duration max_age = rule_reader.Duration("max_age", kRequired).value_or(-1);
                     if (max_age == 0 || max_age < -1) {
                       rule_reader.Problem("max_age", "\"max_age\" must be greater than zero");
                       max_age = -1;
                     }
                     rule_reader.Finish();
                     if (match && max_age > 0) {
                       rule.match = *match;
                       rule.max_age = max_age;
                       storage.retention.push_back(std::move(rule));
                     }
                   });
  }
  reader.Finish();
  return storage;
}

ServerConfig ParseServer(const YAML::Node& node, ConfigLocation fallback, Problems* problems) {
  ServerConfig server;
  MapReader reader(node, fallback, "server", {"http", "tls_cert", "tls_key"}, problems);
  if (auto http = reader.String("http")) {
    std::string host;
    uint16_t port = 0;
    if (std::optional<std::string> why = CheckHostPort(*http, &host, &port)) {
      reader.Problem("http", fmt::format("\"http\" must be HOST:PORT such as 127.0.0.1:8080 (got {}: {})",
                                         Quote(*http), *why));
    } else {
      server.http_host = host;
      server.http_port = port;
    }
  }
  if (auto cert = reader.String("tls_cert")) server.tls_cert = *cert;
  if (auto key = reader.String("tls_key")) server.tls_key = *key;
  if (server.tls_cert.empty() != server.tls_key.empty()) {
    reader.Problem(server.tls_cert.empty() ? "tls_key" : "tls_cert",
                   "\"tls_cert\" and \"tls_key\" go together (PEM files for HTTPS)");
  }
  reader.Finish();
  return server;
}

}  // namespace shopfloor::model::internal
