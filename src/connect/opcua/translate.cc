// TranslateBrowsePathsToNodeIds (Part 4, 5.8.4) and the text form of relative paths.
#include "connect/opcua/translate.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "connect/opcua/client.h"

namespace shopfloor::connect::opcua {

namespace {

constexpr uint32_t kTranslateRequest = 554, kTranslateResponse = 557;
constexpr uint32_t kHierarchical = 33;
constexpr std::string_view kReserved = "/.<>:#!&";

struct NamedReference {
  std::string_view name;
  uint32_t id;
};
constexpr NamedReference kReferenceTypes[] = {
    {"HierarchicalReferences", 33}, {"HasChild", 34},     {"Organizes", 35},   {"HasEventSource", 36},
    {"Aggregates", 44},             {"HasSubtype", 45},   {"HasProperty", 46}, {"HasComponent", 47},
    {"HasNotifier", 48},            {"HasOrderedComponent", 49},
};

core::Status PathError(size_t position, std::string_view what) {
  return core::Status::InvalidArgument(fmt::format("browse path: position {}: {}", position + 1, what));
}

// Reads an escaped name starting at *pos, up to the next unescaped separator.
core::Status ReadName(std::string_view text, size_t* pos, std::string* name, size_t* colon) {
  *colon = std::string::npos;
  for (; *pos < text.size(); ++*pos) {
    const char c = text[*pos];
    if (c == '&') {
      if (*pos + 1 >= text.size()) return PathError(*pos, "\"&\" escapes nothing");
      name->push_back(text[++*pos]);
    } else if (c == '/' || c == '.' || c == '<') {
      break;
    } else if (c == '>' || c == '#' || c == '!') {
      return PathError(*pos, fmt::format("\"{}\" must be escaped as \"&{}\" in a name", c, c));
    } else if (c == ':' && *colon == std::string::npos) {
      *colon = name->size();
      name->push_back(c);
    } else {
      name->push_back(c);
    }
  }
  return core::Status::OK();
}

}  // namespace

core::Result<BrowsePath> ParseBrowsePath(std::string_view text, uint16_t default_namespace) {
  BrowsePath path;
  size_t pos = 0;
  RelativePathElement next;  // the separator before the element being read
  if (!text.empty() && text[0] == '/') {
    path.starting_node = NodeId::Numeric(0, kRootFolder);
    pos = 1;
  }
  if (pos >= text.size()) return PathError(pos, "the path is empty");
  for (;;) {
    const size_t name_start = pos;
    std::string name;
    size_t colon = std::string::npos;
    SF_RETURN_IF_ERROR(ReadName(text, &pos, &name, &colon));
    next.target_name = QualifiedName{default_namespace, name};
    if (colon != std::string::npos) {
      // The namespace prefix is unescaped digits before the first unescaped ':'.
      const std::string prefix = name.substr(0, colon);
      uint32_t ns = 0;
      auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), ns);
      if (prefix.empty() || ec != std::errc() || end != prefix.data() + prefix.size() || ns > 0xFFFF) {
        return PathError(name_start, fmt::format("namespace \"{}\" is not a number 0..65535 (escape \":\" as \"&:\")",
                                                 prefix));
      }
      next.target_name = QualifiedName{static_cast<uint16_t>(ns), name.substr(colon + 1)};
    }
    if (next.target_name.name.empty()) return PathError(name_start, "a BrowseName is empty");
    path.elements.push_back(next);
    if (pos >= text.size()) break;

    // A separator.
    next = RelativePathElement{};
    const size_t sep = pos;
    if (text[pos] == '/') {
      next.reference_type = NodeId::Numeric(0, kHierarchical);
      ++pos;
    } else if (text[pos] == '.') {
      next.reference_type = NodeId::Numeric(0, kAggregates);
      ++pos;
    } else {  // '<'
      const size_t close = text.find('>', pos);
      if (close == std::string_view::npos) return PathError(sep, "\"<\" without a closing \">\"");
      std::string_view inside = text.substr(pos + 1, close - pos - 1);
      for (; !inside.empty() && (inside[0] == '#' || inside[0] == '!'); inside.remove_prefix(1)) {
        if (inside[0] == '#') next.include_subtypes = false;
        if (inside[0] == '!') next.is_inverse = true;
      }
      if (inside.starts_with("0:")) inside.remove_prefix(2);
      auto known = std::find_if(std::begin(kReferenceTypes), std::end(kReferenceTypes),
                                [&](const NamedReference& r) { return r.name == inside; });
      if (known == std::end(kReferenceTypes)) {
        return PathError(sep, fmt::format("unknown reference type \"{}\"", inside));
      }
      next.reference_type = NodeId::Numeric(0, known->id);
      pos = close + 1;
    }
    if (pos >= text.size()) return PathError(pos, "the path ends after a separator");
  }
  return path;
}

std::string BrowsePathToString(const BrowsePath& path) {
  std::string out;
  const bool from_root = path.starting_node == NodeId::Numeric(0, kRootFolder);
  if (from_root) out = "/";
  for (size_t i = 0; i < path.elements.size(); ++i) {
    const RelativePathElement& e = path.elements[i];
    if (i > 0) {
      const bool plain = e.include_subtypes && !e.is_inverse;
      if (plain && e.reference_type == NodeId::Numeric(0, kHierarchical)) {
        out += '/';
      } else if (plain && e.reference_type == NodeId::Numeric(0, kAggregates)) {
        out += '.';
      } else {
        std::string name = e.reference_type.ToString();
        for (const auto& r : kReferenceTypes) {
          if (e.reference_type == NodeId::Numeric(0, r.id)) name = r.name;
        }
        out += fmt::format("<{}{}{}>", e.include_subtypes ? "" : "#", e.is_inverse ? "!" : "", name);
      }
    }
    if (e.target_name.namespace_index != 0) out += fmt::format("{}:", e.target_name.namespace_index);
    for (char c : e.target_name.name) {
      if (kReserved.find(c) != std::string_view::npos) out += '&';
      out += c;
    }
  }
  return out;
}

core::Status DecodeBrowsePathResults(Decoder& d, std::vector<BrowsePathResult>* results) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n, 8));
  results->resize(n);
  for (auto& result : *results) {
    SF_RETURN_IF_ERROR(d.UInt32(&result.status));
    uint32_t targets = 0;
    SF_RETURN_IF_ERROR(d.ArrayLength(&targets, 5));
    result.targets.resize(targets);
    for (auto& target : result.targets) {
      SF_RETURN_IF_ERROR(Decode(d, &target.target));
      SF_RETURN_IF_ERROR(d.UInt32(&target.remaining_path_index));
    }
  }
  return SkipDiagnosticInfos(d);
}

core::Result<std::vector<BrowsePathResult>> Client::TranslateBrowsePaths(const std::vector<BrowsePath>& paths) {
  if (!max_nodes_per_translate_) {
    auto limit = Read({ReadValueId{NodeId::Numeric(0, kMaxNodesPerTranslateNode), kAttributeValue}});
    if (!limit.ok()) return limit.status().WithPrefix("reading MaxNodesPerTranslateBrowsePathsToNodeIds");
    const DataValue& value = limit->at(0);
    max_nodes_per_translate_ = value.status_code() == 0 && value.value &&
                                       std::holds_alternative<uint32_t>(value.value->scalar)
                                   ? std::get<uint32_t>(value.value->scalar)
                                   : 0;
  }
  const size_t batch = *max_nodes_per_translate_ == 0 ? std::max<size_t>(paths.size(), 1) : *max_nodes_per_translate_;
  std::vector<BrowsePathResult> results;
  results.reserve(paths.size());
  for (size_t start = 0; start < paths.size(); start += batch) {
    const size_t count = std::min(batch, paths.size() - start);
    uint32_t handle = 0;
    Encoder e;
    BeginRequest(e, kTranslateRequest, &handle);
    e.Int32(static_cast<int32_t>(count));
    for (size_t i = start; i < start + count; ++i) {
      Encode(e, paths[i].starting_node);
      e.Int32(static_cast<int32_t>(paths[i].elements.size()));
      for (const RelativePathElement& element : paths[i].elements) {
        Encode(e, element.reference_type);
        e.Boolean(element.is_inverse);
        e.Boolean(element.include_subtypes);
        Encode(e, element.target_name);
      }
    }
    ++translate_requests_;
    SF_ASSIGN_OR_RETURN(std::string response, channel_->Call(e.bytes()));
    Decoder d(response);
    SF_RETURN_IF_ERROR(BeginResponse(d, "TranslateBrowsePathsToNodeIds", kTranslateResponse, handle));
    std::vector<BrowsePathResult> batch_results;
    core::Status s = DecodeBrowsePathResults(d, &batch_results);
    if (!s.ok()) return s.WithPrefix("TranslateBrowsePathsToNodeIds response");
    if (batch_results.size() != count) {
      return core::Status::InvalidArgument(fmt::format("TranslateBrowsePathsToNodeIds response: {} results for {} paths",
                                                       batch_results.size(), count));
    }
    for (auto& result : batch_results) results.push_back(std::move(result));
  }
  return results;
}

}  // namespace shopfloor::connect::opcua
