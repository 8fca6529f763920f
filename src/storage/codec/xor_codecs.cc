#include "storage/codec/xor_codecs.h"

#include <bit>

#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {
namespace {

// Chimp rounds the XOR's leading-zero count down to one of eight values (3-bit code).
constexpr unsigned kChimpLeading[8] = {0, 8, 12, 16, 18, 20, 22, 24};
constexpr unsigned kChimpTrailingThreshold = 6;
constexpr unsigned kNoLeading = 0xFF;

unsigned ChimpLeadingCode(unsigned leading) {
  unsigned code = 0;
  for (unsigned c = 1; c < 8; ++c) {
    if (kChimpLeading[c] <= leading) code = c;
  }
  return code;
}

core::Status FinishXor(const BitReader& reader, std::string_view codec) {
  if (!reader.AtCleanEnd()) {
    return CodecCorruption(codec, reader.overrun() ? "stream truncated" : "trailing bits after the column",
                           reader.bit_position() / 8);
  }
  return core::Status::OK();
}

}  // namespace

void EncodeChimp(std::span<const double> values, std::string* out) {
  if (values.empty()) return;
  BitWriter writer(out);
  uint64_t previous = std::bit_cast<uint64_t>(values[0]);
  writer.Write(previous, 64);
  unsigned stored_leading = kNoLeading;
  for (size_t i = 1; i < values.size(); ++i) {
    uint64_t bits = std::bit_cast<uint64_t>(values[i]);
    uint64_t x = bits ^ previous;
    previous = bits;
    if (x == 0) {
      writer.Write(0, 2);
      stored_leading = kNoLeading;
      continue;
    }
    unsigned leading_code = ChimpLeadingCode(static_cast<unsigned>(std::countl_zero(x)));
    unsigned leading = kChimpLeading[leading_code];
    unsigned trailing = static_cast<unsigned>(std::countr_zero(x));
    if (trailing > kChimpTrailingThreshold) {
      unsigned center = 64 - leading - trailing;
      writer.Write(1, 2);
      writer.Write(leading_code, 3);
      writer.Write(center, 6);
      writer.Write(x >> trailing, center);
      stored_leading = kNoLeading;
    } else if (leading == stored_leading) {
      writer.Write(2, 2);
      writer.Write(x, 64 - leading);
    } else {
      writer.Write(3, 2);
      writer.Write(leading_code, 3);
      writer.Write(x, 64 - leading);
      stored_leading = leading;
    }
  }
  writer.Finish();
}

core::Status DecodeChimp(std::string_view in, size_t n, double* out) {
  constexpr std::string_view kCodec = "chimp column";
  BitReader reader(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  if (n > 0) {
    uint64_t previous = reader.Read(64);
    out[0] = std::bit_cast<double>(previous);
    unsigned stored_leading = kNoLeading;
    for (size_t i = 1; i < n; ++i) {
      uint64_t flag = reader.Read(2);
      uint64_t x = 0;
      if (flag == 1) {
        unsigned leading = kChimpLeading[reader.Read(3)];
        unsigned center = static_cast<unsigned>(reader.Read(6));
        if (center == 0 || leading + center > 64) {
          return CodecCorruption(kCodec, "bad leading/center lengths", reader.bit_position() / 8);
        }
        x = reader.Read(center) << (64 - leading - center);
        stored_leading = kNoLeading;
      } else if (flag == 2) {
        if (stored_leading == kNoLeading) {
          return CodecCorruption(kCodec, "reuse of leading zeros with none stored", reader.bit_position() / 8);
        }
        x = reader.Read(64 - stored_leading);
      } else if (flag == 3) {
        stored_leading = kChimpLeading[reader.Read(3)];
        x = reader.Read(64 - stored_leading);
      } else {
        stored_leading = kNoLeading;
      }
      if (reader.overrun()) return CodecCorruption(kCodec, "stream truncated", in.size());
      previous ^= x;
      out[i] = std::bit_cast<double>(previous);
    }
  }
  return FinishXor(reader, kCodec);
}

void EncodeGorilla(std::span<const double> values, std::string* out) {
  if (values.empty()) return;
  BitWriter writer(out);
  uint64_t previous = std::bit_cast<uint64_t>(values[0]);
  writer.Write(previous, 64);
  bool have_window = false;
  unsigned window_leading = 0, window_trailing = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    uint64_t bits = std::bit_cast<uint64_t>(values[i]);
    uint64_t x = bits ^ previous;
    previous = bits;
    if (x == 0) {
      writer.Write(0, 1);
      continue;
    }
    writer.Write(1, 1);
    unsigned leading = static_cast<unsigned>(std::countl_zero(x));
    unsigned trailing = static_cast<unsigned>(std::countr_zero(x));
    if (leading > 31) leading = 31;  // five bits
    if (have_window && leading >= window_leading && trailing >= window_trailing) {
      writer.Write(0, 1);
      writer.Write(x >> window_trailing, 64 - window_leading - window_trailing);
    } else {
      unsigned meaningful = 64 - leading - trailing;
      writer.Write(1, 1);
      writer.Write(leading, 5);
      writer.Write(meaningful & 63, 6);  // 64 is written as 0
      writer.Write(x >> trailing, meaningful);
      have_window = true;
      window_leading = leading;
      window_trailing = trailing;
    }
  }
  writer.Finish();
}

core::Status DecodeGorilla(std::string_view in, size_t n, double* out) {
  constexpr std::string_view kCodec = "gorilla column";
  BitReader reader(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  if (n > 0) {
    uint64_t previous = reader.Read(64);
    out[0] = std::bit_cast<double>(previous);
    bool have_window = false;
    unsigned window_leading = 0, window_trailing = 0;
    for (size_t i = 1; i < n; ++i) {
      if (reader.ReadBit()) {
        if (reader.ReadBit()) {
          unsigned leading = static_cast<unsigned>(reader.Read(5));
          unsigned meaningful = static_cast<unsigned>(reader.Read(6));
          if (meaningful == 0) meaningful = 64;
          if (leading + meaningful > 64) {
            return CodecCorruption(kCodec, "bad leading/meaningful lengths", reader.bit_position() / 8);
          }
          have_window = true;
          window_leading = leading;
          window_trailing = 64 - leading - meaningful;
        } else if (!have_window) {
          return CodecCorruption(kCodec, "window reuse with no window", reader.bit_position() / 8);
        }
        previous ^= reader.Read(64 - window_leading - window_trailing) << window_trailing;
      }
      if (reader.overrun()) return CodecCorruption(kCodec, "stream truncated", in.size());
      out[i] = std::bit_cast<double>(previous);
    }
  }
  return FinishXor(reader, kCodec);
}

void EncodeGorillaTimestamps(std::span<const int64_t> ts, std::string* out) {
  if (ts.empty()) return;
  BitWriter writer(out);
  writer.Write(static_cast<uint64_t>(ts[0]), 64);
  if (ts.size() >= 2) {
    uint64_t previous_delta = static_cast<uint64_t>(ts[1]) - static_cast<uint64_t>(ts[0]);
    writer.Write(previous_delta, 64);
    for (size_t i = 2; i < ts.size(); ++i) {
      uint64_t delta = static_cast<uint64_t>(ts[i]) - static_cast<uint64_t>(ts[i - 1]);
      int64_t dod = static_cast<int64_t>(delta - previous_delta);
      previous_delta = delta;
      if (dod == 0) {
        writer.Write(0, 1);
      } else if (dod >= -64 && dod <= 63) {
        writer.Write(0b01, 2);  // '1' then '0', LSB-first
        writer.Write(static_cast<uint64_t>(dod), 7);
      } else if (dod >= -256 && dod <= 255) {
        writer.Write(0b011, 3);
        writer.Write(static_cast<uint64_t>(dod), 9);
      } else if (dod >= -2048 && dod <= 2047) {
        writer.Write(0b0111, 4);
        writer.Write(static_cast<uint64_t>(dod), 12);
      } else {
        writer.Write(0b1111, 4);
        writer.Write(static_cast<uint64_t>(dod), 64);
      }
    }
  }
  writer.Finish();
}

core::Status DecodeGorillaTimestamps(std::string_view in, size_t n, int64_t* out) {
  constexpr std::string_view kCodec = "gorilla timestamps";
  BitReader reader(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  // Sign-extends the low `width` bits.
  auto signed_field = [](uint64_t v, unsigned width) {
    return static_cast<uint64_t>(static_cast<int64_t>(v << (64 - width)) >> (64 - width));
  };
  if (n > 0) {
    uint64_t current = reader.Read(64);
    out[0] = static_cast<int64_t>(current);
    uint64_t delta = 0;
    for (size_t i = 1; i < n; ++i) {
      if (i == 1) {
        delta = reader.Read(64);
      } else if (reader.ReadBit()) {
        if (!reader.ReadBit()) {
          delta += signed_field(reader.Read(7), 7);
        } else if (!reader.ReadBit()) {
          delta += signed_field(reader.Read(9), 9);
        } else if (!reader.ReadBit()) {
          delta += signed_field(reader.Read(12), 12);
        } else {
          delta += reader.Read(64);
        }
      }
      if (reader.overrun()) return CodecCorruption(kCodec, "stream truncated", in.size());
      current += delta;
      out[i] = static_cast<int64_t>(current);
    }
  }
  return FinishXor(reader, kCodec);
}

}  // namespace shopfloor::storage
