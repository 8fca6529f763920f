#include "storage/wal_record.h"

#include <bit>

#include <fmt/format.h>

#include "storage/varint.h"

namespace shopfloor::storage {

using core::Status;
using core::ValueType;

void EncodeSeriesCreate(const WalSeriesCreate& rec, std::string* out) {
  out->push_back(static_cast<char>(WalRecordKind::kSeriesCreate));
  PutVarint64(out, core::ToU64(rec.id));
  out->push_back(static_cast<char>(rec.type));
  PutVarint64(out, rec.key.size());
  out->append(rec.key);
}

void EncodeSamples(const core::SampleBatch& batch, std::string* out) {
  out->reserve(out->size() + 8 + batch.entries.size() * 16);
  out->push_back(static_cast<char>(WalRecordKind::kSamples));
  PutVarint64(out, batch.entries.size());
  int64_t prev_ts = 0;
  for (const auto& e : batch.entries) {
    PutVarint64(out, core::ToU64(e.series));
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(e.ts) - static_cast<uint64_t>(prev_ts))));
    prev_ts = e.ts;
    ValueType type = e.value.type();
    out->push_back(static_cast<char>(type));
    switch (type) {
      case ValueType::kDouble: PutFixed64(out, std::bit_cast<uint64_t>(e.value.as_double())); break;
      case ValueType::kInt64: PutVarint64(out, ZigZagEncode(e.value.as_int())); break;
      case ValueType::kBool: out->push_back(e.value.as_bool() ? 1 : 0); break;
      case ValueType::kString:
        PutVarint64(out, e.value.as_string().size());
        out->append(e.value.as_string());
        break;
    }
    PutVarint64(out, e.quality.opcua_status());
  }
}

namespace {

Status Bad(std::string_view what, size_t offset) {
  return Status::Corruption(fmt::format("malformed WAL payload: {} at payload byte {}", what, offset), "", offset);
}

}  // namespace

Status DecodeWalRecord(std::string_view payload, WalRecordKind* kind, WalSeriesCreate* create,
                       core::SampleBatch* samples) {
  ByteReader r(payload);
  uint8_t k = 0;
  if (!r.GetU8(&k)) return Bad("empty record", 0);
  if (k == static_cast<uint8_t>(WalRecordKind::kSeriesCreate)) {
    *kind = WalRecordKind::kSeriesCreate;
    uint64_t id = 0;
    uint8_t type = 0;
    uint32_t len = 0;
    std::string_view key;
    if (!r.GetVarint64(&id) || !r.GetU8(&type) || type > 3 || !GetVarint32(&r, &len) || !GetBytes(&r, len, &key) ||
        key.empty()) {
      return Bad("series creation", r.offset());
    }
    if (r.remaining() != 0) return Bad("trailing bytes after series creation", r.offset());
    create->id = static_cast<core::SeriesId>(id);
    create->type = static_cast<ValueType>(type);
    create->key.assign(key);
    return Status::OK();
  }
  if (k != static_cast<uint8_t>(WalRecordKind::kSamples)) return Bad(fmt::format("unknown record kind {}", k), 0);
  *kind = WalRecordKind::kSamples;
  uint32_t count = 0;
  if (!GetVarint32(&r, &count)) return Bad("sample count", r.offset());
  // Each entry takes at least 5 bytes; a larger count than that is corrupt, not a reason
  // to allocate.
  if (count > r.remaining() / 5) return Bad("sample count larger than the record", r.offset());
  samples->entries.clear();
  samples->entries.reserve(count);
  int64_t prev_ts = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t series = 0, ts_delta = 0;
    uint8_t type = 0;
    if (!r.GetVarint64(&series) || !r.GetVarint64(&ts_delta) || !r.GetU8(&type)) return Bad("sample header", r.offset());
    int64_t ts = static_cast<int64_t>(static_cast<uint64_t>(prev_ts) + static_cast<uint64_t>(ZigZagDecode(ts_delta)));
    prev_ts = ts;
    core::Value value;
    switch (type) {
      case 0: {
        uint64_t bits = 0;
        if (!r.GetFixed64(&bits)) return Bad("double value", r.offset());
        value = core::Value(std::bit_cast<double>(bits));
        break;
      }
      case 1: {
        uint64_t zz = 0;
        if (!r.GetVarint64(&zz)) return Bad("int value", r.offset());
        value = core::Value(ZigZagDecode(zz));
        break;
      }
      case 2: {
        uint8_t b = 0;
        if (!r.GetU8(&b) || b > 1) return Bad("bool value", r.offset());
        value = core::Value(b == 1);
        break;
      }
      case 3: {
        uint32_t len = 0;
        std::string_view s;
        if (!GetVarint32(&r, &len) || !GetBytes(&r, len, &s)) return Bad("string value", r.offset());
        value = core::Value(std::string(s));
        break;
      }
      default: return Bad(fmt::format("unknown value type {}", type), r.offset());
    }
    uint32_t quality = 0;
    if (!GetVarint32(&r, &quality)) return Bad("quality", r.offset());
    samples->entries.push_back(core::SampleBatch::Entry{static_cast<core::SeriesId>(series), ts, std::move(value),
                                                        core::Quality::FromOpcUaStatus(quality)});
  }
  if (r.remaining() != 0) return Bad("trailing bytes after samples", r.offset());
  return Status::OK();
}

}  // namespace shopfloor::storage
