// Bit-level building blocks shared by every chunk codec: a 64-bit buffered bit writer and
// reader, fixed-width bit packing, varints and zigzag.
//
// Bit order is LSB-first everywhere: bit k of a stream is bit (k % 8) of byte k / 8, and a
// value of width w written at bit position p occupies bits [p, p + w), its least
// significant bit first. A packed array of n values of width w is therefore exactly the
// stream obtained by writing the values one after another; it takes ceil(n * w / 8) bytes.
//
// Readers never touch memory outside the slice they were given. Reading past the end
// yields zero bits and latches overrun(), which decoders check before accepting input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::storage {

// Corruption found by a codec at byte `offset` of the slice it was decoding. The chunk
// decoder rebases the offset onto the chunk.
core::Status CodecCorruption(std::string_view codec, std::string_view what, uint64_t offset);

inline uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t ZigZagDecode(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

// Number of bits needed to represent v (0 for v == 0, 64 for the top bit set).
inline unsigned BitWidth(uint64_t v) { return v == 0 ? 0u : 64u - static_cast<unsigned>(__builtin_clzll(v)); }

inline uint64_t LowMask(unsigned width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }

inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // Shopfloor targets little-endian hosts only (x86-64, aarch64).
}
inline void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, sizeof(v));
  out->append(buf, sizeof(buf));
}
inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  std::memcpy(buf, &v, sizeof(v));
  out->append(buf, sizeof(buf));
}

// LEB128-style varint: 7 bits per byte, low groups first, high bit set on all but the last.
void PutVarint64(std::string* out, uint64_t v);
inline size_t VarintLength(uint64_t v) { return v < 128 ? 1 : (BitWidth(v) + 6) / 7; }

// A cursor over a byte slice with checked reads. Every Get* returns false (and leaves the
// cursor where it was) when the slice is too short or the encoding is invalid.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : data_(reinterpret_cast<const uint8_t*>(in.data())), size_(in.size()) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* current() const { return data_ + pos_; }

  bool GetU8(uint8_t* v);
  bool GetFixed32(uint32_t* v);
  bool GetFixed64(uint64_t* v);
  // Rejects varints longer than 10 bytes or overflowing 64 bits.
  bool GetVarint64(uint64_t* v);
  // A pointer to the next n bytes, advancing past them.
  bool Skip(size_t n, const uint8_t** p);

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Appends bits to a std::string through a 64-bit accumulator.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low `width` bits of v (width <= 64; higher bits of v are ignored).
  void Write(uint64_t v, unsigned width) {
    v &= LowMask(width);
    if (width == 0) return;
    acc_ |= v << fill_;
    if (fill_ + width >= 64) {
      PutFixed64(out_, acc_);
      unsigned used = 64 - fill_;  // bits of v that went into the flushed word
      acc_ = used >= 64 ? 0 : v >> used;
      fill_ = fill_ + width - 64;
    } else {
      fill_ += width;
    }
  }
  // Flushes the partial last byte (zero-padded). The writer must not be used afterwards.
  void Finish();

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  unsigned fill_ = 0;  // valid bits in acc_, always < 64
};

// Reads bits from a byte slice. Reads past the end return zero bits and set overrun().
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size), bit_limit_(uint64_t{size} * 8) {}

  // Reads `width` bits (width <= 64).
  uint64_t Read(unsigned width) {
    if (width == 0) return 0;
    if (width > 56) {
      uint64_t low = Read(32);
      return low | (Read(width - 32) << 32);
    }
    uint64_t byte = pos_ >> 3;
    uint64_t word;
    if (byte + 8 <= size_) {
      word = LoadLE64(data_ + byte);
    } else {
      word = SlowLoad(byte);
    }
    uint64_t v = (word >> (pos_ & 7)) & LowMask(width);
    pos_ += width;
    if (pos_ > bit_limit_) overrun_ = true;
    return v;
  }
  bool ReadBit() { return Read(1) != 0; }
  // Moves to an absolute bit position (a later Read past the end still latches overrun).
  void SeekBit(uint64_t bit) { pos_ = bit; }

  bool overrun() const { return overrun_; }
  uint64_t bit_position() const { return pos_; }
  // True when the stream was consumed exactly up to its final byte and the padding bits
  // of that byte are zero: what a stream produced by BitWriter::Finish looks like.
  bool AtCleanEnd() const;

 private:
  uint64_t SlowLoad(uint64_t byte) const;

  const uint8_t* data_;
  size_t size_;
  uint64_t bit_limit_;
  uint64_t pos_ = 0;
  bool overrun_ = false;
};

// Packs n values of `width` bits each (values must fit; width <= 64).
void PackBits(const uint64_t* values, size_t n, unsigned width, std::string* out);
inline size_t PackedBytes(size_t n, unsigned width) { return (n * width + 7) / 8; }
// Unpacks n values of `width` bits from src, which holds at least PackedBytes(n, width)
// bytes (the caller checks). Never reads past src + PackedBytes(n, width).
void UnpackBits(const uint8_t* src, size_t n, unsigned width, uint64_t* out);

}  // namespace shopfloor::storage
