// Status and Result<T>: how every Shopfloor function reports failure.
//
// A Status is cheap when OK (one enum, no allocation). A failed Status carries a code,
// a human-readable message and optional context (file and byte offset, peer, tag) so
// that an operator reading the log knows what went wrong and where.
// No exceptions cross module headers; callers write `if (!s.ok()) return s;` or use the
// SF_RETURN_IF_ERROR / SF_ASSIGN_OR_RETURN macros below.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace shopfloor::core {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,   // bad input from a user, a config file or a peer
  kNotFound,
  kAlreadyExists,
  kCorruption,        // stored data failed a checksum or structural check
  kIOError,           // the operating system refused an operation
  kNoSpace,           // ENOSPC or a quota was reached
  kPermissionDenied,
  kUnauthenticated,
  kBusy,              // e.g. a lock is held by another process
  kUnavailable,       // a peer is unreachable; retrying later may work
  kTimeout,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

// Where a problem was found. All fields optional.
struct StatusContext {
  std::string file;             // file path (data file, config file)
  std::optional<uint64_t> offset;  // byte offset in `file`
  std::optional<int> line;      // 1-based line (config, line protocol)
  std::optional<int> column;    // 1-based column
  std::string peer;             // remote address, e.g. "127.0.0.1:1883"
};

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(StatusCode code, std::string message, StatusContext context = {});

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg, StatusContext ctx = {}) {
    return {StatusCode::kInvalidArgument, std::move(msg), std::move(ctx)};
  }
  static Status NotFound(std::string msg, StatusContext ctx = {}) {
    return {StatusCode::kNotFound, std::move(msg), std::move(ctx)};
  }
  static Status AlreadyExists(std::string msg, StatusContext ctx = {}) {
    return {StatusCode::kAlreadyExists, std::move(msg), std::move(ctx)};
  }
  // Corruption names the file and byte offset where the damage was detected.
  static Status Corruption(std::string msg, std::string file, uint64_t offset) {
    StatusContext ctx;
    ctx.file = std::move(file);
    ctx.offset = offset;
    return {StatusCode::kCorruption, std::move(msg), std::move(ctx)};
  }
  static Status IOError(std::string msg, std::string file = {}) {
    StatusContext ctx;
    ctx.file = std::move(file);
    return {StatusCode::kIOError, std::move(msg), std::move(ctx)};
  }
  static Status NoSpace(std::string msg, std::string file = {}) {
    StatusContext ctx;
    ctx.file = std::move(file);
    return {StatusCode::kNoSpace, std::move(msg), std::move(ctx)};
  }
  static Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
  static Status Busy(std::string msg) { return {StatusCode::kBusy, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Timeout(std::string msg) { return {StatusCode::kTimeout, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
  static Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  // Maps an errno value to a code (ENOSPC -> kNoSpace, ENOENT -> kNotFound, ...).
  static Status FromErrno(int err, std::string_view what, std::string file = {});

  bool ok() const noexcept { return rep_ == nullptr; }
  StatusCode code() const noexcept { return rep_ ? rep_->code : StatusCode::kOk; }
  bool IsNotFound() const noexcept { return code() == StatusCode::kNotFound; }
  bool IsCorruption() const noexcept { return code() == StatusCode::kCorruption; }
  bool IsNoSpace() const noexcept { return code() == StatusCode::kNoSpace; }
  bool IsInvalidArgument() const noexcept { return code() == StatusCode::kInvalidArgument; }

  // The bare message (empty when OK).
  const std::string& message() const noexcept;
  // Context (empty when OK or when none was given).
  const StatusContext& context() const noexcept;
  // Returns a copy with extra context prefixed to the message, e.g. "opening WAL: ...".
  Status WithPrefix(std::string_view prefix) const;

  // "Corruption: bad record checksum (file wal/000001.log, offset 4096)".
  // For config-style contexts: "plant.yaml:12:5: expected a number".
  std::string ToString() const;

  // Marks the status as inspected; use where a failure is deliberately ignored.
  void IgnoreError() const noexcept {}

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    StatusContext context;
  };
  std::unique_ptr<Rep> rep_;
};

// Result<T>: a T or a failed Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace shopfloor::core

#define SF_CONCAT_INNER_(a, b) a##b
#define SF_CONCAT_(a, b) SF_CONCAT_INNER_(a, b)

// Returns from the calling function if `expr` (a Status) is not OK.
#define SF_RETURN_IF_ERROR(expr)                         \
  do {                                                   \
    ::shopfloor::core::Status sf_status_ = (expr);       \
    if (!sf_status_.ok()) return sf_status_;             \
  } while (0)

// `SF_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(path));`
#define SF_ASSIGN_OR_RETURN(lhs, expr) \
  SF_ASSIGN_OR_RETURN_IMPL_(SF_CONCAT_(sf_result_, __LINE__), lhs, expr)
#define SF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
