// OPC UA binary encoding (Part 6, 5.2): the primitive layer.
//
// Encoder appends little-endian values to a std::string. Decoder reads from a byte view and
// checks every read: a short buffer, a negative or oversized length, or nesting deeper than
// the limits allow answers kInvalidArgument naming the field kind and the byte offset (also
// in StatusContext::offset). A Decoder never reads past its view and never allocates more
// than the input could justify (an array of n elements needs at least n bytes left).
//
// Thread safety: neither class is thread-safe; use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::connect::opcua {

// Caps on what a peer may make us allocate or recurse into.
struct DecodeLimits {
  uint32_t max_string_length = 16u << 20;  // String, ByteString, XmlElement bytes
  uint32_t max_array_length = 1u << 20;    // elements of one array
  uint32_t max_depth = 16;                 // Variant/DataValue/DiagnosticInfo nesting
};

class Encoder {
 public:
  Encoder() = default;

  void Boolean(bool v) { out_.push_back(v ? 1 : 0); }
  void SByte(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void Byte(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { Fixed(static_cast<uint16_t>(v), 2); }
  void UInt16(uint16_t v) { Fixed(v, 2); }
  void Int32(int32_t v) { Fixed(static_cast<uint32_t>(v), 4); }
  void UInt32(uint32_t v) { Fixed(v, 4); }
  void Int64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void UInt64(uint64_t v) { Fixed(v, 8); }
  void Float(float v);
  void Double(double v);
  // String, ByteString and XmlElement share one layout: Int32 length then bytes.
  void String(std::string_view v);
  void NullString() { Int32(-1); }
  void Raw(std::string_view bytes) { out_.append(bytes); }

  // Overwrites 4 bytes at `offset` (used to patch a message size after the body is known).
  void PatchUInt32(size_t offset, uint32_t v);

  size_t size() const { return out_.size(); }
  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Fixed(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view data, DecodeLimits limits = {}) : data_(data), limits_(limits) {}

  core::Status Boolean(bool* v);
  core::Status SByte(int8_t* v);
  core::Status Byte(uint8_t* v);
  core::Status Int16(int16_t* v);
  core::Status UInt16(uint16_t* v);
  core::Status Int32(int32_t* v);
  core::Status UInt32(uint32_t* v);
  core::Status Int64(int64_t* v);
  core::Status UInt64(uint64_t* v);
  core::Status Float(float* v);
  core::Status Double(double* v);
  // Null (-1) decodes as empty; `is_null`, when given, tells the two apart.
  core::Status String(std::string* v, bool* is_null = nullptr);
  core::Status Raw(size_t n, std::string_view* v);
  // Reads an array length: -1 (null) gives 0. Fails when it exceeds max_array_length or
  // when `min_element_size` * n bytes are not left.
  core::Status ArrayLength(uint32_t* n, size_t min_element_size = 1);

  // Nesting guard for recursive types: Enter fails beyond max_depth; pair with Leave.
  core::Status Enter(std::string_view what);
  void Leave() { --depth_; }

  // A kInvalidArgument Status "opcua: <what> at offset N" with the offset in its context.
  core::Status Error(std::string_view what) const;

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }
  const DecodeLimits& limits() const { return limits_; }

 private:
  core::Status Fixed(int width, std::string_view what, uint64_t* v);

  std::string_view data_;
  DecodeLimits limits_;
  size_t pos_ = 0;
  uint32_t depth_ = 0;
};

// OPC UA DateTime: 100 ns ticks since 1601-01-01 UTC. 0 means "not set".
inline constexpr int64_t kUaEpochToUnixTicks = 116'444'736'000'000'000LL;
// Converts to Unix nanoseconds, saturating at the limits of core::Timestamp.
core::Timestamp UaTicksToTimestamp(int64_t ticks);
int64_t TimestampToUaTicks(core::Timestamp ts);

}  // namespace shopfloor::connect::opcua
