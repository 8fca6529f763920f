// Validation of the plant configuration: every kind of problem with its exact position,
// the all-problems-at-once contract, type inheritance and the asset paths.
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/env.h"
#include "model/plant_config.h"

namespace shopfloor::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Test YAML is written as a raw string starting with a newline, so that the first line
// after `R"(` is line 1.
std::string_view Strip(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return text;
}

// All problems of `yaml` as "file:line:col: message" strings.
std::vector<std::string> ProblemsOf(std::string_view yaml) {
  std::vector<core::Status> problems;
  auto result = ParsePlantConfig(Strip(yaml), "t.yaml", &problems);
  std::vector<std::string> out;
  for (const auto& problem : problems) out.push_back(problem.ToString());
  EXPECT_EQ(result.ok(), problems.empty());
  if (!result.ok() && !problems.empty()) {
    EXPECT_EQ(result.status().context().line, problems[0].context().line);
  }
  return out;
}

PlantConfig ParseOk(std::string_view yaml) {
  std::vector<core::Status> problems;
  auto result = ParsePlantConfig(Strip(yaml), "t.yaml", &problems);
  for (const auto& problem : problems) ADD_FAILURE() << problem.ToString();
  if (!result.ok()) return PlantConfig();
  return std::move(result).value();
}

TEST(PlantConfig, MinimalFileUsesDefaults) {
  PlantConfig config = ParseOk(R"(
enterprise:
  name: acme
  sites: []
)");
  EXPECT_EQ(config.enterprise.name, "acme");
  EXPECT_EQ(config.enterprise.path, "acme");
  EXPECT_EQ(config.timezone, "UTC");
  EXPECT_EQ(config.storage.durability, DurabilityMode::kAlways);
  EXPECT_EQ(config.storage.head_memory, 256ull << 20);
  EXPECT_EQ(config.storage.disk_quota, 0u);
  EXPECT_EQ(config.storage.data_dir, "data");
  EXPECT_EQ(config.server.http_port, 8080);
  EXPECT_TRUE(ListSeries(config).empty());
}

TEST(PlantConfig, TheExampleMessageFromTheDocs) {
  auto problems = ProblemsOf(R"(
sources:
  - name: plc
    protocol: modbus
    endpoint: 127.0.0.1:502
enterprise:
  name: demo
  sites:
    - name: s
      areas:
        - name: a
          machines:
            - name: m
              tags: [{name: temperature, type: float}]
)");
  EXPECT_THAT(problems, ElementsAre("t.yaml:13:48: tag \"temperature\": \"type\" must be one of double, int64, "
                                    "bool, string (got \"float\")"));
}

TEST(PlantConfig, YamlSyntaxErrorHasPosition) {
  auto problems = ProblemsOf(R"(
enterprise:
  name: acme
  sites: [a, b
storage: {}
)");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("t.yaml:4:8: YAML syntax error: end of sequence flow not found"));
  EXPECT_THAT(ProblemsOf("a: b: c\n"), ElementsAre("t.yaml:1:5: YAML syntax error: illegal map value"));
}

TEST(PlantConfig, EmptyFileAndWrongTopLevel) {
  EXPECT_THAT(ProblemsOf(""), ElementsAre("t.yaml:1:1: the file is empty (expected a mapping with at least "
                                          "\"enterprise\")"));
  EXPECT_THAT(ProblemsOf("- a\n- b\n"),
              ElementsAre("t.yaml:1:1: plant configuration: expected a mapping (got a sequence)"));
  EXPECT_THAT(ProblemsOf("version: 1\n"),
              ElementsAre("t.yaml:1:1: plant configuration: missing required key \"enterprise\""));
  EXPECT_THAT(ProblemsOf("enterprise: {name: a, sites: []}\n---\nx: 1\n"),
              ElementsAre("t.yaml:2:1: the file holds more than one YAML document; exactly one is expected"));
  // yaml-cpp 0.7's LoadAll never returns on a lone ","; we must.
  EXPECT_THAT(ProblemsOf(","), ElementsAre("t.yaml:1:1: the file is empty (expected a mapping with at least "
                                           "\"enterprise\")"));
}

TEST(PlantConfig, WrongScalarSequenceAndMapTypes) {
  auto problems = ProblemsOf(R"(
version: "1"
enterprise:
  name: acme
  sites:
    - name: s
      areas: {a: 1}
    - name: t
      areas:
        - name: a
          machines:
            - name: m
              tags: 5
            - name: n
              tags:
                - name: x
                  type: double
                  deadband: fast
                  writable: yes
                  range: [0, ten]
                - just-a-string
storage: [1]
)");
  EXPECT_THAT(problems,
              ElementsAre("t.yaml:1:10: plant configuration: \"version\" must be an integer (got the quoted string "
                          "\"1\")",
                          "t.yaml:6:14: site \"s\": \"areas\" must be a sequence (got a mapping)",
                          "t.yaml:12:21: machine \"m\": \"tags\" must be a sequence (got \"5\")",
                          "t.yaml:17:29: tag \"x\": \"deadband\" must be a finite number (got \"fast\")",
                          "t.yaml:18:29: tag \"x\": \"writable\" must be true or false (got \"yes\")",
                          "t.yaml:19:30: tag \"x\": \"range\" max must be a finite number (got \"ten\")",
                          "t.yaml:20:19: tag: expected a mapping (got \"just-a-string\")",
                          "t.yaml:21:10: plant configuration: \"storage\" must be a mapping (got a sequence)"));
}

TEST(PlantConfig, UnknownAndDuplicateKeys) {
  auto problems = ProblemsOf(R"(
enterprise:
  name: acme
  sites: []
  colour: blue
server:
  http: 127.0.0.1:80
  http: 127.0.0.1:81
)");
  EXPECT_THAT(problems, ElementsAre("t.yaml:4:3: enterprise \"acme\": unknown key \"colour\" (allowed: name, "
                                    "description, timezone, source, tags, sites)",
                                    "t.yaml:7:3: server: duplicate key \"http\" (first at line 6)"));
}

TEST(PlantConfig, MissingRequiredKeys) {
  auto problems = ProblemsOf(R"(
sources:
  - name: plc
    protocol: modbus
enterprise:
  sites:
    - name: s
      tags:
        - name: t
)");
  EXPECT_THAT(problems, ElementsAre("t.yaml:2:5: source \"plc\": missing required key \"endpoint\"",
                                    "t.yaml:5:3: enterprise: missing required key \"name\"",
                                    "t.yaml:8:11: tag \"t\": missing required key \"type\""));
}

TEST(PlantConfig, DuplicateNames) {
  auto problems = ProblemsOf(R"(
enterprise:
  name: acme
  sites:
    - name: s
      areas:
        - name: a
          lines:
            - name: l1
            - name: l1
          machines:
            - name: l1
            - name: m
              tags:
                - {name: t, type: double}
                - {name: t, type: int64}
)");
  EXPECT_THAT(problems,
              ElementsAre("t.yaml:9:21: line \"l1\": duplicate asset name under area \"a\" (first at line 8)",
                          "t.yaml:11:21: machine \"l1\": duplicate asset name under area \"a\" (first at line 8)",
                          "t.yaml:15:26: machine \"m\": duplicate tag name \"t\" (first at line 14)"));
}

TEST(PlantConfig, RangeMinGreaterThanMaxAndNumericOnlyFields) {
  auto problems = ProblemsOf(R"(
enterprise:
  name: acme
  tags:
    - {name: a, type: double, range: [10, 0]}
    - {name: b, type: double, range: [1, 2, 3]}
    - {name: c, type: bool, range: [0, 1]}
    - {name: d, type: string, deadband: 1}
    - {name: e, type: int64, deadband: -1}
  sites: []
)");
  EXPECT_THAT(problems, ElementsAre("t.yaml:4:38: tag \"a\": \"range\" min 10 is greater than max 0",
                                    "t.yaml:5:38: tag \"b\": \"range\" must be [min, max] (got a sequence of 3)",
                                    "t.yaml:6:36: tag \"c\": \"range\" applies only to double and int64 tags (this "
                                    "tag is bool)",
                                    "t.yaml:7:41: tag \"d\": \"deadband\" applies only to double and int64 tags "
                                    "(this tag is string)",
                                    "t.yaml:8:40: tag \"e\": \"deadband\" must be zero or positive (got -1)"));
}

TEST(PlantConfig, BindingsToUnknownSourcesAndWritableWithoutBinding) {
  auto problems = ProblemsOf(R"(
sources:
  - {name: plc, protocol: modbus, endpoint: "127.0.0.1:502"}
enterprise:
  name: acme
  source: nope
  tags:
    - name: a
      type: double
      binding: {source: plc2, address: "hr:1"}
    - name: b
      type: double
      writable: true
    - name: c
      type: double
      binding: {address: "hr:2"}
  sites: []
)");
  EXPECT_THAT(problems,
              ElementsAre("t.yaml:5:11: enterprise \"acme\": \"source\" names unknown source \"nope\" (known: plc)",
                          "t.yaml:9:25: tag \"a\" binding: \"source\" names unknown source \"plc2\" (known: plc)",
                          "t.yaml:13:7: tag \"c\": the binding has no \"source\" and no default \"source\" is set "
                          "on enterprise \"acme\" or its parents"));
}

TEST(PlantConfig, UnknownAssetTypeAndInvalidNames) {
  auto problems = ProblemsOf(R"(
asset_types:
  - name: robot
enterprise:
  name: acme
  sites:
    - name: s/1
    - name: s
      areas:
        - name: ".."
        - name: a
          machines:
            - {name: m, type: robbot}
            - {name: "m 2"}
          lines:
            - name: l
              tags: [{name: "", type: bool}]
)");
  EXPECT_THAT(problems,
              ElementsAre("t.yaml:6:13: site: \"name\" must be 1-128 characters from A-Z a-z 0-9 _ - . and not \".\" "
                          "or \"..\" (got \"s/1\")",
                          "t.yaml:9:17: area: \"name\" must be 1-128 characters from A-Z a-z 0-9 _ - . and not \".\" "
                          "or \"..\" (got \"..\")",
                          "t.yaml:12:31: machine \"m\": \"type\" names unknown asset type \"robbot\" (known: robot)",
                          "t.yaml:13:22: machine: \"name\" must be 1-128 characters from A-Z a-z 0-9 _ - . and not "
                          "\".\" or \"..\" (got \"m 2\")",
                          "t.yaml:16:29: tag: \"name\" must be 1-128 characters from A-Z a-z 0-9 _ - . and not \".\" "
                          "or \"..\" (got \"\")"));
}

TEST(PlantConfig, InvalidDurationsSizesAndDurability) {
  auto problems = ProblemsOf(R"(
sources:
  - {name: plc, protocol: modbus, endpoint: "127.0.0.1:502", poll_interval: 10x}
enterprise: {name: acme, sites: []}
storage:
  durability: sometimes
  head_memory: 256MB!
  disk_quota: 99999999999TiB
  retention:
    - {match: "**", max_age: 30days}
    - {match: "a b", max_age: 0s}
)");
  EXPECT_THAT(
      problems,
      ElementsAre("t.yaml:2:77: source \"plc\": \"poll_interval\": invalid duration \"10x\": unknown unit \"x\" "
                  "(expected one of ns, us, ms, s, m, h, d, w)",
                  "t.yaml:5:15: storage: \"durability\" must be one of always, none, interval=<ms> (got \"sometimes\")",
                  "t.yaml:6:16: storage: \"head_memory\": invalid size \"256MB!\": unknown unit \"MB!\" (expected one "
                  "of B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)",
                  "t.yaml:7:15: storage: \"disk_quota\": invalid size \"99999999999TiB\": too large (the maximum is "
                  "2^64-1 bytes)",
                  "t.yaml:9:30: storage retention[0]: \"max_age\": invalid duration \"30days\": unknown unit \"days\" "
                  "(expected one of ns, us, ms, s, m, h, d, w)",
                  "t.yaml:10:15: storage retention[1]: \"match\" must be a glob over series keys using A-Z a-z 0-9 _ - "
                  ". / * ? (got \"a b\")",
                  "t.yaml:10:31: storage retention[1]: \"max_age\" must be greater than zero"));
  EXPECT_THAT(ProblemsOf("enterprise: {name: a, sites: []}\nstorage: {durability: interval=0}\n"),
              ElementsAre("t.yaml:2:23: storage: \"durability\" interval must be a positive number of milliseconds "
                          "such as interval=100 (got \"interval=0\")"));
  PlantConfig config = ParseOk("enterprise: {name: a, sites: []}\nstorage: {durability: interval=2s}\n");
  EXPECT_EQ(config.storage.durability_interval, 2 * core::kSecond);
}

TEST(PlantConfig, OnlyImplementedOpcUaSecurityPoliciesAreAccepted) {
  auto problems = ProblemsOf(R"(
sources:
  - {name: b, protocol: opcua, endpoint: "h:4840", options: {security_policy: Aes256_Sha256_RsaPss, security_mode: Sign}}
enterprise: {name: acme, sites: []}
)");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("security_policy"));
  EXPECT_THAT(problems[0], HasSubstr("Basic256Sha256"));
  ParseOk(R"(
sources:
  - {name: b, protocol: opcua, endpoint: "h:4840", options: {security_policy: Basic256Sha256, security_mode: SignAndEncrypt}}
enterprise: {name: acme, sites: []}
)");
}

TEST(PlantConfig, SourceEndpointsAndOptions) {
  auto problems = ProblemsOf(R"(
sources:
  - {name: a, protocol: modbus, endpoint: "opc.tcp://h:4840"}
  - {name: b, protocol: opcua, endpoint: "opc.tcp://h:4840/ua", options: {security_policy: Basic256Sha256}}
  - {name: c, protocol: mqtt, endpoint: "127.0.0.1:1883", poll_interval: 1s}
  - {name: d, protocol: sparkplug, endpoint: "mqtt://127.0.0.1:1883"}
  - {name: e, protocol: http, endpoint: "127.0.0.1:80"}
  - {name: f, protocol: modbus, endpoint: "h:99999", options: {unit_id: 300, speed: 1}}
  - {name: g, protocol: profinet, endpoint: "h:1"}
  - {name: a, protocol: modbus, endpoint: "h:1"}
enterprise: {name: acme, sites: []}
)");
  EXPECT_THAT(
      problems,
      ElementsAre(
          "t.yaml:2:43: source \"a\": \"endpoint\" \"opc.tcp://h:4840\" is not valid: a modbus endpoint is HOST:PORT "
          "without a scheme",
          "t.yaml:3:92: source \"b\" options: security_policy Basic256Sha256 needs security_mode Sign or "
          "SignAndEncrypt (got None)",
          "t.yaml:4:74: source \"c\": \"poll_interval\" does not apply to mqtt sources (they push data)",
          "t.yaml:5:5: source \"d\": missing required key \"options\" (sparkplug needs options.group_id)",
          "t.yaml:6:41: source \"e\": \"endpoint\" \"127.0.0.1:80\" is not valid: an http endpoint is a URL "
          "http[s]://HOST[:PORT][/PATH]",
          "t.yaml:7:43: source \"f\": \"endpoint\" \"h:99999\" is not valid: the port must be a number from 0 to 65535",
          "t.yaml:7:73: source \"f\" options: \"unit_id\" must be an integer from 0 to 255 (got \"300\")",
          "t.yaml:7:78: source \"f\" options: unknown key \"speed\" (allowed: unit_id, word_order, byte_order, "
          "timeout, retries, max_registers, max_gap, backoff)",
          "t.yaml:8:25: source \"g\": \"protocol\" must be one of modbus, opcua, mqtt, sparkplug, http (got "
          "\"profinet\")",
          "t.yaml:9:12: source \"a\": duplicate source name (first at line 2)"));
}

TEST(PlantConfig, ModbusOptions) {
  PlantConfig config = ParseOk(R"(
sources:
  - name: plc
    protocol: modbus
    endpoint: "h:502"
    options: {unit_id: 7, word_order: little, byte_order: little, timeout: 250ms, retries: 0, max_registers: 60,
              max_gap: 4, backoff: 2s}
  - {name: plain, protocol: modbus, endpoint: "h:502"}
enterprise: {name: acme, sites: []}
)");
  const SourceOptions& o = config.sources[0].options;
  EXPECT_EQ(o.unit_id, 7);
  EXPECT_TRUE(o.word_swap);
  EXPECT_TRUE(o.byte_swap);
  EXPECT_EQ(o.timeout, 250 * core::kMillisecond);
  EXPECT_EQ(o.retries, 0);
  EXPECT_EQ(o.max_registers, 60);
  EXPECT_EQ(o.max_gap, 4);
  EXPECT_EQ(o.backoff, 2 * core::kSecond);
  const SourceOptions& d = config.sources[1].options;
  EXPECT_FALSE(d.byte_swap);
  EXPECT_EQ(d.retries, 2);
  EXPECT_EQ(d.max_registers, 125);
  EXPECT_EQ(d.max_gap, 0);
  EXPECT_EQ(d.backoff, 500 * core::kMillisecond);
  EXPECT_EQ(d.timeout, 5 * core::kSecond);

  auto problems = ProblemsOf(R"(
sources:
  - {name: a, protocol: modbus, endpoint: "h:1", options: {retries: 11, max_registers: 126, max_gap: 101}}
  - {name: b, protocol: modbus, endpoint: "h:1", options: {backoff: 31s, byte_order: middle, timeout: 0}}
enterprise: {name: acme, sites: []}
)");
  EXPECT_THAT(problems,
              ElementsAre(HasSubstr("\"retries\" must be an integer from 0 to 10 (got \"11\")"),
                          HasSubstr("\"max_registers\" must be an integer from 1 to 125 (got \"126\")"),
                          HasSubstr("\"max_gap\" must be an integer from 0 to 100 (got \"101\")"),
                          HasSubstr("\"backoff\" must be greater than zero and at most 30s"),
                          HasSubstr("\"byte_order\" must be one of big, little"),
                          HasSubstr("\"timeout\" must be greater than zero")));
}

TEST(PlantConfig, AcceptanceThreeProblemsInOneFile) {
  // One wrong type, one unknown key, one duplicate asset name: exactly three problems.
  const char* yaml = R"(
sources:
  - name: plc
    protocol: modbus
    endpoint: 127.0.0.1:502
    poll_interval: 1s
enterprise:
  name: acme
  timezone: Europe/Berlin
  source: plc
  sites:
    - name: berlin
      areas:
        - name: assembly
          machines:
            - name: press
              tags:
                - name: temperature
                  type: double
                  unit: degC
                  deadband: a-lot
                  binding: {address: "ir:0"}
            - name: drill
              colour: red
            - name: press
)";
  std::vector<core::Status> problems;
  auto result = ParsePlantConfig(Strip(yaml), "plant.yaml", &problems);
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].ToString(), "plant.yaml:20:29: tag \"temperature\": \"deadband\" must be a finite number "
                                    "(got \"a-lot\")");
  EXPECT_EQ(problems[1].ToString(), "plant.yaml:23:15: machine \"drill\": unknown key \"colour\" (allowed: name, "
                                    "description, type, source, tags)");
  EXPECT_EQ(problems[2].ToString(), "plant.yaml:24:21: machine \"press\": duplicate asset name under area "
                                    "\"assembly\" (first at line 15)");
  for (const auto& problem : problems) {
    EXPECT_TRUE(problem.IsInvalidArgument());
    EXPECT_EQ(problem.context().file, "plant.yaml");
    EXPECT_TRUE(problem.context().line.has_value());
    EXPECT_TRUE(problem.context().column.has_value());
  }
  EXPECT_THAT(result.status().message(), HasSubstr("(and 2 more problems)"));
}

TEST(PlantConfig, TypeInheritanceOverridesAndAdds) {
  PlantConfig config = ParseOk(R"(
sources:
  - {name: r1, protocol: modbus, endpoint: "10.0.0.1:502"}
  - {name: r2, protocol: modbus, endpoint: "10.0.0.2:502"}
asset_types:
  - name: robot
    tags:
      - {name: current, type: double, unit: A, range: [0, 400], binding: {address: "ir:0"}}
      - {name: state, type: int64, binding: {address: "ir:9"}}
enterprise:
  name: acme
  sites:
    - name: s
      areas:
        - name: a
          machines:
            - {name: robot-1, type: robot, source: r1}
            - name: robot-2
              type: robot
              source: r2
              tags:
                - {name: current, range: [0, 500], binding: {source: r1}}
                - {name: extra, type: bool}
)");
  const AssetConfig* r1 = config.FindAsset("acme/s/a/robot-1");
  const AssetConfig* r2 = config.FindAsset("acme/s/a/robot-2");
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  ASSERT_EQ(r1->tags.size(), 2u);
  EXPECT_EQ(r1->tags[0].binding->source, "r1");
  EXPECT_EQ(r1->tags[0].range->max, 400);
  ASSERT_EQ(r2->tags.size(), 3u);
  EXPECT_EQ(r2->tags[0].name, "current");
  EXPECT_EQ(r2->tags[0].unit, "A");                     // inherited
  EXPECT_EQ(r2->tags[0].range->max, 500);               // overridden
  EXPECT_EQ(r2->tags[0].binding->source, "r1");         // overridden source
  EXPECT_EQ(r2->tags[0].binding->address, "ir:0");      // inherited address
  EXPECT_EQ(r2->tags[0].asset_type, "robot");
  EXPECT_EQ(r2->tags[1].binding->source, "r2");         // machine default
  EXPECT_EQ(r2->tags[2].name, "extra");
  EXPECT_EQ(r2->tags[2].asset_type, "");
  EXPECT_FALSE(r2->tags[2].binding.has_value());
  ASSERT_NE(config.FindAssetType("robot"), nullptr);
  EXPECT_TRUE(config.FindAssetType("robot")->tags[0].binding->source.empty());
}

TEST(PlantConfig, TypeInheritanceProblemsPointAtTheMachine) {
  auto problems = ProblemsOf(R"(
asset_types:
  - name: robot
    tags:
      - {name: current, type: double, range: [0, 400], binding: {address: "ir:0"}}
      - {name: state, type: int64, binding: {address: "ir:9"}}
  - name: robot
enterprise:
  name: acme
  sites:
    - name: s
      areas:
        - name: a
          machines:
            - name: m
              type: robot
              tags:
                - {name: current, type: string}
)");
  EXPECT_THAT(problems,
              ElementsAre("t.yaml:6:11: asset type \"robot\": duplicate asset type name (first at line 2)",
                          "t.yaml:14:15: machine \"m\": tag \"state\" (from its asset type) has a binding without "
                          "\"source\" and no default \"source\" is set on this asset or its parents",
                          "t.yaml:17:19: tag \"current\": the binding has no \"source\" and no default \"source\" is "
                          "set on machine \"m\" or its parents",
                          "t.yaml:17:41: tag \"current\": \"range\" applies only to double and int64 tags (this tag "
                          "is string)"));
}

TEST(PlantConfig, PathsForMachinesUnderAreaLineAndCell) {
  PlantConfig config = ParseOk(R"(
enterprise:
  name: e
  sites:
    - name: s
      areas:
        - name: a
          machines: [{name: m1, tags: [{name: t, type: double}]}]
          lines:
            - name: l
              machines: [{name: m2}]
              cells:
                - name: c
                  machines: [{name: m3, tags: [{name: t, type: int64}]}]
)");
  EXPECT_NE(config.FindAsset("e/s/a/m1"), nullptr);
  EXPECT_NE(config.FindAsset("e/s/a/l/m2"), nullptr);
  EXPECT_NE(config.FindAsset("e/s/a/l/c/m3"), nullptr);
  EXPECT_EQ(config.FindAsset("e/s/a/l/c/m3")->level, AssetLevel::kMachine);
  EXPECT_EQ(config.FindAsset("e/s/a/l/c")->level, AssetLevel::kCell);
  EXPECT_EQ(config.FindAsset("e/s/a/m3"), nullptr);
  EXPECT_EQ(config.FindAsset("x/s"), nullptr);
  std::vector<std::string> keys;
  for (const SeriesTag& series : ListSeries(config)) keys.push_back(series.series_key);
  EXPECT_THAT(keys, ElementsAre("e/s/a/l/c/m3/t", "e/s/a/m1/t"));
}

TEST(PlantConfig, TimezoneAndServer) {
  auto problems = ProblemsOf(R"(
enterprise: {name: e, timezone: "Europe//Berlin", sites: []}
server: {http: "localhost"}
)");
  EXPECT_THAT(problems, ElementsAre("t.yaml:1:33: enterprise \"e\": \"timezone\" must be an IANA time zone name "
                                    "such as Europe/Berlin or UTC (got \"Europe//Berlin\")",
                                    "t.yaml:2:16: server: \"http\" must be HOST:PORT such as 127.0.0.1:8080 (got "
                                    "\"localhost\": the port is missing (expected HOST:PORT))"));
  PlantConfig config = ParseOk("enterprise: {name: e, timezone: America/Argentina/Buenos_Aires, sites: []}\n"
                               "server: {http: \"[::1]:9090\"}\n");
  EXPECT_EQ(config.timezone, "America/Argentina/Buenos_Aires");
  EXPECT_EQ(config.server.http_host, "[::1]");
  EXPECT_EQ(config.server.http_port, 9090);
}

TEST(PlantConfig, TlsCertificateAndKeyGoTogether) {
  PlantConfig config = ParseOk("enterprise: {name: e, sites: []}\n"
                               "server: {http: \"0.0.0.0:8443\", tls_cert: /etc/sf/cert.pem, tls_key: /etc/sf/key.pem}\n");
  EXPECT_EQ(config.server.tls_cert, "/etc/sf/cert.pem");
  EXPECT_EQ(config.server.tls_key, "/etc/sf/key.pem");
  std::vector<core::Status> problems;
  auto bad = ParsePlantConfig("enterprise: {name: e, sites: []}\nserver: {tls_cert: /etc/sf/cert.pem}\n", "t.yaml",
                              &problems);
  ASSERT_FALSE(bad.ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message().find("\"tls_cert\" and \"tls_key\" go together"), std::string::npos)
      << problems[0].ToString();
}

TEST(PlantConfig, AliasBombIsBounded) {
  // Twelve aliases per level through the six levels below the enterprise describe 12^6
  // (about 3 million) tags in a few hundred bytes; the walk must stop at the mapping budget.
  struct Level {
    const char* anchor;
    const char* item;
  };
  const Level levels[] = {{"t", "{name: t, type: double}"}, {"m", "{name: m, tags: *t}"},
                          {"c", "{name: c, machines: *m}"}, {"l", "{name: l, cells: *c}"},
                          {"a", "{name: a, lines: *l}"},    {"s", "{name: s, areas: *a}"}};
  std::string yaml = "anchors:\n";
  for (const Level& level : levels) {
    yaml += std::string("  - &") + level.anchor + " [";
    for (int i = 0; i < 12; ++i) yaml += std::string(i ? ", " : "") + level.item;
    yaml += "]\n";
  }
  yaml += "enterprise: {name: e, sites: *s}\n";
  std::vector<core::Status> problems;
  auto result = ParsePlantConfig(yaml, "bomb.yaml", &problems);
  ASSERT_FALSE(result.ok());
  EXPECT_LE(problems.size(), 1002u);
  bool budget_hit = false;
  for (const auto& problem : problems) {
    if (problem.message().find("more than 200000 mappings") != std::string::npos) budget_hit = true;
  }
  EXPECT_TRUE(budget_hit);
}

TEST(PlantConfig, LoadFileThroughEnv) {
  auto env = core::NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/etc").ok());
  ASSERT_TRUE(env->WriteFileAtomic("/etc/plant.yaml", "enterprise: {name: e, sites: [{name: s, bad: 1}]}\n").ok());
  std::vector<core::Status> problems;
  auto result = LoadPlantConfigFile(env.get(), "/etc/plant.yaml", &problems);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(problems[0].ToString(), HasSubstr("/etc/plant.yaml:1:41: site \"s\": unknown key \"bad\""));
  auto missing = LoadPlantConfigFile(env.get(), "/etc/none.yaml", &problems);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_EQ(problems.size(), 1u);
}

TEST(PlantConfig, OpcUaCredentials) {
  PlantConfig config = ParseOk(R"(
sources:
  - {name: a, protocol: opcua, endpoint: "h:4840", options: {username: operator, password_env: SF_OPCUA_PASSWORD}}
  - {name: b, protocol: opcua, endpoint: "h:4840"}
enterprise: {name: acme, sites: []}
)");
  ASSERT_EQ(config.sources.size(), 2u);
  EXPECT_EQ(config.sources[0].options.username, "operator");
  EXPECT_EQ(config.sources[0].options.password_env, "SF_OPCUA_PASSWORD");
  EXPECT_EQ(config.sources[1].options.username, "");
  EXPECT_EQ(config.sources[1].options.password_env, "");

  auto problems = ProblemsOf(R"(
sources:
  - {name: a, protocol: opcua, endpoint: "h:1", options: {username: op, password: secret, password_env: P}}
  - {name: b, protocol: opcua, endpoint: "h:1", options: {username: op}}
  - {name: c, protocol: opcua, endpoint: "h:1", options: {password_env: P}}
  - {name: d, protocol: opcua, endpoint: "h:1", options: {username: op, password_env: "1-bad"}}
  - {name: e, protocol: modbus, endpoint: "h:1", options: {username: op}}
enterprise: {name: acme, sites: []}
)");
  ASSERT_EQ(problems.size(), 5u) << ::testing::PrintToString(problems);
  EXPECT_THAT(problems[0], HasSubstr("source \"a\" options: passwords never go in the "
                                              "configuration file"));
  EXPECT_THAT(problems[1], HasSubstr("source \"b\" options: username and password_env go together"));
  EXPECT_THAT(problems[2], HasSubstr("source \"c\" options: username and password_env go together"));
  EXPECT_THAT(problems[3], HasSubstr("source \"d\" options: must name an environment variable"));
  EXPECT_THAT(problems[4], HasSubstr("source \"e\" options: unknown key \"username\""));
}

TEST(PlantConfig, MqttBridgeOptions) {
  PlantConfig config = ParseOk(R"(
sources:
  - name: plant-broker
    protocol: mqtt
    endpoint: "mqtts://broker.example:8883"
    options:
      client_id: sf-north
      qos: 1
      username: bridge
      password_env: SF_BRIDGE_PASSWORD
      topics: ["factory/#", "lab/+/temp"]
      remote_prefix: factory/site-a
      local_prefix: acme/north
      may_provision: true
      clean_session: false
      version: "5"
      keep_alive: 20s
      tls_ca_file: /etc/sf/ca.pem
  - {name: plain, protocol: mqtt, endpoint: "mqtt://127.0.0.1:1883"}
enterprise: {name: acme, sites: []}
)");
  ASSERT_EQ(config.sources.size(), 2u);
  const SourceOptions& o = config.sources[0].options;
  EXPECT_EQ(o.client_id, "sf-north");
  EXPECT_EQ(o.username, "bridge");
  EXPECT_EQ(o.password_env, "SF_BRIDGE_PASSWORD");
  EXPECT_EQ(o.topics, (std::vector<std::string>{"factory/#", "lab/+/temp"}));
  EXPECT_EQ(o.remote_prefix, "factory/site-a");
  EXPECT_EQ(o.local_prefix, "acme/north");
  EXPECT_TRUE(o.may_provision);
  EXPECT_FALSE(o.clean_session);
  EXPECT_EQ(o.mqtt_version, 5);
  EXPECT_EQ(o.keep_alive, 20 * core::kSecond);
  EXPECT_EQ(o.tls_ca_file, "/etc/sf/ca.pem");
  const SourceOptions& d = config.sources[1].options;
  EXPECT_TRUE(d.topics.empty());
  EXPECT_FALSE(d.may_provision);
  EXPECT_FALSE(d.clean_session);
  EXPECT_EQ(d.mqtt_version, 4);
  EXPECT_EQ(d.keep_alive, 30 * core::kSecond);

  auto problems = ProblemsOf(R"(
sources:
  - {name: a, protocol: mqtt, endpoint: "mqtt://h:1", options: {topics: ["ok/#", "bad/#/x", "x+/y"]}}
  - {name: b, protocol: mqtt, endpoint: "mqtt://h:1", options: {remote_prefix: "factory/"}}
  - {name: c, protocol: mqtt, endpoint: "mqtt://h:1", options: {local_prefix: "acme/+"}}
  - {name: d, protocol: mqtt, endpoint: "mqtt://h:1", options: {tls_ca_file: /ca.pem, password: x}}
  - {name: e, protocol: mqtt, endpoint: "mqtt://h:1", options: {version: "3", keep_alive: 2s, topics: []}}
enterprise: {name: acme, sites: []}
)");
  ASSERT_EQ(problems.size(), 11u) << ::testing::PrintToString(problems);
  EXPECT_THAT(problems[0], HasSubstr("t.yaml:2:"));
  EXPECT_THAT(problems[0], HasSubstr("topics[1] \"bad/#/x\" is not a valid topic filter: '#' must be a whole level and the last one"));
  EXPECT_THAT(problems[1], HasSubstr("topics[2] \"x+/y\" is not a valid topic filter: '+' must be a whole level"));
  EXPECT_THAT(problems[2], HasSubstr("t.yaml:3:"));
  EXPECT_THAT(problems[2], HasSubstr("source \"b\" options: remote_prefix \"factory/\" must not start or end with '/'"));
  EXPECT_THAT(problems[3], HasSubstr("source \"b\" options: remote_prefix and local_prefix go together"));
  EXPECT_THAT(problems[4], HasSubstr("source \"c\" options: local_prefix \"acme/+\" must not contain the wildcards"));
  EXPECT_THAT(problems[5], HasSubstr("source \"c\" options: remote_prefix and local_prefix go together"));
  EXPECT_THAT(problems[6], HasSubstr("source \"d\" options: tls_ca_file applies to an mqtts:// endpoint only"));
  EXPECT_THAT(problems[7], HasSubstr("source \"d\" options: passwords never go in the configuration file"));
  EXPECT_THAT(problems[8], HasSubstr("source \"e\" options: \"version\" must be one of"));
  EXPECT_THAT(problems[9], HasSubstr("keep_alive must be 0 (off) or from 5s to 65535s"));
  EXPECT_THAT(problems[10], HasSubstr("topics must list at least one topic filter"));
}

}  // namespace
}  // namespace shopfloor::model
