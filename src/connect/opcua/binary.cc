#include "connect/opcua/binary.h"

#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace shopfloor::connect::opcua {

void Encoder::Float(float v) { UInt32(std::bit_cast<uint32_t>(v)); }
void Encoder::Double(double v) { UInt64(std::bit_cast<uint64_t>(v)); }

void Encoder::String(std::string_view v) {
  Int32(static_cast<int32_t>(v.size()));
  out_.append(v);
}

void Encoder::PatchUInt32(size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) out_[offset + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

core::Status Decoder::Error(std::string_view what) const {
  core::StatusContext ctx;
  ctx.offset = pos_;
  return core::Status::InvalidArgument(fmt::format("opcua: {} at offset {}", what, pos_), std::move(ctx));
}

core::Status Decoder::Fixed(int width, std::string_view what, uint64_t* v) {
  if (remaining() < static_cast<size_t>(width)) {
    return Error(fmt::format("truncated {} (need {} bytes, {} left)", what, width, remaining()));
  }
  uint64_t out = 0;
  for (int i = 0; i < width; ++i) out |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
  pos_ += width;
  *v = out;
  return core::Status::OK();
}

core::Status Decoder::Boolean(bool* v) {
  uint64_t raw = 0;
  SF_RETURN_IF_ERROR(Fixed(1, "Boolean", &raw));
  *v = raw != 0;  // Part 6: any non-zero value is true
  return core::Status::OK();
}

#define SF_OPCUA_FIXED(Name, Type, width)              \
  core::Status Decoder::Name(Type* v) {                \
    uint64_t raw = 0;                                  \
    SF_RETURN_IF_ERROR(Fixed(width, #Name, &raw));     \
    *v = static_cast<Type>(raw);                       \
    return core::Status::OK();                         \
  }
SF_OPCUA_FIXED(SByte, int8_t, 1)
SF_OPCUA_FIXED(Byte, uint8_t, 1)
SF_OPCUA_FIXED(Int16, int16_t, 2)
SF_OPCUA_FIXED(UInt16, uint16_t, 2)
SF_OPCUA_FIXED(Int32, int32_t, 4)
SF_OPCUA_FIXED(UInt32, uint32_t, 4)
SF_OPCUA_FIXED(Int64, int64_t, 8)
SF_OPCUA_FIXED(UInt64, uint64_t, 8)
#undef SF_OPCUA_FIXED

core::Status Decoder::Float(float* v) {
  uint64_t raw = 0;
  SF_RETURN_IF_ERROR(Fixed(4, "Float", &raw));
  *v = std::bit_cast<float>(static_cast<uint32_t>(raw));
  return core::Status::OK();
}

core::Status Decoder::Double(double* v) {
  uint64_t raw = 0;
  SF_RETURN_IF_ERROR(Fixed(8, "Double", &raw));
  *v = std::bit_cast<double>(raw);
  return core::Status::OK();
}

core::Status Decoder::String(std::string* v, bool* is_null) {
  int32_t length = 0;
  SF_RETURN_IF_ERROR(Int32(&length));
  if (is_null) *is_null = length == -1;
  if (length == -1) {
    v->clear();
    return core::Status::OK();
  }
  if (length < 0) {
    pos_ -= 4;
    return Error(fmt::format("negative string length {}", length));
  }
  if (static_cast<uint32_t>(length) > limits_.max_string_length) {
    pos_ -= 4;
    return Error(fmt::format("string length {} exceeds the limit {}", length, limits_.max_string_length));
  }
  if (static_cast<size_t>(length) > remaining()) {
    pos_ -= 4;
    return Error(fmt::format("string length {} exceeds the {} bytes left", length, remaining() - 4));
  }
  v->assign(data_.substr(pos_, length));
  pos_ += length;
  return core::Status::OK();
}

core::Status Decoder::Raw(size_t n, std::string_view* v) {
  if (n > remaining()) return Error(fmt::format("truncated block (need {} bytes, {} left)", n, remaining()));
  *v = data_.substr(pos_, n);
  pos_ += n;
  return core::Status::OK();
}

core::Status Decoder::ArrayLength(uint32_t* n, size_t min_element_size) {
  int32_t length = 0;
  SF_RETURN_IF_ERROR(Int32(&length));
  if (length == -1) {
    *n = 0;
    return core::Status::OK();
  }
  if (length < 0) {
    pos_ -= 4;
    return Error(fmt::format("negative array length {}", length));
  }
  if (static_cast<uint32_t>(length) > limits_.max_array_length) {
    pos_ -= 4;
    return Error(fmt::format("array length {} exceeds the limit {}", length, limits_.max_array_length));
  }
  if (static_cast<uint64_t>(length) * min_element_size > remaining()) {
    pos_ -= 4;
    return Error(fmt::format("array length {} cannot fit in the {} bytes left", length, remaining() - 4));
  }
  *n = static_cast<uint32_t>(length);
  return core::Status::OK();
}

core::Status Decoder::Enter(std::string_view what) {
  if (depth_ >= limits_.max_depth) {
    return Error(fmt::format("{} nested deeper than {} levels", what, limits_.max_depth));
  }
  ++depth_;
  return core::Status::OK();
}

core::Timestamp UaTicksToTimestamp(int64_t ticks) {
  constexpr int64_t kMaxTicks = std::numeric_limits<int64_t>::max() / 100 + kUaEpochToUnixTicks;
  constexpr int64_t kMinTicks = std::numeric_limits<int64_t>::min() / 100 + kUaEpochToUnixTicks;
  if (ticks >= kMaxTicks) return std::numeric_limits<int64_t>::max();
  if (ticks <= kMinTicks) return std::numeric_limits<int64_t>::min();
  return (ticks - kUaEpochToUnixTicks) * 100;
}

int64_t TimestampToUaTicks(core::Timestamp ts) {
  // Floor division so that times before 1970 round towards the past like positive ones.
  int64_t ticks = ts / 100;
  if (ts % 100 < 0) --ticks;
  return ticks + kUaEpochToUnixTicks;
}

}  // namespace shopfloor::connect::opcua
