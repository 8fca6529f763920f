// Request planning (connect/modbus/plan.h): poll groups by interval, merging of adjacent,
// overlapping and near registers up to the request limit, and values never split.
#include "connect/modbus/plan.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shopfloor::connect::modbus {
namespace {

std::vector<Address> Addresses(std::initializer_list<const char*> texts) {
  std::vector<Address> out;
  for (const char* t : texts) {
    auto a = ParseAddress(t);
    EXPECT_TRUE(a.ok()) << t;
    out.push_back(a.ok() ? *a : Address{});
  }
  return out;
}

// "hr:0+4[0,1]" per request: table:start+count[tag indices].
std::vector<std::string> Describe(const PollGroup& group) {
  std::vector<std::string> out;
  for (const ReadRequest& r : group.requests) {
    std::string s = std::string(TableName(r.table)) + ":" + std::to_string(r.start) + "+" + std::to_string(r.count) + "[";
    for (size_t i = 0; i < r.tags.size(); ++i) s += (i ? "," : "") + std::to_string(r.tags[i]);
    out.push_back(s + "]");
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(ModbusPlanTest, MergesAdjacentAndOverlappingRegistersPerTable) {
  auto a = Addresses({"ir:4:float32", "ir:0:float32", "ir:2:int16", "ir:3", "hr:10", "co:5", "co:6", "di:0",
                      "hr:10.3", "ir:9"});
  auto groups = Plan(a, {});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].interval, core::kSecond);
  // ir:9 is 3 registers past ir:4..5: not merged without max_gap.
  EXPECT_EQ(Describe(groups[0]),
            (Strings{"co:5+2[5,6]", "di:0+1[7]", "ir:0+6[1,2,3,0]", "ir:9+1[9]", "hr:10+1[4,8]"}));
}

TEST(ModbusPlanTest, MaxGapSpansUnusedRegisters) {
  auto a = Addresses({"ir:0", "ir:4", "ir:10", "co:0", "co:40"});
  PlanOptions o;
  o.max_gap = 3;
  EXPECT_EQ(Describe(Plan(a, o)[0]), (Strings{"co:0+41[3,4]", "ir:0+5[0,1]", "ir:10+1[2]"}));
  o.max_gap = 5;
  EXPECT_EQ(Describe(Plan(a, o)[0]), (Strings{"co:0+41[3,4]", "ir:0+11[0,1,2]"}));
}

TEST(ModbusPlanTest, RequestsStayWithinTheLimitAndNeverSplitAValue) {
  // 130 consecutive registers: 125 + 5 with the protocol's limit.
  std::vector<Address> many;
  for (int i = 0; i < 130; ++i) many.push_back(*ParseAddress("hr:" + std::to_string(i)));
  auto groups = Plan(many, {});
  ASSERT_EQ(groups[0].requests.size(), 2u);
  EXPECT_EQ(groups[0].requests[0].count, 125);
  EXPECT_EQ(groups[0].requests[1].start, 125);
  EXPECT_EQ(groups[0].requests[1].count, 5);
  // A float32 at 124..125 does not fit the first request: it starts the next.
  auto a = Addresses({"hr:0:string246", "hr:123", "hr:124:float32"});
  EXPECT_EQ(Describe(Plan(a, {})[0]), (Strings{"hr:0+124[0,1]", "hr:124+2[2]"}));
  // max_registers 2: a float64 gets a request of its own of 4 registers.
  PlanOptions o;
  o.max_registers = 2;
  a = Addresses({"ir:0", "ir:1", "ir:2", "ir:3:float64", "ir:7:string6"});
  EXPECT_EQ(Describe(Plan(a, o)[0]), (Strings{"ir:0+2[0,1]", "ir:2+1[2]", "ir:3+4[3]", "ir:7+3[4]"}));
  // Bits: 16 x max_registers, at most 2000.
  std::vector<Address> coils;
  for (int i = 0; i < 2100; ++i) coils.push_back(*ParseAddress("co:" + std::to_string(i)));
  groups = Plan(coils, {});
  ASSERT_EQ(groups[0].requests.size(), 2u);
  EXPECT_EQ(groups[0].requests[0].count, 2000);
  EXPECT_EQ(groups[0].requests[1].count, 100);
  o.max_registers = 10;
  EXPECT_EQ(Plan(coils, o)[0].requests[0].count, 160);
}

TEST(ModbusPlanTest, PollGroupsByInterval) {
  auto a = Addresses({"ir:0", "ir:1:poll=100ms", "ir:2", "ir:3:poll=10s", "hr:0:poll=100ms"});
  PlanOptions o;
  o.default_poll = 2 * core::kSecond;
  auto groups = Plan(a, o);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].interval, 100 * core::kMillisecond);
  EXPECT_EQ(Describe(groups[0]), (Strings{"ir:1+1[1]", "hr:0+1[4]"}));
  EXPECT_EQ(groups[1].interval, 2 * core::kSecond);
  // ir:1 polls in another group: ir:0 and ir:2 are not adjacent.
  EXPECT_EQ(Describe(groups[1]), (Strings{"ir:0+1[0]", "ir:2+1[2]"}));
  EXPECT_EQ(groups[2].interval, 10 * core::kSecond);
  EXPECT_EQ(Describe(groups[2]), (Strings{"ir:3+1[3]"}));
  EXPECT_TRUE(Plan({}, o).empty());
}

}  // namespace
}  // namespace shopfloor::connect::modbus
