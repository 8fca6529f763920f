#include "auth/audit_head.h"

#include <charconv>

#include <fmt/format.h>

namespace shopfloor::auth {

namespace {
constexpr std::string_view kMagic = "shopfloor-audit-head v1 ";
constexpr size_t kHashHexLength = 64;
}  // namespace

std::string FormatAuditHead(const AuditHead& head) { return fmt::format("{}{} {}\n", kMagic, head.seq, head.hash); }

core::Result<AuditHead> ParseAuditHead(std::string_view text, const std::string& file) {
  auto bad = [&](std::string_view what, size_t offset) {
    return core::Status::Corruption(fmt::format("audit head file: {}", what), file, offset);
  };
  if (text.substr(0, kMagic.size()) != kMagic) return bad("does not start with \"shopfloor-audit-head v1 \"", 0);
  size_t pos = kMagic.size();
  AuditHead head;
  const char* begin = text.data() + pos;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, head.seq);
  if (ec != std::errc() || ptr == begin || head.seq < 1 || *begin == '0') return bad("bad sequence number", pos);
  pos = static_cast<size_t>(ptr - text.data());
  if (pos >= text.size() || text[pos] != ' ') return bad("expected a space after the sequence number", pos);
  ++pos;
  const std::string_view hash = text.substr(pos, kHashHexLength);
  if (hash.size() != kHashHexLength) return bad("hash is shorter than 64 hex digits", pos);
  for (size_t i = 0; i < hash.size(); ++i) {
    const char c = hash[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad("hash is not lower-case hex", pos + i);
  }
  pos += kHashHexLength;
  if (text.substr(pos) != "\n") return bad("trailing bytes after the hash", pos);
  head.hash = std::string(hash);
  return head;
}

}  // namespace shopfloor::auth
