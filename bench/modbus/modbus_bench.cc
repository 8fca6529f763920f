// modbus_bench: Shopfloor's Modbus collector against a server (scripts/bench modbus runs it
// against tests/peers/modbus/server.py, beside pymodbus's own client,
// tests/peers/modbus/bench_client.py, which prints the same lines).
//
//   modbus_bench --endpoint=127.0.0.1:PORT --registers=1000 --mode=collector --seconds=5
//     A Collector with one uint16 tag per holding register 0..registers-1 (planned into
//     requests of 125), polling every 1 us (back to back, as fast as the server answers) into a storage in
//     a temporary directory (no fsync). Prints polls/s, requests/s and registers/s.
//   modbus_bench --endpoint=... --registers=1000 --mode=link --seconds=5
//     The collector's Link alone (libmodbus, no decoding or storage): FC 3 reads of 125
//     registers cycling through the same registers, as the pymodbus client does.
// Output: one JSON object per line, e.g.
//   {"client":"shopfloor-collector","registers":1000,"seconds":5.0,"polls":..,"requests":..,
//    "registers_read":..,"polls_per_s":..,"requests_per_s":..,"registers_per_s":..}
// A failed request is an error (exit 1).
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connect/modbus/collector.h"
#include "connect/modbus/link.h"
#include "ingest/writer.h"
#include "storage/storage.h"

namespace modbus = shopfloor::connect::modbus;
namespace core = shopfloor::core;

namespace {

struct Args {
  std::string endpoint;
  std::string mode = "collector";
  int registers = 1000;
  double seconds = 5;
};

bool Flag(const char* arg, std::string_view name, std::string* out) {
  std::string prefix = fmt::format("--{}=", name);
  if (std::strncmp(arg, prefix.c_str(), prefix.size()) != 0) return false;
  *out = arg + prefix.size();
  return true;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "modbus_bench: %s\n", message.c_str());
  std::exit(1);
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Print(const char* client, const Args& args, double elapsed, uint64_t polls, uint64_t requests,
           uint64_t registers) {
  std::printf(
      "{\"client\":\"%s\",\"registers\":%d,\"seconds\":%.3f,\"polls\":%llu,\"requests\":%llu,\"registers_read\":%llu,"
      "\"polls_per_s\":%.1f,\"requests_per_s\":%.1f,\"registers_per_s\":%.1f}\n",
      client, args.registers, elapsed, static_cast<unsigned long long>(polls),
      static_cast<unsigned long long>(requests), static_cast<unsigned long long>(registers), polls / elapsed,
      requests / elapsed, registers / elapsed);
}

void RunLink(const Args& args) {
  modbus::Link link(args.endpoint, 1, 2 * core::kSecond);
  if (core::Status s = link.Connect(); !s.ok()) Fail(s.ToString());
  std::vector<uint16_t> words(modbus::kMaxReadRegisters);
  uint64_t polls = 0, requests = 0, registers = 0;
  const auto start = std::chrono::steady_clock::now();
  while (Since(start) < args.seconds) {
    for (int at = 0; at < args.registers; at += modbus::kMaxReadRegisters) {
      const int n = std::min(modbus::kMaxReadRegisters, args.registers - at);
      core::Status s = link.ReadRegisters(modbus::Table::kHoldingRegister, static_cast<uint16_t>(at),
                                          std::span<uint16_t>(words.data(), n));
      if (!s.ok()) Fail(s.ToString());
      ++requests;
      registers += n;
    }
    ++polls;
  }
  Print("shopfloor-link", args, Since(start), polls, requests, registers);
}

void RunCollector(const Args& args) {
  std::string dir = (std::filesystem::temp_directory_path() / "sf-modbus-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) Fail("mkdtemp failed");
  {
    shopfloor::storage::Options options;
    options.env = core::Env::Posix();
    options.clock = core::Clock::System();
    options.dir = dir;
    options.durability.mode = shopfloor::storage::DurabilityPolicy::Mode::kNone;
    auto storage = shopfloor::storage::Storage::Open(options);
    if (!storage.ok()) Fail(storage.status().ToString());
    shopfloor::ingest::Writer writer(storage->get(), nullptr);
    shopfloor::model::SourceConfig source;
    source.name = "bench";
    source.protocol = shopfloor::model::Protocol::kModbus;
    source.endpoint = args.endpoint;
    source.poll_interval = core::kMillisecond / 1000;  // 1 us: every poll is overdue, so they run back to back
    source.options.timeout = 2 * core::kSecond;
    std::vector<modbus::CollectorTag> tags;
    for (int i = 0; i < args.registers; ++i) {
      tags.push_back({fmt::format("bench/plc/r{}", i), fmt::format("hr:{}", i), core::ValueType::kInt64});
    }
    auto collector = modbus::Collector::Create(source, tags, &writer, core::Clock::System());
    if (!collector.ok()) Fail(collector.status().ToString());
    (*collector)->Start();
    // Measured from the first completed poll, so that connecting is not counted.
    while ((*collector)->stats().polls == 0) {
      if ((*collector)->stats().failed_requests + (*collector)->stats().failed_attempts > 0) {
        Fail((*collector)->stats().last_error);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const modbus::CollectorStats first = (*collector)->stats();
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
    const modbus::CollectorStats last = (*collector)->stats();
    const double elapsed = Since(start);
    (*collector)->Stop();
    if (last.failed_requests != 0 || last.exceptions != 0 || last.write_failures != 0) Fail(last.last_error);
    Print("shopfloor-collector", args, elapsed, last.polls - first.polls, last.requests - first.requests,
          last.registers_read - first.registers_read);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (Flag(argv[i], "endpoint", &v)) {
      args.endpoint = v;
    } else if (Flag(argv[i], "mode", &v)) {
      args.mode = v;
    } else if (Flag(argv[i], "registers", &v)) {
      args.registers = std::atoi(v.c_str());
    } else if (Flag(argv[i], "seconds", &v)) {
      args.seconds = std::atof(v.c_str());
    } else {
      Fail(fmt::format("unknown argument {}", argv[i]));
    }
  }
  if (args.endpoint.empty() || args.registers < 1 || args.registers > 2000 || args.seconds <= 0) {
    Fail("usage: modbus_bench --endpoint=HOST:PORT [--mode=collector|link] [--registers=1..2000] [--seconds=S]");
  }
  if (args.mode == "link") {
    RunLink(args);
  } else if (args.mode == "collector") {
    RunCollector(args);
  } else {
    Fail("--mode is collector or link");
  }
  return 0;
}
