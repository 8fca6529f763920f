#include "storage/codec/int_blocks.h"

#include <algorithm>

#include <fmt/format.h>

namespace shopfloor::storage {
namespace {

constexpr uint8_t kExceptionFlag = 0x80;
constexpr uint8_t kWidthMask = 0x7F;

// Bits an exception of the given offset width costs: one index byte plus the varint.
constexpr uint64_t ExceptionBits(unsigned width) { return 8 + 8 * (width == 0 ? 1 : (width + 6) / 7); }

struct BlockPlan {
  uint64_t base = 0;
  unsigned width = 64;
  uint64_t cost = ~uint64_t{0};
};

// The cheapest width for a given base. Values below the base wrap to huge offsets and
// become exceptions like any other outlier.
BlockPlan PlanForBase(const uint64_t* values, size_t n, uint64_t base) {
  // histogram[b]: how many offsets need exactly b bits.
  uint32_t histogram[65] = {};
  for (size_t i = 0; i < n; ++i) ++histogram[BitWidth(values[i] - base)];
  unsigned max_width = 64;
  while (max_width > 0 && histogram[max_width] == 0) --max_width;
  // cost(w) = n * w + the exception cost of every offset wider than w (+ the count byte).
  BlockPlan plan{base, max_width, uint64_t{n} * max_width};
  uint64_t exception_cost = 8;
  for (int w = static_cast<int>(max_width) - 1; w >= 0; --w) {
    exception_cost += histogram[w + 1] * ExceptionBits(static_cast<unsigned>(w + 1));
    uint64_t cost = uint64_t{n} * static_cast<unsigned>(w) + exception_cost;
    if (cost < plan.cost) {
      plan.cost = cost;
      plan.width = static_cast<unsigned>(w);
    }
  }
  return plan;
}

void EncodeBlock(const uint64_t* values, size_t n, std::string* out) {
  // Try the minimum and a few low order statistics as the frame base, so that one low
  // outlier (a counter reset) does not widen the whole block.
  uint64_t sorted[kForBlockSize] = {};
  std::copy(values, values + n, sorted);
  std::sort(sorted, sorted + n);
  BlockPlan best;
  for (size_t rank : {0, 1, 2, 4, 8}) {
    if (rank >= n || (rank > 0 && sorted[rank] == sorted[rank - 1])) continue;
    BlockPlan plan = PlanForBase(values, n, sorted[rank]);
    if (plan.cost < best.cost) best = plan;
  }
  const uint64_t base = best.base;
  const unsigned best_width = best.width;

  uint64_t packed[kForBlockSize];
  uint8_t exception_index[kForBlockSize];
  size_t exception_count = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t offset = values[i] - base;
    if (BitWidth(offset) > best_width) {
      exception_index[exception_count++] = static_cast<uint8_t>(i);
      packed[i] = 0;
    } else {
      packed[i] = offset;
    }
  }
  out->push_back(static_cast<char>(best_width | (exception_count > 0 ? kExceptionFlag : 0)));
  PutVarint64(out, base);
  if (exception_count > 0) out->push_back(static_cast<char>(exception_count - 1));
  PackBits(packed, n, best_width, out);
  for (size_t e = 0; e < exception_count; ++e) {
    out->push_back(static_cast<char>(exception_index[e]));
    PutVarint64(out, values[exception_index[e]] - base);
  }
}

}  // namespace

void EncodeForBlocks(const uint64_t* values, size_t n, std::string* out) {
  for (size_t start = 0; start < n; start += kForBlockSize) {
    EncodeBlock(values + start, std::min(kForBlockSize, n - start), out);
  }
}

core::Status DecodeForBlocks(ByteReader* reader, size_t n, uint64_t* out, std::string_view codec) {
  for (size_t start = 0; start < n; start += kForBlockSize) {
    const size_t block_n = std::min(kForBlockSize, n - start);
    const size_t block_offset = reader->offset();
    uint8_t header;
    uint64_t base;
    if (!reader->GetU8(&header) || !reader->GetVarint64(&base)) {
      return CodecCorruption(codec, fmt::format("truncated block header at value {}", start), block_offset);
    }
    const unsigned width = header & kWidthMask;
    if (width > 64) return CodecCorruption(codec, fmt::format("bit width {} > 64", width), block_offset);
    size_t exception_count = 0;
    if (header & kExceptionFlag) {
      uint8_t count_minus_one;
      if (!reader->GetU8(&count_minus_one)) return CodecCorruption(codec, "truncated exception count", reader->offset());
      exception_count = size_t{count_minus_one} + 1;
      if (exception_count > block_n) {
        return CodecCorruption(codec, fmt::format("{} exceptions in a block of {}", exception_count, block_n),
                               block_offset);
      }
    }
    const uint8_t* packed;
    if (!reader->Skip(PackedBytes(block_n, width), &packed)) {
      return CodecCorruption(codec, fmt::format("truncated packed block at value {}", start), reader->offset());
    }
    uint64_t* dst = out + start;
    UnpackBits(packed, block_n, width, dst);
    for (size_t i = 0; i < block_n; ++i) dst[i] += base;
    int previous_index = -1;
    for (size_t e = 0; e < exception_count; ++e) {
      uint8_t index;
      uint64_t offset;
      size_t at = reader->offset();
      if (!reader->GetU8(&index) || !reader->GetVarint64(&offset)) {
        return CodecCorruption(codec, "truncated exception", at);
      }
      if (index >= block_n || static_cast<int>(index) <= previous_index) {
        return CodecCorruption(codec, fmt::format("exception index {} out of order or >= {}", index, block_n), at);
      }
      previous_index = index;
      dst[index] = base + offset;
    }
  }
  return core::Status::OK();
}

}  // namespace shopfloor::storage
