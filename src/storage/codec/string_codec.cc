#include "storage/codec/string_codec.h"

#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "storage/codec/bit_stream.h"

namespace shopfloor::storage {
namespace {

constexpr std::string_view kCodec = "string column";

void PutString(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

bool GetString(ByteReader* reader, std::string_view* s) {
  uint64_t len;
  const uint8_t* p;
  if (!reader->GetVarint64(&len) || len > reader->remaining() || !reader->Skip(len, &p)) return false;
  *s = std::string_view(reinterpret_cast<const char*>(p), len);
  return true;
}

}  // namespace

StringCodec EncodeStrings(std::span<const std::string> values, std::string* out) {
  const size_t n = values.size();
  std::unordered_map<std::string_view, uint64_t> ids;
  std::vector<std::string_view> dictionary;
  std::vector<uint64_t> value_ids(n);
  uint64_t plain_bytes = 0, dictionary_bytes = 0, output_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string_view s = values[i];
    plain_bytes += VarintLength(s.size()) + s.size();
    output_bytes += s.size();
    auto [it, inserted] = ids.try_emplace(s, dictionary.size());
    if (inserted) {
      dictionary.push_back(s);
      dictionary_bytes += VarintLength(s.size()) + s.size();
    }
    value_ids[i] = it->second;
  }
  const unsigned width = dictionary.empty() ? 0 : BitWidth(dictionary.size() - 1);
  dictionary_bytes += VarintLength(dictionary.size()) + PackedBytes(n, width);
  if (dictionary_bytes < plain_bytes && output_bytes <= kMaxDictionaryOutputBytes) {
    PutVarint64(out, dictionary.size());
    for (std::string_view s : dictionary) PutString(out, s);
    PackBits(value_ids.data(), n, width, out);
    return StringCodec::kDictionary;
  }
  for (const std::string& s : values) PutString(out, s);
  return StringCodec::kPlain;
}

core::Status DecodeStrings(StringCodec codec, std::string_view in, size_t n, std::string* out) {
  ByteReader reader(in);
  if (codec == StringCodec::kPlain) {
    for (size_t i = 0; i < n; ++i) {
      std::string_view s;
      size_t at = reader.offset();
      if (!GetString(&reader, &s)) return CodecCorruption(kCodec, fmt::format("truncated string {}", i), at);
      out[i].assign(s);
    }
  } else if (codec == StringCodec::kDictionary) {
    uint64_t dictionary_size;
    if (!reader.GetVarint64(&dictionary_size)) return CodecCorruption(kCodec, "truncated dictionary size", 0);
    // Every entry takes at least one byte, which bounds the allocation by the input.
    if (dictionary_size > reader.remaining() || (n > 0 && dictionary_size == 0) || dictionary_size > n) {
      return CodecCorruption(kCodec, fmt::format("dictionary size {} for {} values", dictionary_size, n), 0);
    }
    std::vector<std::string_view> dictionary(dictionary_size);
    for (uint64_t d = 0; d < dictionary_size; ++d) {
      size_t at = reader.offset();
      if (!GetString(&reader, &dictionary[d])) {
        return CodecCorruption(kCodec, fmt::format("truncated dictionary entry {}", d), at);
      }
    }
    const unsigned width = dictionary_size == 0 ? 0 : BitWidth(dictionary_size - 1);
    const uint8_t* packed;
    const size_t ids_offset = reader.offset();
    if (!reader.Skip(PackedBytes(n, width), &packed)) return CodecCorruption(kCodec, "truncated ids", ids_offset);
    std::vector<uint64_t> value_ids(n);
    UnpackBits(packed, n, width, value_ids.data());
    uint64_t output_bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      if (value_ids[i] >= dictionary_size) {
        return CodecCorruption(kCodec, fmt::format("id {} >= dictionary size {}", value_ids[i], dictionary_size),
                               ids_offset + i * width / 8);
      }
      output_bytes += dictionary[value_ids[i]].size();
    }
    if (output_bytes > kMaxDictionaryOutputBytes) {
      return CodecCorruption(kCodec, fmt::format("dictionary column expands to {} bytes", output_bytes), 0);
    }
    for (size_t i = 0; i < n; ++i) out[i].assign(dictionary[value_ids[i]]);
    // Padding bits of the last id byte must be zero, as the encoder writes them.
    if (width > 0 && (n * width) % 8 != 0 && (packed[PackedBytes(n, width) - 1] >> ((n * width) % 8)) != 0) {
      return CodecCorruption(kCodec, "nonzero padding bits", reader.offset() - 1);
    }
  } else {
    return CodecCorruption(kCodec, "unknown string codec", 0);
  }
  if (reader.remaining() != 0) return CodecCorruption(kCodec, "trailing bytes after the column", reader.offset());
  return core::Status::OK();
}

}  // namespace shopfloor::storage
