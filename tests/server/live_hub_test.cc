// LiveHub without sockets: a fake sink records wake-ups; messages are parsed back as JSON.
#include "server/live_hub.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_storage.h"
#include "ingest/bus.h"

namespace shopfloor::server {
namespace {

using Json = nlohmann::json;

class CountingSink : public LiveHub::Sink {
 public:
  void OnPending() override { ++wakeups; }
  int wakeups = 0;
};

// The site of a key is its 2nd segment ("works/<site>/...").
LiveHub::AccessPredicate OnlySite(std::string site) {
  return [site](std::string_view key) {
    size_t a = key.find('/');
    if (a == std::string_view::npos) return false;
    size_t b = key.find('/', a + 1);
    return key.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1) == site;
  };
}
bool AllowAll(std::string_view) { return true; }

class LiveHubTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_ = std::make_unique<LiveHub>(&storage_, &bus_, options_); }

  core::SeriesId Series(const std::string& key) {
    auto id = storage_.GetOrCreateSeries(key, core::ValueType::kDouble);
    EXPECT_TRUE(id.ok());
    return *id;
  }
  // What Writer does: storage first, then the bus.
  void Write(const std::string& key, core::Timestamp ts, double value, core::Quality q = core::Quality::Good()) {
    core::SampleBatch batch;
    batch.Add(Series(key), ts, value, q);
    ASSERT_TRUE(storage_.Write(batch).ok());
    bus_.PublishSamples(batch);
  }
  std::unique_ptr<LiveHub::Session> Open(std::shared_ptr<CountingSink> sink,
                                         LiveHub::AccessPredicate access = AllowAll) {
    return hub_->Open(sink, std::move(access));
  }
  static std::vector<Json> Parse(const std::vector<std::string>& messages) {
    std::vector<Json> out;
    for (const std::string& m : messages) out.push_back(Json::parse(m));
    return out;
  }
  // series key -> value of an update or snapshot message.
  static std::map<std::string, Json> Values(const Json& message) {
    std::map<std::string, Json> out;
    for (const Json& s : message.at("samples")) out[s.at("series").get<std::string>()] = s.at("value");
    return out;
  }
  static Json TakeUpdate(LiveHub::Session* session) {
    std::string text;
    if (!session->TakeUpdate(&text)) return Json();
    return Json::parse(text);
  }

  LiveHub::Options options_;
  testing::FakeStorage storage_;
  ingest::Bus bus_;
  std::unique_ptr<LiveHub> hub_;
};

TEST_F(LiveHubTest, SubscribeAcksReportsUnknownAndSendsSnapshot) {
  Write("w/s1/press/temp", 100, 20.5);
  Write("w/s1/press/temp", 200, 21.5);
  Series("w/s1/press/empty");
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink);
  auto out = Parse(session->Handle(
      R"({"op":"subscribe","id":"c1","series":["w/s1/press/temp","w/s1/press/empty","nope/x"]})"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "ack");
  EXPECT_EQ(out[0]["id"], "c1");
  EXPECT_EQ(out[0]["series"], 2);
  EXPECT_EQ(out[0]["unknown"], Json::array({"nope/x"}));
  EXPECT_EQ(out[0]["forbidden"], Json::array());
  EXPECT_EQ(out[1]["type"], "snapshot");
  ASSERT_EQ(out[1]["samples"].size(), 1u);  // the empty series has no latest value
  EXPECT_EQ(out[1]["samples"][0]["series"], "w/s1/press/temp");
  EXPECT_EQ(out[1]["samples"][0]["value"], 21.5);
  EXPECT_EQ(out[1]["samples"][0]["ts"], core::FormatTimestamp(200));
  EXPECT_EQ(out[1]["samples"][0]["quality"], "good");
  EXPECT_EQ(session->subscribed_series(), 2u);
  EXPECT_EQ(hub_->clients(), 1u);
  session.reset();
  EXPECT_EQ(hub_->clients(), 0u);
}

TEST_F(LiveHubTest, UpdatesWakeOnceAndCarryQuality) {
  Series("w/s1/a/v");
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink);
  session->Handle(R"({"op":"subscribe","id":"c1","series":["w/s1/a/v"]})");
  EXPECT_TRUE(TakeUpdate(session.get()).is_null());
  Write("w/s1/a/v", 10, 1.0, core::Quality::BadSensorFailure());
  EXPECT_EQ(sink->wakeups, 1);
  Json update = TakeUpdate(session.get());
  ASSERT_FALSE(update.is_null());
  EXPECT_EQ(update["type"], "update");
  EXPECT_EQ(update["seq"], 1);
  EXPECT_EQ(update["missed"], 0);
  ASSERT_EQ(update["samples"].size(), 1u);
  EXPECT_EQ(update["samples"][0]["quality"], "0x808C0000");
  EXPECT_TRUE(TakeUpdate(session.get()).is_null());
  Write("w/s1/a/v", 20, 2.0, core::Quality::Uncertain());
  EXPECT_EQ(sink->wakeups, 2);
  update = TakeUpdate(session.get());
  EXPECT_EQ(update["seq"], 2);
  EXPECT_EQ(update["samples"][0]["quality"], "uncertain");
}

TEST_F(LiveHubTest, CoalescesToTheNewestAndCountsMissed) {
  Series("w/s1/a/v");
  Series("w/s1/a/w");
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink);
  session->Handle(R"({"op":"subscribe","id":"c1","series":["w/s1/a/v","w/s1/a/w"]})");
  for (int i = 1; i <= 1000; ++i) Write("w/s1/a/v", i, double(i));
  Write("w/s1/a/v", 5, -1.0);  // older than the pending one: missed, not shown
  Write("w/s1/a/w", 7, 7.0);
  EXPECT_EQ(sink->wakeups, 1);  // one wake-up until the transport takes the update
  Json update = TakeUpdate(session.get());
  auto values = Values(update);
  EXPECT_EQ(values.size(), 2u);
  EXPECT_EQ(values["w/s1/a/v"], 1000.0);
  EXPECT_EQ(values["w/s1/a/w"], 7.0);
  EXPECT_EQ(update["missed"], 1000);  // 999 replaced + the late one
  EXPECT_EQ(hub_->samples_missed(), 1000u);
  Write("w/s1/a/v", 2000, 3.0);
  update = TakeUpdate(session.get());
  EXPECT_EQ(update["missed"], 0);
  EXPECT_EQ(sink->wakeups, 2);
}

TEST_F(LiveHubTest, SubtreeIncludesSeriesCreatedLater) {
  Write("w/s1/body/press/temp", 1, 1.0);
  Write("w/s1/bodyx/other", 1, 9.0);  // shares the prefix but not the path
  Write("w/s1/paint/oven/temp", 1, 2.0);
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink);
  auto out = Parse(session->Handle(R"({"op":"subscribe","id":"s","asset":"w/s1/body/"})"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["series"], 1);
  EXPECT_EQ(Values(out[1]).count("w/s1/body/press/temp"), 1u);
  EXPECT_EQ(Values(out[1]).size(), 1u);

  Write("w/s1/body/robot-7/axis/torque", 5, 42.0);  // a series created after subscribing
  Write("w/s1/paint/oven/temp", 5, 3.0);
  Write("w/s1/bodyx/other", 5, 10.0);
  Json update = TakeUpdate(session.get());
  auto values = Values(update);
  EXPECT_EQ(values.size(), 1u);
  EXPECT_EQ(values["w/s1/body/robot-7/axis/torque"], 42.0);
  EXPECT_EQ(session->subscribed_series(), 2u);

  // A second session subscribing to the new series by key does not hide it from a third,
  // later subtree subscription.
  auto other = Open(std::make_shared<CountingSink>());
  Write("w/s1/body/new/x", 6, 6.0);
  other->Handle(R"({"op":"subscribe","id":"k","series":["w/s1/body/new/x"]})");
  auto later = Open(std::make_shared<CountingSink>());
  out = Parse(later->Handle(R"({"op":"subscribe","id":"t","asset":"w/s1/body"})"));
  EXPECT_EQ(out[0]["series"], 3);
  Write("w/s1/body/new/x", 7, 7.0);
  EXPECT_EQ(Values(TakeUpdate(later.get()))["w/s1/body/new/x"], 7.0);
  EXPECT_EQ(Values(TakeUpdate(other.get()))["w/s1/body/new/x"], 7.0);
}

TEST_F(LiveHubTest, AccessPredicateFiltersAndReports) {
  Write("w/s1/a/v", 1, 1.0);
  Write("w/s2/a/v", 1, 2.0);
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink, OnlySite("s1"));
  auto out = Parse(session->Handle(R"({"op":"subscribe","id":"c","series":["w/s1/a/v","w/s2/a/v"]})"));
  EXPECT_EQ(out[0]["series"], 1);
  EXPECT_EQ(out[0]["forbidden"], Json::array({"w/s2/a/v"}));
  out = Parse(session->Handle(R"({"op":"subscribe","id":"d","asset":"w/s2"})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["type"], "error");
  EXPECT_EQ(out[0]["id"], "d");
  EXPECT_NE(out[0]["message"].get<std::string>().find("forbidden"), std::string::npos);
  // The whole enterprise: only the site the session may see, the rest reported.
  out = Parse(session->Handle(R"({"op":"subscribe","id":"e","asset":"w"})"));
  EXPECT_EQ(out[0]["series"], 1);
  EXPECT_EQ(out[0]["forbidden"], Json::array({"w/s2/a/v"}));
  Write("w/s2/a/new", 2, 5.0);  // later series of a forbidden site never arrive
  Write("w/s2/a/v", 2, 5.0);
  EXPECT_EQ(sink->wakeups, 0);
  Write("w/s1/a/v", 2, 5.0);
  auto values = Values(TakeUpdate(session.get()));
  EXPECT_EQ(values.size(), 1u);
  EXPECT_EQ(values.count("w/s1/a/v"), 1u);
}

TEST_F(LiveHubTest, UnsubscribeStopsDeliveryOnlyWhenNoSubscriptionSelectsTheSeries) {
  Series("w/s1/a/v");
  auto sink = std::make_shared<CountingSink>();
  auto session = Open(sink);
  session->Handle(R"({"op":"subscribe","id":"one","series":["w/s1/a/v"]})");
  session->Handle(R"({"op":"subscribe","id":"two","asset":"w/s1"})");
  auto out = Parse(session->Handle(R"({"op":"unsubscribe","id":"one"})"));
  EXPECT_EQ(out[0]["type"], "ack");
  EXPECT_EQ(out[0]["op"], "unsubscribe");
  Write("w/s1/a/v", 1, 1.0);
  EXPECT_EQ(Values(TakeUpdate(session.get())).size(), 1u);
  session->Handle(R"({"op":"unsubscribe","id":"two"})");
  Write("w/s1/a/v", 2, 2.0);
  Write("w/s1/a/later", 2, 2.0);
  EXPECT_TRUE(TakeUpdate(session.get()).is_null());
  EXPECT_EQ(session->subscribed_series(), 0u);
  out = Parse(session->Handle(R"({"op":"unsubscribe","id":"two"})"));
  EXPECT_EQ(out[0]["type"], "error");
  EXPECT_NE(out[0]["message"].get<std::string>().find("no subscription \"two\""), std::string::npos);
}

TEST_F(LiveHubTest, BadMessagesNameTheField) {
  auto session = Open(std::make_shared<CountingSink>());
  struct Case {
    const char* message;
    const char* expect;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[1]", "JSON object"},
      {R"({"op":"subscribe","series":["a"]})", "field \"id\": missing"},
      {R"({"op":"subscribe","id":5,"series":["a"]})", "field \"id\": must be a string"},
      {R"({"op":"watch","id":"x"})", "field \"op\": unknown operation \"watch\""},
      {R"({"op":"subscribe","id":"x"})", "exactly one of the fields \"series\" and \"asset\""},
      {R"({"op":"subscribe","id":"x","series":["a",3]})", "field \"series\": element 1 is not a string"},
      {R"({"op":"subscribe","id":"x","series":[]})", "field \"series\": must not be empty"},
      {R"({"op":"subscribe","id":"x","asset":"/"})", "field \"asset\""},
      {R"({"op":"subscribe","id":"x","series":["a"],"extra":1})", "field \"extra\": unknown field"},
  };
  for (const Case& c : cases) {
    auto out = Parse(session->Handle(c.message));
    ASSERT_EQ(out.size(), 1u) << c.message;
    EXPECT_EQ(out[0]["type"], "error") << c.message;
    EXPECT_NE(out[0]["message"].get<std::string>().find(c.expect), std::string::npos)
        << c.message << " -> " << out[0]["message"];
  }
  Series("w/s1/a/v");
  session->Handle(R"({"op":"subscribe","id":"dup","series":["w/s1/a/v"]})");
  auto out = Parse(session->Handle(R"({"op":"subscribe","id":"dup","series":["w/s1/a/v"]})"));
  EXPECT_NE(out[0]["message"].get<std::string>().find("already exists"), std::string::npos);
}

TEST_F(LiveHubTest, SessionSeriesAreCapped) {
  options_.max_series_per_session = 2;
  options_.snapshot_chunk = 1;
  SetUp();
  for (const char* key : {"w/s1/a/1", "w/s1/a/2", "w/s1/a/3"}) Write(key, 1, 1.0);
  auto session = Open(std::make_shared<CountingSink>());
  auto out = Parse(session->Handle(R"({"op":"subscribe","id":"x","series":["w/s1/a/1","w/s1/a/2","w/s1/a/3"]})"));
  EXPECT_EQ(out[0]["type"], "error");
  EXPECT_NE(out[0]["message"].get<std::string>().find("exceed 2"), std::string::npos);
  out = Parse(session->Handle(R"({"op":"subscribe","id":"t","asset":"w/s1"})"));
  EXPECT_EQ(out[0]["series"], 2);
  EXPECT_EQ(out[0]["not_subscribed_over_limit"], 1);
  EXPECT_EQ(out.size(), 3u);  // ack + two one-sample snapshot chunks
  Write("w/s1/a/4", 2, 4.0);  // a later series beyond the cap is counted, not added
  Write("w/s1/a/1", 2, 4.0);
  Json update = TakeUpdate(session.get());
  EXPECT_EQ(update["not_subscribed_over_limit"], 1);
  EXPECT_EQ(session->subscribed_series(), 2u);
}

}  // namespace
}  // namespace shopfloor::server
