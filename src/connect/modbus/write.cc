// Setpoint writes of the Modbus collector (collector.h "Writes"): Write() queues the job for
// the collector's thread, which runs it between polls: read the current value, write, read
// back.
#include <fmt/format.h>

#include "connect/modbus/collector.h"
#include "connect/modbus/link.h"

namespace shopfloor::connect::modbus {

namespace {

uint16_t SwapBytes(uint16_t w) { return static_cast<uint16_t>((w << 8) | (w >> 8)); }

// The registers (or bits, as 0/1 in `bits`) an address occupies.
core::Status ReadTarget(Link* link, const Address& a, std::vector<uint16_t>* words, std::vector<uint8_t>* bits) {
  if (a.table == Table::kCoil) {
    bits->assign(1, 0);
    return link->ReadBits(Table::kCoil, a.reg, *bits);
  }
  words->assign(a.count(), 0);
  return link->ReadRegisters(Table::kHoldingRegister, a.reg, *words);
}

// For a register bit, the raw register with the bit set to `on`, honouring bytes=little.
uint16_t WithBit(const Address& a, uint16_t raw, bool on) {
  uint16_t logical = a.byte_swap ? SwapBytes(raw) : raw;
  const auto mask = static_cast<uint16_t>(1u << a.bit);
  logical = on ? static_cast<uint16_t>(logical | mask) : static_cast<uint16_t>(logical & ~mask);
  return a.byte_swap ? SwapBytes(logical) : logical;
}

}  // namespace

WriteOutcome Collector::Write(const std::string& address, const core::Value& value, core::ValueType type) {
  WriteJob job;
  auto parsed = ParseAddress(address);
  if (!parsed.ok()) {
    job.outcome.error = "not sent: " + parsed.status().message();
  } else if (core::Status s = CheckBinding(*parsed, type, /*writable=*/true); !s.ok()) {
    job.outcome.error = "not sent: " + s.message();
  } else {
    job.address = *parsed;
    if (source_options_.byte_swap) job.address.byte_swap = true;
    job.value = value;
    job.type = type;
    std::unique_lock<std::mutex> lock(mu_);
    if (!running_.load(std::memory_order_acquire) || stopping()) {
      job.outcome.error = "not sent: the collector is not running";
    } else {
      writes_.push_back(&job);
      wake_.notify_all();
      write_done_.wait(lock, [&] { return job.done; });
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  (job.outcome.result == WriteOutcome::kOk       ? stats_.setpoints_ok
   : job.outcome.result == WriteOutcome::kFailed ? stats_.setpoints_failed
                                                 : stats_.setpoints_unknown)++;
  return job.outcome;
}

void Collector::RunWrites() {
  for (;;) {
    WriteJob* job = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writes_.empty()) return;
      job = writes_.front();
      writes_.pop_front();
    }
    WriteOutcome outcome = ExecuteWrite(*job);
    std::lock_guard<std::mutex> lock(mu_);
    job->outcome = std::move(outcome);
    job->done = true;
    write_done_.notify_all();
  }
}

WriteOutcome Collector::ExecuteWrite(const WriteJob& job) {
  WriteOutcome out;
  const Address& a = job.address;
  const std::string text = FormatAddress(a);
  auto encoded = Encode(a, source_options_.word_swap, job.value);
  if (!encoded.ok()) {
    out.error = "not sent: " + encoded.status().message();
    return out;
  }
  // Nothing has been written until the write request itself: a stale connection (the device
  // restarted since the last request) is re-opened once.
  std::vector<uint16_t> words;
  std::vector<uint8_t> bits;
  core::Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!link_->connected()) {
      s = Reconnect();
      if (!s.ok()) continue;
    }
    s = ReadTarget(link_.get(), a, &words, &bits);
    if (s.ok() || s.code() == core::StatusCode::kAborted) break;
  }
  if (!s.ok()) {
    out.error = "not sent: reading the current value: " + s.ToString();
    return out;
  }
  auto previous = modbus::Decode(a, source_options_.word_swap, words, bits, job.type);
  if (previous.ok()) out.previous = *previous;

  std::vector<uint16_t> sent = *encoded;
  if (a.table == Table::kCoil) {
    s = link_->WriteCoil(a.reg, sent[0] != 0);
  } else if (a.type == DataType::kBit) {
    sent[0] = WithBit(a, words[0], (*encoded)[0] != 0);
    s = link_->WriteRegister(a.reg, sent[0]);
  } else if (sent.size() == 1) {
    s = link_->WriteRegister(a.reg, sent[0]);
  } else {
    s = link_->WriteRegisters(a.reg, sent);
  }
  if (s.code() == core::StatusCode::kAborted) {
    out.error = fmt::format("{}: write refused: {}", text, s.message());
    return out;
  }
  if (!s.ok()) {
    connected_.store(false, std::memory_order_release);
    out.result = WriteOutcome::kUnknown;
    out.error = s.ToString() + " (the device may or may not have applied it; not retried)";
    return out;
  }
  s = ReadTarget(link_.get(), a, &words, &bits);
  if (s.code() == core::StatusCode::kAborted) {
    out.error = fmt::format("{}: written, but the read-back was refused: {}", text, s.message());
    return out;
  }
  if (!s.ok()) {
    out.result = WriteOutcome::kUnknown;
    out.error = fmt::format("{}: written, but the read-back got no answer: {}", text, s.ToString());
    return out;
  }
  const bool same = a.table == Table::kCoil      ? (bits[0] != 0) == (sent[0] != 0)
                    : a.type == DataType::kBit ? WithBit(a, words[0], (*encoded)[0] != 0) == words[0]
                                               : words == sent;
  if (!same) {
    auto back = modbus::Decode(a, source_options_.word_swap, words, bits, job.type);
    out.error = fmt::format("{}: wrote {}, read back {}", text, job.value.ToString(),
                            back.ok() ? back->ToString() : back.status().message());
    return out;
  }
  out.result = WriteOutcome::kOk;
  return out;
}

}  // namespace shopfloor::connect::modbus
