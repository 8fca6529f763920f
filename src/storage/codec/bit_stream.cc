#include "storage/codec/bit_stream.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace shopfloor::storage {

core::Status CodecCorruption(std::string_view codec, std::string_view what, uint64_t offset) {
  return core::Status::Corruption(fmt::format("{}: {}", codec, what), std::string(), offset);
}

void PutVarint64(std::string* out, uint64_t v) {
  char buf[10];
  size_t len = 0;
  while (v >= 128) {
    buf[len++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[len++] = static_cast<char>(v);
  out->append(buf, len);
}

bool ByteReader::GetU8(uint8_t* v) {
  if (pos_ >= size_) return false;
  *v = data_[pos_++];
  return true;
}

bool ByteReader::GetFixed32(uint32_t* v) {
  if (size_ - pos_ < 4) return false;
  std::memcpy(v, data_ + pos_, 4);
  pos_ += 4;
  return true;
}

bool ByteReader::GetFixed64(uint64_t* v) {
  if (size_ - pos_ < 8) return false;
  std::memcpy(v, data_ + pos_, 8);
  pos_ += 8;
  return true;
}

bool ByteReader::GetVarint64(uint64_t* v) {
  uint64_t result = 0;
  size_t p = pos_;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p >= size_) return false;
    uint64_t byte = data_[p++];
    // The tenth byte may only carry the single top bit.
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      pos_ = p;
      return true;
    }
  }
  return false;
}

bool ByteReader::Skip(size_t n, const uint8_t** p) {
  if (size_ - pos_ < n) return false;
  *p = data_ + pos_;
  pos_ += n;
  return true;
}

void BitWriter::Finish() {
  size_t bytes = (fill_ + 7) / 8;
  char buf[8];
  std::memcpy(buf, &acc_, sizeof(buf));
  out_->append(buf, bytes);
  acc_ = 0;
  fill_ = 0;
}

uint64_t BitReader::SlowLoad(uint64_t byte) const {
  uint64_t word = 0;
  for (uint64_t i = 0; i < 8 && byte + i < size_; ++i) word |= uint64_t{data_[byte + i]} << (8 * i);
  return word;
}

bool BitReader::AtCleanEnd() const {
  if (overrun_) return false;
  if ((pos_ + 7) / 8 != size_) return false;
  if ((pos_ & 7) == 0) return true;
  uint8_t last = data_[size_ - 1];
  return (last >> (pos_ & 7)) == 0;
}

void PackBits(const uint64_t* values, size_t n, unsigned width, std::string* out) {
  if (width == 0 || n == 0) return;
  BitWriter writer(out);
  for (size_t i = 0; i < n; ++i) writer.Write(values[i], width);
  writer.Finish();
}

namespace {

// Unpacks groups of 8 values of compile-time width W: 8 * W bits are exactly W bytes, so
// every byte offset and shift inside a group is a constant and the loop unrolls cleanly.
// Returns how many values were unpacked (a multiple of 8); the caller finishes the tail.
template <unsigned W>
size_t UnpackGroups(const uint8_t* src, size_t n, size_t src_bytes, uint64_t* out) {
  constexpr uint64_t kMask = W >= 64 ? ~uint64_t{0} : (uint64_t{1} << W) - 1;
  size_t groups = n / 8;
  // Each load reads up to 8 bytes from inside the group, plus one extra for W > 56.
  while (groups > 0 && groups * W + 9 > src_bytes) --groups;
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* base = src + g * W;
    uint64_t* dst = out + g * 8;
    for (unsigned j = 0; j < 8; ++j) {
      const unsigned bit = j * W;
      const unsigned byte = bit / 8, shift = bit % 8;
      uint64_t v = LoadLE64(base + byte) >> shift;
      if constexpr (W > 56) {
        if (shift + W > 64) v |= uint64_t{base[byte + 8]} << (64 - shift);
      }
      dst[j] = v & kMask;
    }
  }
  return groups * 8;
}

template <size_t... Ws>
size_t UnpackDispatch(unsigned width, const uint8_t* src, size_t n, size_t src_bytes, uint64_t* out,
                      std::index_sequence<Ws...>) {
  using Fn = size_t (*)(const uint8_t*, size_t, size_t, uint64_t*);
  static constexpr Fn kTable[] = {&UnpackGroups<static_cast<unsigned>(Ws)>...};
  return kTable[width](src, n, src_bytes, out);
}

}  // namespace

void UnpackBits(const uint8_t* src, size_t n, unsigned width, uint64_t* out) {
  if (width == 0) {
    std::fill_n(out, n, uint64_t{0});
    return;
  }
  size_t src_bytes = PackedBytes(n, width);
  size_t done = UnpackDispatch(width, src, n, src_bytes, out, std::make_index_sequence<65>{});
  BitReader reader(src, src_bytes);
  reader.SeekBit(uint64_t{done} * width);
  for (size_t i = done; i < n; ++i) out[i] = reader.Read(width);
}

}  // namespace shopfloor::storage
