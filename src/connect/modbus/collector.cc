#include "connect/modbus/collector.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "connect/modbus/link.h"
#include "core/log.h"
#include "ingest/writer.h"
#include "storage/storage.h"

namespace shopfloor::connect::modbus {

namespace {

constexpr core::Duration kSlice = 20 * core::kMillisecond;
constexpr size_t kMaxPendingBatches = 16;
constexpr core::Quality kBadTypeMismatch = core::Quality::FromOpcUaStatus(0x80740000u);

core::Value ZeroOf(core::ValueType type) {
  switch (type) {
    case core::ValueType::kDouble: return core::Value(0.0);
    case core::ValueType::kInt64: return core::Value(int64_t{0});
    case core::ValueType::kBool: return core::Value(false);
    case core::ValueType::kString: return core::Value(std::string());
  }
  return core::Value(0.0);
}

}  // namespace

core::Result<std::unique_ptr<Collector>> Collector::Create(const model::SourceConfig& source,
                                                           std::vector<CollectorTag> tags, ingest::Writer* writer,
                                                           core::Clock* clock, CollectorOptions options) {
  if (source.protocol != model::Protocol::kModbus) {
    return core::Status::InvalidArgument(fmt::format("source \"{}\" speaks {}, not modbus", source.name,
                                                     model::ProtocolName(source.protocol)));
  }
  if (writer == nullptr || writer->storage() == nullptr || clock == nullptr) {
    return core::Status::InvalidArgument("Collector needs a Writer over a storage and a Clock");
  }
  if (tags.empty()) return core::Status::InvalidArgument(fmt::format("source \"{}\" has no bound tags", source.name));
  std::vector<Bound> bound;
  bound.reserve(tags.size());
  for (auto& tag : tags) {
    auto address = ParseAddress(tag.address);
    if (!address.ok()) return address.status().WithPrefix(fmt::format("tag {}", tag.series_key));
    SF_RETURN_IF_ERROR(CheckBinding(*address, tag.type, false).WithPrefix(fmt::format("tag {}", tag.series_key)));
    if (source.options.byte_swap) address->byte_swap = true;
    auto series = writer->storage()->GetOrCreateSeries(tag.series_key, tag.type);
    if (!series.ok()) return series.status().WithPrefix(fmt::format("tag {}", tag.series_key));
    Bound b;
    b.tag = std::move(tag);
    b.address = *address;
    b.series = *series;
    bound.push_back(std::move(b));
  }
  return std::unique_ptr<Collector>(new Collector(source, std::move(bound), writer, clock, options));
}

Collector::Collector(const model::SourceConfig& source, std::vector<Bound> tags, ingest::Writer* writer,
                     core::Clock* clock, CollectorOptions options)
    : name_(source.name),
      endpoint_(source.endpoint),
      source_options_(source.options),
      tags_(std::move(tags)),
      writer_(writer),
      clock_(clock),
      options_(options),
      link_(std::make_unique<Link>(source.endpoint, source.options.unit_id, source.options.timeout)) {
  std::vector<Address> addresses;
  addresses.reserve(tags_.size());
  for (const Bound& b : tags_) addresses.push_back(b.address);
  PlanOptions plan;
  plan.default_poll = source.poll_interval > 0 ? source.poll_interval : core::kSecond;
  plan.max_registers = source.options.max_registers;
  plan.max_gap = source.options.max_gap;
  groups_ = Plan(addresses, plan);
}

Collector::~Collector() { Stop(); }

void Collector::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_.store(false, std::memory_order_release);
  running_.store(true, std::memory_order_release);
  writer_stop_ = false;
  writer_thread_ = std::thread([this] { WriterLoop(); });
  thread_ = std::thread([this] { Run(); });
}

void Collector::Stop() {
  std::thread thread, writer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
    thread = std::move(thread_);
    writer = std::move(writer_thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    writer_stop_ = true;  // after the last batch of the run thread: the writer drains them all
  }
  pending_cv_.notify_all();
  if (writer.joinable()) writer.join();
  running_.store(false, std::memory_order_release);
  // Writes queued and never run: not sent.
  std::lock_guard<std::mutex> lock(mu_);
  for (WriteJob* job : writes_) {
    job->outcome.error = "not sent: the collector stopped";
    job->done = true;
  }
  writes_.clear();
  write_done_.notify_all();
}

CollectorStats Collector::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<PollGroup> Collector::plan() const {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_;
}

void Collector::Count(uint64_t CollectorStats::*field, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.*field += n;
}

void Collector::Error(const core::Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.last_error = s.ToString();
  stats_.last_error_at = clock_->Now();
}

bool Collector::WaitUntil(int64_t until) {
  for (;;) {
    RunWrites();
    if (stopping()) return false;
    const int64_t left = until - clock_->Steady();
    if (left <= 0) return true;
    // A condition variable on real time rather than Clock::SleepFor: Stop() and Write() wake
    // it at once, and Stop() is never stuck behind a SimClock nobody advances. The decision
    // stays on the Clock's steady time, looked at again at least every 20 ms.
    std::unique_lock<std::mutex> lock(mu_);
    if (!writes_.empty() || stopping()) continue;
    wake_.wait_for(lock, std::chrono::nanoseconds(std::min<int64_t>(left, kSlice)));
  }
}

core::Status Collector::Reconnect() {
  core::Status s = link_->Connect();
  if (s.ok()) {
    Count(&CollectorStats::connects);
  } else {
    Count(&CollectorStats::failed_attempts);
    Error(s);
  }
  connected_.store(s.ok(), std::memory_order_release);
  return s;
}

void Collector::Run() {
  std::vector<int64_t> due(groups_.size(), clock_->Steady());
  core::Duration backoff = source_options_.backoff;
  bool lost = false;  // in an outage: reconnect with backoff before polling
  while (!stopping()) {
    if (lost || !link_->connected()) {
      if (!Reconnect().ok()) {
        if (!lost) {
          // The first poll found no device: that is an outage too.
          lost = true;
          core::SampleBatch batch;
          std::vector<size_t> all(tags_.size());
          for (size_t i = 0; i < all.size(); ++i) all[i] = i;
          MarkBad(all, core::Quality::BadNoCommunication(), clock_->Now(), &batch);
          if (!batch.empty()) Count(&CollectorStats::connection_losses);
          Flush(&batch);
        }
        if (!WaitUntil(clock_->Steady() + backoff)) break;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      lost = false;
      backoff = source_options_.backoff;
      const int64_t now = clock_->Steady();
      for (int64_t& d : due) d = std::min(d, now);  // poll at once after an outage
    }
    const size_t next = static_cast<size_t>(std::min_element(due.begin(), due.end()) - due.begin());
    if (clock_->Steady() < due[next]) {
      if (!WaitUntil(due[next])) break;
      continue;
    }
    if (!Poll(next)) {
      lost = true;
      continue;
    }
    const core::Duration interval = groups_[next].interval;
    due[next] += interval;
    const int64_t now = clock_->Steady();
    if (due[next] < now) {
      // Late by at least a whole interval: skip the missed polls instead of bursting.
      const int64_t missed = (now - due[next]) / interval + 1;
      Count(&CollectorStats::overruns, static_cast<uint64_t>(missed));
      if (now - last_overrun_log_ >= core::kMinute || last_overrun_log_ == 0) {
        last_overrun_log_ = now;
        SF_LOG(warn, "modbus.falling_behind", "series={} interval_ms={} missed_polls={} hint=\"the device or this "
               "machine cannot keep up with the poll interval; polls are skipped, not queued\"",
               tags_.empty() ? std::string() : tags_.front().tag.series_key, interval / core::kMillisecond, missed);
      }
      due[next] += missed * interval;
    }
  }
  connected_.store(false, std::memory_order_release);
  RunWrites();  // anything queued before stop_ was seen gets an answer from Stop()
  link_->Close();
}

core::Status Collector::Read(const ReadRequest& request, std::vector<uint16_t>* words, std::vector<uint8_t>* bits) {
  const bool bit_table = IsBitTable(request.table);
  if (bit_table) {
    bits->assign(request.count, 0);
  } else {
    words->assign(request.count, 0);
  }
  core::Status s;
  core::Duration wait = options_.retry_backoff;
  bool reopened = false;  // a dropped idle connection was re-opened once already
  for (int attempt = 0; attempt <= source_options_.retries; ++attempt) {
    if (attempt > 0) {
      Count(&CollectorStats::retries);
      if (!WaitUntil(clock_->Steady() + wait)) return s;
      wait *= 2;
    }
    bool fresh = false;
    if (!link_->connected()) {
      s = Reconnect();
      if (!s.ok()) continue;
      fresh = true;
    }
    Count(&CollectorStats::requests);
    s = bit_table ? link_->ReadBits(request.table, request.start, *bits)
                  : link_->ReadRegisters(request.table, request.start, *words);
    if (s.ok()) {
      Count(&CollectorStats::registers_read, request.count);
      connected_.store(true, std::memory_order_release);
      return s;
    }
    Error(s);
    if (s.code() == core::StatusCode::kAborted) {
      Count(&CollectorStats::exceptions);
      return s;  // a definite answer: asking again changes nothing
    }
    connected_.store(false, std::memory_order_release);
    if (s.code() == core::StatusCode::kTimeout) Count(&CollectorStats::timeouts);
    if (s.code() == core::StatusCode::kUnavailable && !fresh && !reopened) {
      // A connection that worked before is gone (many devices close idle connections):
      // re-open it and ask again at once, without spending a retry on it. Reads are idempotent.
      reopened = true;
      --attempt;
      wait = options_.retry_backoff;
    }
  }
  return s;
}

bool Collector::Poll(size_t index) {
  const core::Timestamp ts = clock_->Now();
  core::SampleBatch batch;
  std::vector<uint16_t> words;
  std::vector<uint8_t> bits;
  for (size_t r = 0; r < groups_[index].requests.size() && !stopping(); ++r) {
    const ReadRequest request = groups_[index].requests[r];
    core::Status s = Read(request, &words, &bits);
    if (s.ok()) {
      Decode(request, words, bits, ts, &batch);
      continue;
    }
    if (s.code() == core::StatusCode::kAborted) {
      if (link_->exception() == 2 && request.tags.size() > 1) {
        // One bad address in a merged read: ask for each tag alone from now on.
        std::vector<ReadRequest> single;
        for (size_t tag : request.tags) {
          const Address& a = tags_[tag].address;
          single.push_back(ReadRequest{a.table, a.reg, a.count(), {tag}});
        }
        std::lock_guard<std::mutex> lock(mu_);
        auto& requests = groups_[index].requests;
        requests.erase(requests.begin() + static_cast<std::ptrdiff_t>(r));
        requests.insert(requests.begin() + static_cast<std::ptrdiff_t>(r), single.begin(), single.end());
        --r;  // read them now
        continue;
      }
      MarkBad(request.tags, ExceptionQuality(link_->exception()), ts, &batch);
      continue;
    }
    Count(&CollectorStats::failed_requests);
    if (stopping()) break;
    if (s.code() != core::StatusCode::kTimeout) {
      // The connection is gone and could not be re-opened: every tag of the source.
      std::vector<size_t> all(tags_.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = i;
      const size_t before = batch.size();
      MarkBad(all, core::Quality::BadNoCommunication(), ts, &batch);
      if (batch.size() > before) Count(&CollectorStats::connection_losses);
      Flush(&batch);
      return false;
    }
    MarkBad(request.tags, core::Quality::BadCommunicationError(), ts, &batch);
  }
  Flush(&batch);
  Count(&CollectorStats::polls);
  return true;
}

void Collector::Decode(const ReadRequest& request, const std::vector<uint16_t>& words,
                       const std::vector<uint8_t>& bits, core::Timestamp ts, core::SampleBatch* batch) {
  for (size_t index : request.tags) {
    Bound& b = tags_[index];
    const size_t offset = b.address.reg - request.start;
    const size_t n = b.address.count();
    std::span<const uint16_t> w;
    std::span<const uint8_t> bt;
    if (IsBitTable(request.table)) {
      bt = std::span<const uint8_t>(bits).subspan(offset, n);
    } else {
      w = std::span<const uint16_t>(words).subspan(offset, n);
    }
    auto value = modbus::Decode(b.address, source_options_.word_swap, w, bt, b.tag.type);
    if (!value.ok()) {
      if (!(b.stored && b.quality == kBadTypeMismatch)) Error(value.status().WithPrefix(b.tag.series_key));
      std::vector<size_t> one{index};
      MarkBad(one, kBadTypeMismatch, ts, batch);
      continue;
    }
    if (value->is_double() && std::isnan(value->as_double())) {
      // Devices report a failed sensor as NaN in a float register: bad, never a number.
      std::vector<size_t> one{index};
      MarkBad(one, core::Quality::BadSensorFailure(), ts, batch);
      continue;
    }
    if (b.stored && b.quality.good() && b.tag.deadband > 0 && ts - b.stored_at < options_.deadband_heartbeat) {
      double now = 0, before = 0;
      if (value->ToNumber(&now) && b.value.ToNumber(&before) && !value->is_bool() &&
          std::fabs(now - before) <= b.tag.deadband) {
        continue;  // within the deadband of the last stored value
      }
    }
    Store(&b, ts, std::move(*value), core::Quality::Good(), batch);
  }
}

void Collector::MarkBad(const std::vector<size_t>& tags, core::Quality quality, core::Timestamp ts,
                        core::SampleBatch* batch) {
  for (size_t index : tags) {
    Bound& b = tags_[index];
    if (b.stored && b.quality == quality) continue;  // once per outage
    Store(&b, ts, ZeroOf(b.tag.type), quality, batch);
  }
}

void Collector::Store(Bound* b, core::Timestamp ts, core::Value value, core::Quality quality,
                      core::SampleBatch* batch) {
  b->stored = true;
  b->quality = quality;
  b->stored_at = ts;
  batch->Add(b->series, ts, value, quality);
  b->value = std::move(value);
}

void Collector::Flush(core::SampleBatch* batch) {
  if (batch->empty()) return;
  std::unique_lock<std::mutex> lock(mu_);
  // Back-pressure: a storage that cannot keep up slows the polls rather than filling memory.
  pending_cv_.wait(lock, [&] { return pending_.size() < kMaxPendingBatches; });
  pending_.push_back(std::move(*batch));
  batch->Clear();
  lock.unlock();
  pending_cv_.notify_all();
}

void Collector::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    pending_cv_.wait(lock, [&] { return !pending_.empty() || writer_stop_; });
    if (pending_.empty()) return;  // stopping, and everything is written
    core::SampleBatch batch = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    pending_cv_.notify_all();
    core::Status s = writer_->Write(batch);
    lock.lock();
    if (s.ok()) {
      stats_.samples_written += batch.size();
    } else {
      ++stats_.write_failures;
      stats_.last_error = s.WithPrefix("writing samples").ToString();
      stats_.last_error_at = clock_->Now();
    }
  }
}

}  // namespace shopfloor::connect::modbus
