// The plant configuration: one YAML file that describes the plant as an ISA-95 asset tree
// (enterprise -> sites -> areas -> lines -> cells -> machines), its asset types (tag
// templates), its data sources, and the storage and server settings.
//
// Format reference: docs/configuration.md. Example: config/demo-works.yaml.
//
// Validation collects every problem it can find (it does not stop at the first one); each is
// a core::Status (kInvalidArgument) whose context carries the file name and the 1-based line
// and column of the offending YAML node, so Status::ToString() reads like a compiler message:
//   demo.yaml:14:15: tag "temperature": "type" must be one of double, int64, bool, string (got "float")
//
// Asset paths and series keys. Every asset has a path made of the names of all its
// ancestors and itself, joined with '/', starting at the enterprise and always including the
// site (so two sites of one enterprise never collide):
//   demo-works/stuttgart/body-shop/press-line/press-1
// Levels that are skipped in the tree (a machine directly under an area, or directly under a
// line) are simply absent from the path. A tag's series key is `<asset path>/<tag name>`:
//   demo-works/stuttgart/body-shop/press-line/press-1/temperature
// Names are path segments: 1..128 characters from [A-Za-z0-9_.-], not "." or "..".
//
// Thread safety: the parse functions are reentrant; a PlantConfig is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "core/types.h"

namespace shopfloor::model {

// 1-based position of a definition in the configuration file (0 when unknown).
struct ConfigLocation {
  int line = 0;
  int column = 0;
};

// Engineering range of a tag, in its unit. Invariant after validation: min <= max.
struct TagRange {
  double min = 0.0;
  double max = 0.0;
};

// Where a tag's value comes from: a data source and a protocol-specific address, which the
// source's driver interprets (e.g. "hr:40001:float32" for Modbus, "ns=2;s=Press.Temp" for
// OPC UA, a metric name for Sparkplug).
struct TagBinding {
  std::string source;   // name of a SourceConfig; always resolved after validation
  std::string address;  // may be empty when the driver derives it (e.g. Sparkplug metric = tag name)
};

struct TagConfig {
  std::string name;
  core::ValueType type = core::ValueType::kDouble;
  std::string unit;                 // free text, e.g. "degC", "bar", "kW"; may be empty
  std::optional<TagRange> range;    // numeric types only
  std::string description;
  double deadband = 0.0;            // absolute, in `unit`; numeric types only; 0 = every change
  bool writable = false;            // a setpoint: through the binding, or an MQTT command without one
  std::optional<TagBinding> binding;
  std::string asset_type;           // the asset type this tag came from, empty if the asset's own
  ConfigLocation location;          // of the tag's definition (the machine's, when overridden)
  ConfigLocation address_location;  // of binding.address where written (else `location`), for drivers' checks
};

enum class AssetLevel : uint8_t { kEnterprise, kSite, kArea, kLine, kCell, kMachine };
std::string_view AssetLevelName(AssetLevel level);  // "enterprise", "site", ... "machine"

struct AssetConfig {
  AssetLevel level = AssetLevel::kEnterprise;
  std::string name;
  std::string path;            // see the header comment
  std::string description;
  std::string type;            // machines only: the asset type name, or empty
  std::string default_source;  // "source:" of this asset or the nearest ancestor, or empty
  // Effective tags: the asset type's tags (in the type's order, each possibly overridden
  // field by field by a tag of the same name on the machine), then the asset's own new tags.
  std::vector<TagConfig> tags;
  // Child assets in document order. Sites under the enterprise, areas under a site; under
  // an area: lines then machines; under a line: cells then machines; under a cell: machines.
  std::vector<AssetConfig> children;
  ConfigLocation location;
};

// A machine template: its tags are inherited by every machine naming it in "type:".
struct AssetTypeConfig {
  std::string name;
  std::string description;
  std::vector<TagConfig> tags;
  ConfigLocation location;
};

enum class Protocol : uint8_t { kModbus, kOpcUa, kMqtt, kSparkplug, kHttp };
std::string_view ProtocolName(Protocol protocol);  // "modbus", "opcua", ...

// Protocol options. Only the fields of the source's protocol may be set in the file (see
// docs/configuration.md); the others keep their defaults.
struct SourceOptions {
  // modbus
  int unit_id = 1;                       // 0..255
  bool word_swap = false;                // word_order: "big" (false) or "little" (true)
  bool byte_swap = false;                // byte_order: "big" (false) or "little" (true, bytes swapped in every register)
  int retries = 2;                       // 0..10: further attempts of a failed request
  int max_registers = 125;               // 1..125: registers per read request (bits: 16x, up to 2000)
  int max_gap = 0;                       // 0..100: unused registers a merged read may span
  core::Duration backoff = 500 * core::kMillisecond;  // initial reconnect backoff, doubling to 30 s
  // opcua
  std::string security_policy = "None";  // None | Basic256Sha256
  std::string security_mode = "None";    // None | Sign | SignAndEncrypt (None iff policy None)
  // opcua, mqtt
  std::string username;                  // empty: anonymous; set iff password_env is set
  std::string password_env;              // name of the environment variable holding the password
  // mqtt, sparkplug
  std::string client_id;                 // empty: derived from the source name
  int qos = 1;                           // 0..2
  // mqtt: a bridge to an external broker (docs/mqtt.md "Bridge mode")
  std::vector<std::string> topics;       // filters; empty: "<remote_prefix>/#", else "<enterprise>/#"
  std::string remote_prefix;             // with local_prefix: "<remote_prefix>/x" arrives as
  std::string local_prefix;              //   "<local_prefix>/x"; whole topic levels, no wildcards
  bool may_provision = false;            // may create assets and tags the model lacks
  bool clean_session = false;            // false: the broker queues messages while we are away
  int mqtt_version = 4;                  // version "3.1.1" (4) or "5" (5)
  core::Duration keep_alive = 30 * core::kSecond;
  std::string tls_ca_file;               // mqtts: CA bundle (empty: the system's CAs)
  bool tls_insecure = false;             // mqtts: skip the server host name check
  // sparkplug
  std::string group_id;                  // required for sparkplug
  std::string host_id;                   // primary host application id, optional
  std::string provision_path;            // asset path under which unknown devices become machines
  // http
  std::string format = "json";           // json | line
  // modbus, opcua, http
  core::Duration timeout = 5 * core::kSecond;
};

struct SourceConfig {
  std::string name;
  Protocol protocol = Protocol::kModbus;
  // "host:port" (modbus; also accepted for opcua, mqtt, sparkplug) or a URL:
  // opc.tcp://host:port[/path], mqtt[s]://host:port, http[s]://host[:port][/path].
  std::string endpoint;
  // Polled protocols (modbus, opcua, http) only; default 1s. Push protocols have none (0).
  core::Duration poll_interval = 0;
  SourceOptions options;
  ConfigLocation location;
};

enum class DurabilityMode : uint8_t {
  kAlways,    // fsync the WAL before acknowledging each batch
  kInterval,  // fsync at most every `interval`; acknowledge after write
  kNone,      // never fsync (tests, benchmarks)
};

struct RetentionRule {
  // Glob over series keys: '*' matches within one path segment, '**' across segments,
  // '?' one character other than '/'.
  std::string match;
  core::Duration max_age = 0;
  ConfigLocation location;
};

struct StorageConfig {
  std::string data_dir = "data";
  DurabilityMode durability = DurabilityMode::kAlways;
  core::Duration durability_interval = 0;  // kInterval only
  uint64_t head_memory = 256ull << 20;     // bytes
  uint64_t disk_quota = 0;                 // bytes; 0 = no quota
  std::vector<RetentionRule> retention;    // first match wins; no match = keep forever
};

struct ServerConfig {
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 8080;
  // HTTPS: PEM certificate and private key; both set or both empty. When set, the listener
  // speaks TLS only (HTTP and WebSocket).
  std::string tls_cert;
  std::string tls_key;
};

struct PlantConfig {
  std::string file_name;
  std::string timezone = "UTC";  // IANA name, from enterprise.timezone
  AssetConfig enterprise;        // the root of the asset tree
  std::vector<AssetTypeConfig> asset_types;
  std::vector<SourceConfig> sources;
  StorageConfig storage;
  ServerConfig server;

  // Null when absent. Pointers are valid while the config is alive and unmodified.
  const SourceConfig* FindSource(std::string_view name) const;
  const AssetTypeConfig* FindAssetType(std::string_view name) const;
  const AssetConfig* FindAsset(std::string_view path) const;
  // The first retention rule whose glob matches series_key, or null.
  const RetentionRule* RetentionFor(std::string_view series_key) const;
};

// Parses and validates a plant configuration. On success `problems` (if given) is empty.
// On failure the result holds the first problem and `problems` (if given) receives all of
// them, sorted by position. Never throws; any input bytes are safe.
core::Result<PlantConfig> ParsePlantConfig(std::string_view yaml_text, std::string_view file_name,
                                           std::vector<core::Status>* problems);

// Reads `path` through env and parses it; file_name in problems is `path`.
core::Result<PlantConfig> LoadPlantConfigFile(core::Env* env, const std::string& path,
                                              std::vector<core::Status>* problems);

// One (series key, tag) pair of the plant.
struct SeriesTag {
  std::string series_key;  // "<asset path>/<tag name>"
  const AssetConfig* asset = nullptr;
  const TagConfig* tag = nullptr;
};

// Every tag of every asset, depth-first in document order. The pointers refer into `config`.
std::vector<SeriesTag> ListSeries(const PlantConfig& config);

// "500ms", "10s", "5m", "2h", "30d", "1w", compounds in decreasing unit order ("1h30m"),
// and a bare "0". Units: ns, us, ms, s, m, h, d, w. Rejects negatives, fractions, garbage
// and values over INT64_MAX nanoseconds (~292 years).
core::Result<core::Duration> ParseDuration(std::string_view text);

// "512KiB", "256MiB", "20GiB", "1TiB" (powers of 1024), "500kB", "2MB", "1GB", "1TB"
// (powers of 1000), "4096B" or a bare "4096" (bytes). Rejects overflow past UINT64_MAX.
core::Result<uint64_t> ParseByteSize(std::string_view text);

// True when `name` is a valid asset/tag/source/type name (see the header comment).
bool IsValidName(std::string_view name);


}  // namespace shopfloor::model
