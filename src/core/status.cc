#include "core/status.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace shopfloor::core {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "Invalid argument";
    case StatusCode::kNotFound: return "Not found";
    case StatusCode::kAlreadyExists: return "Already exists";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kIOError: return "IO error";
    case StatusCode::kNoSpace: return "No space";
    case StatusCode::kPermissionDenied: return "Permission denied";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kBusy: return "Busy";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kTimeout: return "Timeout";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kOutOfRange: return "Out of range";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kInternal: return "Internal error";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string message, StatusContext context) {
  if (code == StatusCode::kOk) return;
  rep_ = std::make_unique<Rep>(Rep{code, std::move(message), std::move(context)});
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

Status Status::FromErrno(int err, std::string_view what, std::string file) {
  StatusCode code = StatusCode::kIOError;
  switch (err) {
    case ENOSPC:
    case EDQUOT: code = StatusCode::kNoSpace; break;
    case ENOENT: code = StatusCode::kNotFound; break;
    case EEXIST: code = StatusCode::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = StatusCode::kPermissionDenied; break;
    case EAGAIN: code = StatusCode::kBusy; break;
    default: break;
  }
  StatusContext ctx;
  ctx.file = std::move(file);
  return Status(code, fmt::format("{}: {}", what, std::strerror(err)), std::move(ctx));
}

const std::string& Status::message() const noexcept {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const StatusContext& Status::context() const noexcept {
  static const StatusContext kEmpty;
  return rep_ ? rep_->context : kEmpty;
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return Status();
  return Status(rep_->code, fmt::format("{}: {}", prefix, rep_->message), rep_->context);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  const StatusContext& c = rep_->context;
  // Editor-style location first when we have a line: "file:line:col: message".
  if (c.line) {
    std::string loc = c.file.empty() ? std::string("<input>") : c.file;
    loc += fmt::format(":{}", *c.line);
    if (c.column) loc += fmt::format(":{}", *c.column);
    return fmt::format("{}: {}", loc, rep_->message);
  }
  std::string out = fmt::format("{}: {}", StatusCodeName(rep_->code), rep_->message);
  std::string where;
  if (!c.file.empty()) where += fmt::format("file {}", c.file);
  if (c.offset) where += fmt::format("{}offset {}", where.empty() ? "" : ", ", *c.offset);
  if (!c.peer.empty()) where += fmt::format("{}peer {}", where.empty() ? "" : ", ", c.peer);
  if (!where.empty()) out += fmt::format(" ({})", where);
  return out;
}

}  // namespace shopfloor::core
