#include "storage/rollup.h"

#include <array>

#include <fmt/format.h>

#include "storage/codec/chunk.h"

namespace shopfloor::storage {

using core::Status;
using core::ValueType;

namespace {

bool IsIntField(int field) { return field == 0 || field == 7 || field == 8; }

double DoubleField(const Partial& p, int field) {
  switch (field) {
    case 1: return p.sum;
    case 2: return p.m2;
    case 3: return p.min;
    case 4: return p.max;
    case 5: return p.first;
    case 6: return p.last;
    default: return p.integral;
  }
}

int64_t IntField(const Partial& p, int field) {
  switch (field) {
    case 0: return static_cast<int64_t>(p.count);
    case 7: return p.first_ts;
    default: return p.last_ts;
  }
}

}  // namespace

Status AddRollupChunks(BlockWriter* writer, uint64_t series_id, const std::vector<WindowPartial>& windows) {
  std::string bytes;
  for (int field = 0; field < kRollupFields; ++field) {
    ChunkColumns cols;
    cols.type = IsIntField(field) ? ValueType::kInt64 : ValueType::kDouble;
    for (const WindowPartial& w : windows) {
      cols.ts.push_back(w.start);
      if (IsIntField(field)) {
        cols.i64.push_back(IntField(w.partial, field));
      } else {
        cols.f64.push_back(DoubleField(w.partial, field));
      }
    }
    bytes.clear();
    EncodeChunk(cols, &bytes);
    SF_RETURN_IF_ERROR(writer->Add(RollupSeriesId(series_id, field), cols.type, cols.ts.front(), cols.ts.back(),
                                   static_cast<uint32_t>(cols.ts.size()), bytes));
  }
  return Status::OK();
}

Status ReadRollupWindows(const BlockReader& block, uint64_t series_id, core::Timestamp from, core::Timestamp to,
                         std::vector<WindowPartial>* out) {
  std::array<ChunkColumns, kRollupFields> fields;
  std::string scratch;
  ChunkColumns decoded;
  for (int field = 0; field < kRollupFields; ++field) {
    fields[field].type = IsIntField(field) ? ValueType::kInt64 : ValueType::kDouble;
    for (const ChunkRef& ref : block.ChunksFor(RollupSeriesId(series_id, field))) {
      SF_ASSIGN_OR_RETURN(std::string_view bytes, block.ReadChunk(ref, &scratch));
      Status s = DecodeChunk(bytes, &decoded);
      if (!s.ok()) return Status::Corruption(s.message(), block.path(), ref.offset);
      if (decoded.type != fields[field].type) {
        return Status::Corruption("rollup chunk has the wrong type", block.path(), ref.offset);
      }
      auto& f = fields[field];
      f.ts.insert(f.ts.end(), decoded.ts.begin(), decoded.ts.end());
      f.f64.insert(f.f64.end(), decoded.f64.begin(), decoded.f64.end());
      f.i64.insert(f.i64.end(), decoded.i64.begin(), decoded.i64.end());
    }
  }
  const size_t n = fields[0].ts.size();
  for (const auto& f : fields) {
    if (f.ts.size() != n) return Status::Corruption("rollup fields differ in length", block.path(), 0);
  }
  for (size_t i = 0; i < n; ++i) {
    const core::Timestamp start = fields[0].ts[i];
    if (start < from || start >= to) continue;
    Partial p;
    p.count = static_cast<uint64_t>(fields[0].i64[i]);
    p.sum = fields[1].f64[i];
    p.m2 = fields[2].f64[i];
    p.min = fields[3].f64[i];
    p.max = fields[4].f64[i];
    p.first = fields[5].f64[i];
    p.last = fields[6].f64[i];
    p.first_ts = fields[7].i64[i];
    p.last_ts = fields[8].i64[i];
    p.integral = fields[9].f64[i];
    if (p.count == 0 || p.first_ts > p.last_ts) {
      return Status::Corruption(fmt::format("rollup window {} is inconsistent", start), block.path(), 0);
    }
    out->push_back(WindowPartial{start, p});
  }
  return Status::OK();
}

}  // namespace shopfloor::storage
