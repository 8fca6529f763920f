#include "bench/storage/results.h"

#include <cmath>

#include <fmt/format.h>

namespace shopfloor::bench {
namespace {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out + '"';
}

}  // namespace

core::Status ResultWriter::Add(std::string_view benchmark, std::string_view system, std::string_view dataset,
                               std::string_view metric, double value, std::string_view unit) {
  if (!std::isfinite(value)) {
    return core::Status::InvalidArgument(fmt::format("result {} / {} is not finite", benchmark, metric));
  }
  std::string line = fmt::format(R"({{"benchmark":{},"system":{},"dataset":{},"metric":{},"value":{},"unit":{}}})",
                                 JsonString(benchmark), JsonString(system), JsonString(dataset),
                                 JsonString(metric), value, JsonString(unit)) +
                     "\n";
  bool to_stdout = path_.empty() || path_ == "-";
  std::FILE* f = to_stdout ? stdout : std::fopen(path_.c_str(), "a");
  if (!f) return core::Status::FromErrno(errno, "opening results file", path_);
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  if (to_stdout) {
    std::fflush(f);
  } else if (std::fclose(f) != 0) {
    ok = false;
  }
  if (!ok) return core::Status::IOError("writing results file", path_);
  return core::Status::OK();
}

}  // namespace shopfloor::bench
