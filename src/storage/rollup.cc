#include "storage/rollup.h"

#include <array>

#include <fmt/format.h>

#include "storage/codec/alp_codec.h"
#include "storage/codec/int_codec.h"
#include "storage/codec/timestamp_codec.h"
#include "storage/codec/xor_codecs.h"
#include "storage/varint.h"

namespace shopfloor::storage {

using core::Status;

namespace {

constexpr uint8_t kRollupVersion = 1;
constexpr uint8_t kCodecTimestamps = 1, kCodecInts = 2, kCodecAlp = 3, kCodecChimp = 4;
constexpr int kDoubleFields = 7;  // sum, m2, min, max, first, last, integral
// A window count larger than this cannot be a rollup of one partition (a 2 h partition has
// 120 minute windows; partitions may be up to days wide).
constexpr uint64_t kMaxWindows = 1u << 20;

double DoubleField(const Partial& p, int field) {
  switch (field) {
    case 0: return p.sum;
    case 1: return p.m2;
    case 2: return p.min;
    case 3: return p.max;
    case 4: return p.first;
    case 5: return p.last;
    default: return p.integral;
  }
}

double* DoubleSlot(Partial* p, int field) {
  switch (field) {
    case 0: return &p->sum;
    case 1: return &p->m2;
    case 2: return &p->min;
    case 3: return &p->max;
    case 4: return &p->first;
    case 5: return &p->last;
    default: return &p->integral;
  }
}

void PutColumn(uint8_t codec, const std::string& bytes, std::string* out) {
  out->push_back(static_cast<char>(codec));
  PutVarint64(out, bytes.size());
  out->append(bytes);
}

void PutDoubles(const std::vector<double>& values, std::string* out) {
  std::string alp, chimp;
  EncodeAlp(values, &alp);
  EncodeChimp(values, &chimp);
  if (chimp.size() < alp.size()) {
    PutColumn(kCodecChimp, chimp, out);
  } else {
    PutColumn(kCodecAlp, alp, out);
  }
}

}  // namespace

void EncodeRollupWindows(const std::vector<WindowPartial>& windows, std::string* out) {
  const size_t n = windows.size();
  out->push_back(static_cast<char>(kRollupVersion));
  PutVarint64(out, n);
  PutVarint64(out, ZigZagEncode(n ? windows.front().start : 0));
  std::vector<int64_t> ints(n);
  std::string column;
  for (size_t i = 0; i < n; ++i) ints[i] = windows[i].start;
  EncodeTimestamps(ints, &column);
  PutColumn(kCodecTimestamps, column, out);
  for (size_t i = 0; i < n; ++i) ints[i] = static_cast<int64_t>(windows[i].partial.count);
  column.clear();
  EncodeInts(ints, &column);
  PutColumn(kCodecInts, column, out);
  std::vector<double> doubles(n);
  for (int field = 0; field < kDoubleFields; ++field) {
    for (size_t i = 0; i < n; ++i) doubles[i] = DoubleField(windows[i].partial, field);
    PutDoubles(doubles, out);
  }
  for (bool last : {false, true}) {
    for (size_t i = 0; i < n; ++i) {
      const Partial& p = windows[i].partial;
      ints[i] = (last ? p.last_ts : p.first_ts) - windows[i].start;
    }
    column.clear();
    EncodeInts(ints, &column);
    PutColumn(kCodecInts, column, out);
  }
}

Status DecodeRollupWindows(std::string_view in, std::vector<WindowPartial>* out) {
  ByteReader r(in);
  auto bad = [&](std::string_view what) {
    return Status::Corruption(fmt::format("rollup: {} at byte {}", what, r.offset()), "", r.offset());
  };
  uint8_t version = 0;
  uint64_t n = 0, first_zz = 0;
  if (!r.GetU8(&version) || version != kRollupVersion) return bad("unknown version");
  if (!r.GetVarint64(&n) || n == 0 || n > kMaxWindows || !r.GetVarint64(&first_zz)) return bad("bad header");
  auto column = [&](uint8_t* codec, std::string_view* bytes) {
    uint64_t len = 0;
    return r.GetU8(codec) && r.GetVarint64(&len) && GetBytes(&r, len, bytes);
  };
  uint8_t codec = 0;
  std::string_view bytes;
  std::vector<int64_t> starts(n), counts(n), first_off(n), last_off(n);
  if (!column(&codec, &bytes) || codec != kCodecTimestamps) return bad("window start column");
  SF_RETURN_IF_ERROR(DecodeTimestamps(bytes, n, ZigZagDecode(first_zz), starts.data()));
  if (!column(&codec, &bytes) || codec != kCodecInts) return bad("count column");
  SF_RETURN_IF_ERROR(DecodeInts(bytes, n, counts.data()));
  std::array<std::vector<double>, kDoubleFields> doubles;
  for (auto& values : doubles) {
    values.resize(n);
    if (!column(&codec, &bytes)) return bad("value column");
    if (codec == kCodecAlp) {
      SF_RETURN_IF_ERROR(DecodeAlp(bytes, n, values.data()));
    } else if (codec == kCodecChimp) {
      SF_RETURN_IF_ERROR(DecodeChimp(bytes, n, values.data()));
    } else {
      return bad("unknown value codec");
    }
  }
  for (auto* offsets : {&first_off, &last_off}) {
    if (!column(&codec, &bytes) || codec != kCodecInts) return bad("timestamp offset column");
    SF_RETURN_IF_ERROR(DecodeInts(bytes, n, offsets->data()));
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  for (size_t i = 0; i < n; ++i) {
    Partial p;
    if (counts[i] <= 0 || first_off[i] < 0 || last_off[i] < first_off[i] || (i > 0 && starts[i] <= starts[i - 1])) {
      return Status::Corruption(fmt::format("rollup: window {} is inconsistent", i), "", 0);
    }
    p.count = static_cast<uint64_t>(counts[i]);
    for (int field = 0; field < kDoubleFields; ++field) *DoubleSlot(&p, field) = doubles[field][i];
    p.first_ts = starts[i] + first_off[i];
    p.last_ts = starts[i] + last_off[i];
    out->push_back(WindowPartial{starts[i], p});
  }
  return Status::OK();
}

Status AddRollup(BlockWriter* writer, uint64_t series_id, const std::vector<WindowPartial>& windows) {
  std::string blob;
  EncodeRollupWindows(windows, &blob);
  return writer->Add(series_id, core::ValueType::kDouble, windows.front().start, windows.back().start,
                     static_cast<uint32_t>(windows.size()), blob);
}

Status ReadRollupWindows(const BlockReader& block, uint64_t series_id, core::Timestamp from, core::Timestamp to,
                         std::vector<WindowPartial>* out) {
  std::span<const ChunkRef> refs = block.ChunksFor(series_id);
  if (refs.empty()) return Status::NotFound("no rollup for the series in this block");
  std::string scratch;
  std::vector<WindowPartial> windows;
  for (const ChunkRef& ref : refs) {
    SF_ASSIGN_OR_RETURN(std::string_view bytes, block.ReadChunk(ref, &scratch));
    windows.clear();
    Status s = DecodeRollupWindows(bytes, &windows);
    if (!s.ok()) return Status::Corruption(s.message(), block.path(), ref.offset);
    for (const WindowPartial& w : windows) {
      if (w.start >= from && w.start < to) out->push_back(w);
    }
  }
  return Status::OK();
}

}  // namespace shopfloor::storage
