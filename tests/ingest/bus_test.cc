#include "ingest/bus.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace shopfloor::ingest {
namespace {

core::SampleBatch OneSample(uint32_t id, double v) {
  core::SampleBatch b;
  b.Add(core::SeriesId{id}, 1, core::Value(v));
  return b;
}

TEST(BusTest, DeliversToEverySubscriberUntilUnsubscribed) {
  Bus bus;
  int a = 0, b = 0, events = 0;
  auto sa = bus.SubscribeSamples([&](const core::SampleBatch& batch) { a += static_cast<int>(batch.size()); });
  {
    auto sb = bus.SubscribeSamples([&](const core::SampleBatch&) { ++b; });
    auto se = bus.SubscribeEvents([&](const Event& e) { events += e.kind == "twin.desired"; });
    bus.PublishSamples(OneSample(1, 1.0));
    bus.PublishEvent(Event{.ts = 1, .kind = "twin.desired"});
  }
  bus.PublishSamples(OneSample(1, 2.0));
  bus.PublishEvent(Event{.ts = 2, .kind = "twin.desired"});
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(events, 1);
  EXPECT_EQ(bus.samples_published(), 2u);
  EXPECT_EQ(bus.events_published(), 2u);
}

TEST(BusTest, SubscribingWhilePublishingFromOtherThreadsIsSafe) {
  Bus bus;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> seen{0};
  std::thread publisher([&] {
    while (!stop) bus.PublishSamples(OneSample(2, 1.0));
  });
  for (int i = 0; i < 200; ++i) {
    auto s = bus.SubscribeSamples([&](const core::SampleBatch&) { seen.fetch_add(1); });
  }
  while (bus.samples_published() < 1000) std::this_thread::yield();
  stop = true;
  publisher.join();
  EXPECT_GT(bus.samples_published(), 0u);
}

}  // namespace
}  // namespace shopfloor::ingest
