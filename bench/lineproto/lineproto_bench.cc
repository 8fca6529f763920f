// Line protocol parse throughput on Telegraf-shaped input.
//
//   bench_lineproto [lines_per_body] [seconds]
//
// Builds one body of cpu/mem/disk/system lines like Telegraf's default inputs produce
// (3-4 tags, 5-10 numeric fields, ns timestamps) and parses it repeatedly on one thread,
// reusing one LineBatch, then prints lines/s, fields/s and MB/s.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "connect/lineproto/line_protocol.h"

namespace {

std::string MakeBody(int lines) {
  std::string body;
  int64_t ts = 1'700'000'000'000'000'000LL;
  for (int i = 0; i < lines; ++i, ts += 10'000'000'000LL) {
    switch (i % 4) {
      case 0:
        body += fmt::format(
            "cpu,cpu=cpu{},host=line-{}-plc,site=plant-a usage_guest=0,usage_guest_nice=0,usage_idle=97.{},"
            "usage_iowait=0.1{},usage_irq=0,usage_nice=0,usage_softirq=0.05,usage_steal=0,usage_system=0.8{},"
            "usage_user=1.{} {}\n",
            i % 8, i % 16, i % 10, i % 7, i % 9, i % 5, ts);
        break;
      case 1:
        body += fmt::format(
            "mem,host=line-{}-plc,site=plant-a active={}i,available={}i,available_percent=61.{},buffered={}i,"
            "cached={}i,free={}i,total=16777216000i,used={}i,used_percent=38.{} {}\n",
            i % 16, 4000000 + i, 10000000 + i, i % 10, 300000 + i, 5000000 + i, 2000000 + i, 6000000 + i, i % 10,
            ts);
        break;
      case 2:
        body += fmt::format(
            "disk,device=sda{},fstype=ext4,host=line-{}-plc,mode=rw,path=/data free={}i,inodes_free={}i,"
            "inodes_total=6553600i,inodes_used={}i,total=107374182400i,used={}i,used_percent=12.{} {}\n",
            i % 3, i % 16, 90000000000LL + i, 6000000 + i, 500000 + i, 12000000000LL + i, i % 10, ts);
        break;
      default:
        body += fmt::format(
            "system,host=line-{}-plc,site=plant-a load1=0.{},load15=0.2{},load5=0.3{},n_cpus=8i,n_users=2i,"
            "uptime={}i {}\n",
            i % 16, i % 10, i % 10, i % 10, 86400 + i, ts);
        break;
    }
  }
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  int lines = argc > 1 ? std::atoi(argv[1]) : 5000;
  double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  std::string body = MakeBody(lines);
  shopfloor::connect::LineBatch batch;
  shopfloor::connect::LineProtocolOptions options;
  options.default_time = 0;

  uint64_t fields = 0, points = 0, bytes = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    shopfloor::core::Status s = shopfloor::connect::ParseLineProtocol(body, options, &batch);
    if (!s.ok()) {
      std::fprintf(stderr, "parse failed: %s\n", s.ToString().c_str());
      return 1;
    }
    fields += batch.total_fields();
    points += batch.points().size();
    bytes += body.size();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);

  std::printf("lineproto parse: %d lines/body, %.1f bytes/line, %.2f fields/line\n", lines,
              static_cast<double>(body.size()) / lines, static_cast<double>(fields) / static_cast<double>(points));
  std::printf("  %.2f M lines/s  %.2f M fields/s  %.0f MB/s (one thread, %.1f s)\n", points / elapsed / 1e6,
              fields / elapsed / 1e6, bytes / elapsed / 1e6, elapsed);
  return 0;
}
