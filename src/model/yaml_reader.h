// Internal to sf_model: a small validating reader over yaml-cpp nodes.
//
// Problems collects positioned problems for one file. MapReader wraps one YAML mapping with
// a fixed set of allowed keys and reads typed values from it; every read that fails records
// a problem ("<what>: <what was found and what was expected>") at the offending node and
// returns nullopt, so the caller simply carries on and all problems of a file are found in
// one pass. Nothing here throws: only non-throwing yaml-cpp accessors are used.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/status.h"
#include "core/types.h"
#include "model/plant_config.h"

namespace shopfloor::model::internal {

// 1-based location of a node; for a null node (whose yaml-cpp mark is unreliable) `fallback`.
ConfigLocation LocationOf(const YAML::Node& node, ConfigLocation fallback = {});
ConfigLocation LocationOf(const YAML::Mark& mark);

// `"text"` with control characters escaped and long text elided, for messages.
std::string Quote(std::string_view text);

// Describes a node for messages: `"text"`, `null`, `a sequence`, `a mapping`.
std::string Describe(const YAML::Node& node);

class Problems {
 public:
  // Upper bounds that keep hostile input (e.g. alias bombs) from exhausting time or memory.
  static constexpr size_t kMaxProblems = 1000;
  // A mapping is one asset, tag, source, ...; real plants stay far below this.
  static constexpr size_t kMaxMappings = 200'000;

  explicit Problems(std::string file_name) : file_(std::move(file_name)) {}

  // Beyond kMaxProblems problems are only counted, unless `always` is set.
  void Add(ConfigLocation where, std::string message, bool always = false);
  // Counts one mapping read; false (and one problem) once kMaxMappings is exceeded.
  bool CountMapping(ConfigLocation where);
  bool empty() const { return problems_.empty(); }
  // All problems sorted by position (stable), exact duplicates removed.
  std::vector<core::Status> Take();

 private:
  std::string file_;
  std::vector<core::Status> problems_;
  size_t dropped_ = 0;
  size_t mappings_ = 0;
};

class MapReader {
 public:
  enum Need { kOptional, kRequired };

  // `what` names the object in messages (e.g. `machine`); ReadName() refines it to
  // `machine "press-1"`. If node is not a mapping, one problem is recorded and valid() is
  // false; all reads then return nullopt silently.
  MapReader(const YAML::Node& node, ConfigLocation fallback, std::string what,
            std::initializer_list<std::string_view> allowed_keys, Problems* problems);

  bool valid() const { return valid_; }
  const std::string& what() const { return what_; }
  ConfigLocation location() const { return location_; }

  // Reads the "name" key (required, a valid name) and sets what() to `<what> "<name>"`.
  std::optional<std::string> ReadName();
  // Records unknown and duplicate keys. Call once, after ReadName().
  void Finish();

  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  ConfigLocation KeyLocation(std::string_view key) const;
  ConfigLocation ValueLocation(std::string_view key) const;

  std::optional<std::string> String(std::string_view key, Need need = kOptional);
  std::optional<std::string> Name(std::string_view key, Need need = kOptional);
  std::optional<double> Double(std::string_view key, Need need = kOptional);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max, Need need = kOptional);
  std::optional<bool> Bool(std::string_view key, Need need = kOptional);
  std::optional<core::Duration> Duration(std::string_view key, Need need = kOptional);
  std::optional<uint64_t> ByteSize(std::string_view key, Need need = kOptional);
  // Index into `choices` of the value, or nullopt with "must be one of ...".
  std::optional<size_t> OneOf(std::string_view key, std::initializer_list<std::string_view> choices,
                              Need need = kOptional);
  // The value node if it is a sequence / mapping; otherwise nullopt (and a problem if the
  // key is present with the wrong kind, or missing but required).
  std::optional<YAML::Node> Sequence(std::string_view key, Need need = kOptional);
  std::optional<YAML::Node> Map(std::string_view key, Need need = kOptional);

  // Records "<what>: <message>" at the value of `key` / at `where`.
  void Problem(std::string_view key, std::string_view message);
  void ProblemAt(ConfigLocation where, std::string_view message);

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* Find(std::string_view key) const;
  // The scalar text of key's value if it is a scalar, else a problem naming `expected`.
  std::optional<std::string> Scalar(std::string_view key, Need need, std::string_view expected,
                                    bool plain_only);

  Problems* problems_;
  std::string what_;
  ConfigLocation location_;
  std::vector<std::string_view> allowed_;
  std::vector<Entry> entries_;
  bool valid_ = false;
  bool finished_ = false;
};

// Calls fn(element, index, location) for each element of a sequence node.
template <typename Fn>
void ForEachElement(const YAML::Node& sequence, ConfigLocation fallback, Fn&& fn) {
  size_t index = 0;
  for (auto it = sequence.begin(); it != sequence.end(); ++it, ++index) {
    YAML::Node element = *it;
    fn(element, index, LocationOf(element, fallback));
  }
}

}  // namespace shopfloor::model::internal
