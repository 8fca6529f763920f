// MQTT telemetry on the unified namespace: the payload shapes, and TelemetryHooks behind a
// real Broker writing into a real storage with durability "always": a value is readable
// when its PUBACK arrives, a batch is one message, a type mismatch or an unknown path is
// refused with its reason (and nothing stored), a publisher allowed to provision creates the
// asset and tag, a full disk comes back as Quota exceeded and the message is not routed.
#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "connect/mqtt/broker.h"
#include "connect/mqtt/telemetry.h"
#include "ingest/writer.h"
#include "meta/db.h"
#include "model/asset_store.h"
#include "mqtt_test_client.h"
#include "storage/storage.h"

namespace shopfloor::connect::mqtt {
namespace {

using testing::TestClient;
constexpr core::Timestamp kMs = 1'000'000;

TEST(MqttTelemetryParse, PayloadShapes) {
  const core::Timestamp now = 1'700'000'000'000 * kMs;
  auto bare = ParseTelemetry("acme/plant/m1/temp", "21.5", now);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->asset_path, "acme/plant/m1");
  ASSERT_EQ(bare->points.size(), 1u);
  EXPECT_EQ(bare->points[0].tag, "temp");
  EXPECT_EQ(bare->points[0].value, core::Value(21.5));
  EXPECT_EQ(bare->points[0].ts, now);
  EXPECT_TRUE(bare->points[0].quality.good());

  EXPECT_EQ(ParseTelemetry("a/m/count", "7", now)->points[0].value, core::Value(int64_t{7}));
  EXPECT_EQ(ParseTelemetry("a/m/running", "true", now)->points[0].value, core::Value(true));
  EXPECT_EQ(ParseTelemetry("a/m/state", "\"Execute\"", now)->points[0].value, core::Value("Execute"));

  auto full = ParseTelemetry("a/m/temp", R"({"value": 20, "ts": 1700000000123, "quality": "uncertain"})", now);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->points[0].ts, 1'700'000'000'123 * kMs);
  EXPECT_EQ(full->points[0].quality, core::Quality::Uncertain());
  auto rfc = ParseTelemetry("a/m/temp", R"({"value": 1.5, "ts": "2023-11-14T22:13:20.5Z", "quality": 2150694912})", now);
  ASSERT_TRUE(rfc.ok()) << rfc.status().ToString();
  EXPECT_EQ(rfc->points[0].ts, 1'700'000'000'500 * kMs);
  EXPECT_EQ(rfc->points[0].quality, core::Quality::BadNoCommunication());  // 0x80310000

  auto batch = ParseTelemetry("a/m", R"({"temp": 21.5, "speed": {"value": 3, "ts": 5}, "ts": 1000})", now);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->asset_path, "a/m");
  ASSERT_EQ(batch->points.size(), 2u);
  for (const auto& p : batch->points) {
    EXPECT_EQ(p.ts, p.tag == "temp" ? 1000 * kMs : 5 * kMs) << p.tag;  // the batch's ts, or its own
  }

  const char* bad[][2] = {
      {"a/m/temp", "twenty"},                      // not JSON
      {"a/m/temp", "[1, 2]"},                      // not a value
      {"a/m/temp", R"({"value": 1, "unit": "C"})"},  // unknown key
      {"a/m/temp", R"({"value": null})"},
      {"a/m/temp", R"({"value": 1, "ts": true})"},
      {"a/m/temp", R"({"value": 1, "ts": "yesterday"})"},
      {"a/m/temp", R"({"value": 1, "quality": "fine"})"},
      {"a/m", R"({"ts": 5})"},                       // an empty batch
      {"a/m", R"({"bad name!": 1})"},
      {"temp", "1"},                                 // no asset
      {"a//temp", "1"},                              // an empty level
  };
  for (const auto& [topic, payload] : bad) {
    auto r = ParseTelemetry(topic, payload, now);
    EXPECT_FALSE(r.ok()) << topic << " " << payload;
    EXPECT_NE(r.status().message().find(topic), std::string::npos) << r.status().message();
  }
}

class MqttTelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sf-mqtt-telemetry-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    auto db = meta::Db::Open(":memory:");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto assets = model::AssetStore::Open(db_.get(), core::Clock::System());
    ASSERT_TRUE(assets.ok()) << assets.status().ToString();
    assets_ = std::move(*assets);
    ASSERT_TRUE(assets_->CreateAsset("test", {"", model::AssetLevel::kEnterprise, "acme"}).ok());
    ASSERT_TRUE(assets_->CreateAsset("test", {"acme", model::AssetLevel::kSite, "plant"}).ok());
    ASSERT_TRUE(assets_->CreateAsset("test", {"acme/plant", model::AssetLevel::kArea, "hall"}).ok());
    model::NewAsset m1{"acme/plant/hall", model::AssetLevel::kMachine, "m1"};
    m1.tags = {model::TagDef{.name = "temp", .type = core::ValueType::kDouble},
               model::TagDef{.name = "count", .type = core::ValueType::kInt64}};
    ASSERT_TRUE(assets_->CreateAsset("test", m1).ok());

    fault_env_ = std::make_unique<core::FaultEnv>(core::Env::Posix());
    storage::Options options;
    options.env = fault_env_.get();
    options.clock = core::Clock::System();
    options.dir = dir_;
    options.durability.mode = storage::DurabilityPolicy::Mode::kAlways;
    options.background_maintenance = false;
    auto storage = storage::Storage::Open(options);
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    storage_ = std::move(*storage);
    writer_ = std::make_unique<ingest::Writer>(storage_.get(), nullptr);
    TelemetryOptions telemetry;
    telemetry.may_provision = [](const ClientView& client) { return client.client_id == "engineer"; };
    hooks_ = std::make_unique<TelemetryHooks>(assets_.get(), writer_.get(), core::Clock::System(), telemetry);
    BrokerOptions broker;
    broker.port = 0;
    broker_ = std::make_unique<Broker>(broker, hooks_.get());
    ASSERT_TRUE(broker_->Start().ok());
  }

  void TearDown() override {
    if (broker_) broker_->Stop();
    hooks_.reset();
    broker_.reset();
    writer_.reset();
    storage_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Publishes at QoS 1 and returns the PUBACK's reason.
  Reason Publish(TestClient& client, const std::string& topic, const std::string& payload, uint16_t id) {
    client.Send(mqtt::Publish{false, 1, false, topic, id, {}, payload});
    auto ack = client.Expect<PubResponse>();
    EXPECT_EQ(ack.packet_id, id);
    return ack.reason;
  }

  std::vector<core::Sample> Samples(const std::string& key) {
    std::vector<core::Sample> out;
    auto info = storage_->FindSeries(key);
    if (!info.ok()) return out;
    auto it = storage_->ReadRaw(info->id, 0, std::numeric_limits<core::Timestamp>::max());
    core::Sample s;
    while ((*it)->Next(&s)) out.push_back(s);
    return out;
  }

  std::string dir_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<model::AssetStore> assets_;
  std::unique_ptr<core::FaultEnv> fault_env_;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<ingest::Writer> writer_;
  std::unique_ptr<TelemetryHooks> hooks_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(MqttTelemetryTest, AcknowledgedValuesAreAlreadyStored) {
  TestClient device(broker_->port());
  ASSERT_EQ(device.ConnectAs("press-1").reason, Reason::kSuccess);
  ASSERT_EQ(Publish(device, "acme/plant/hall/m1/temp", "21.5", 1), Reason::kSuccess);
  auto temp = Samples("acme/plant/hall/m1/temp");  // read right after the PUBACK
  ASSERT_EQ(temp.size(), 1u);
  EXPECT_EQ(temp[0].value, core::Value(21.5));

  // A batch is one message; an integer goes into the double tag, a whole 3.0 into int64.
  ASSERT_EQ(Publish(device, "acme/plant/hall/m1", R"({"temp": 22, "count": 3.0, "ts": 1700000000000})", 2),
            Reason::kSuccess);
  EXPECT_EQ(Samples("acme/plant/hall/m1/temp").front().value, core::Value(22.0));  // 2023, before the first
  ASSERT_EQ(Samples("acme/plant/hall/m1/count").size(), 1u);
  EXPECT_EQ(Samples("acme/plant/hall/m1/count")[0].value, core::Value(int64_t{3}));
  EXPECT_EQ(Samples("acme/plant/hall/m1/count")[0].ts, 1'700'000'000'000 * kMs);

  // 2.5 does not fit the int64 tag: the whole batch is refused, temp included.
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1", R"({"temp": 30, "count": 2.5})", 3), Reason::kPayloadFormatInvalid);
  EXPECT_EQ(Samples("acme/plant/hall/m1/temp").size(), 2u);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/temp", "not json", 4), Reason::kPayloadFormatInvalid);

  // Topics outside the enterprise are only routed.
  EXPECT_EQ(Publish(device, "dashboards/hello", "anything", 5), Reason::kSuccess);
  const TelemetryStats stats = hooks_->stats();
  EXPECT_EQ(stats.messages, 4u);
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.refused_invalid, 2u);
}

TEST_F(MqttTelemetryTest, UnknownPathsNeedAPublisherThatMayProvision) {
  TestClient device(broker_->port());
  ASSERT_EQ(device.ConnectAs("press-1").reason, Reason::kSuccess);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m2/temp", "1", 1), Reason::kNotAuthorized);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/pressure", "1", 2), Reason::kNotAuthorized);
  EXPECT_FALSE(assets_->FindAsset("acme/plant/hall/m2").ok());
  EXPECT_EQ(hooks_->stats().refused_unknown, 2u);

  TestClient engineer(broker_->port());
  ASSERT_EQ(engineer.ConnectAs("engineer").reason, Reason::kSuccess);
  ASSERT_EQ(Publish(engineer, "acme/plant/hall/line-9/m2", R"({"temp": 1.5, "running": true})", 1), Reason::kSuccess);
  auto m2 = assets_->FindAsset("acme/plant/hall/line-9/m2");
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->level, model::AssetLevel::kMachine);
  EXPECT_EQ(assets_->FindAsset("acme/plant/hall/line-9")->level, model::AssetLevel::kLine);
  auto running = assets_->FindTag("acme/plant/hall/line-9/m2", "running");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->type, core::ValueType::kBool);
  EXPECT_EQ(Samples(running->series_key).size(), 1u);
  EXPECT_EQ(hooks_->stats().provisioned_tags, 2u);
  // Now known, the device may publish there too.
  EXPECT_EQ(Publish(device, "acme/plant/hall/line-9/m2/temp", "2.5", 3), Reason::kSuccess);
}

TEST_F(MqttTelemetryTest, AFullDiskIsQuotaExceededAndTheMessageIsNotRouted) {
  TestClient subscriber(broker_->port());
  ASSERT_EQ(subscriber.ConnectAs("dashboard").reason, Reason::kSuccess);
  subscriber.SubscribeTo("acme/#", 1);
  TestClient device(broker_->port());
  ASSERT_EQ(device.ConnectAs("press-1").reason, Reason::kSuccess);
  // The series exists, so the refusal below comes from the sample write itself.
  ASSERT_EQ(Publish(device, "acme/plant/hall/m1/temp", "20.5", 9), Reason::kSuccess);
  EXPECT_EQ(subscriber.Expect<mqtt::Publish>().payload, "20.5");
  fault_env_->SetNoSpace(true);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/temp", "21.5", 1), Reason::kQuotaExceeded);
  // A tag whose series does not exist yet fails creating it, with the same reason.
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/count", "1", 3), Reason::kQuotaExceeded);
  Packet packet;
  EXPECT_FALSE(subscriber.Read(&packet, 300)) << "a refused message must not be routed";
  fault_env_->SetNoSpace(false);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/temp", "22.5", 2), Reason::kSuccess);
  auto routed = subscriber.Expect<mqtt::Publish>();
  EXPECT_EQ(routed.payload, "22.5");
  EXPECT_EQ(hooks_->stats().write_failures, 2u);
  EXPECT_EQ(Samples("acme/plant/hall/m1/temp").size(), 2u);  // 20.5 and 22.5
}

TEST_F(MqttTelemetryTest, A311ClientIsAckedOnPermanentRefusalsAndDisconnectedOnStorageFailure) {
  TestClient device(broker_->port(), kMqtt311);
  ASSERT_EQ(device.ConnectAs("old-plc").reason, Reason::kSuccess);
  // A bad payload cannot pass by sending it again: acknowledged, dropped, still connected.
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/temp", "not json", 1), Reason::kSuccess);
  EXPECT_EQ(Publish(device, "acme/plant/hall/m1/temp", "20.5", 2), Reason::kSuccess);
  EXPECT_EQ(Samples("acme/plant/hall/m1/temp").size(), 1u);
  // A full disk may pass later: no acknowledgement, the connection closes, the client retries.
  fault_env_->SetNoSpace(true);
  device.Send(mqtt::Publish{false, 1, false, "acme/plant/hall/m1/temp", 3, {}, "21.5"});
  EXPECT_TRUE(device.WaitClosed());
  fault_env_->SetNoSpace(false);
  EXPECT_EQ(hooks_->stats().refused_invalid, 1u);
  EXPECT_EQ(hooks_->stats().write_failures, 1u);
}

TEST_F(MqttTelemetryTest, ManyPublishersShareGroupCommits) {
  std::vector<std::unique_ptr<TestClient>> devices;
  for (int i = 0; i < 8; ++i) {
    devices.push_back(std::make_unique<TestClient>(broker_->port()));
    ASSERT_EQ(devices.back()->ConnectAs("d" + std::to_string(i)).reason, Reason::kSuccess);
  }
  // Each device sends 25 QoS 1 messages without waiting, then reads its acks.
  for (int n = 1; n <= 25; ++n) {
    for (auto& d : devices) {
      d->Send(mqtt::Publish{false, 1, false, "acme/plant/hall/m1/count", static_cast<uint16_t>(n), {},
                            std::to_string(n)});
    }
  }
  for (auto& d : devices) {
    for (int n = 1; n <= 25; ++n) EXPECT_EQ(d->Expect<PubResponse>().reason, Reason::kSuccess);
  }
  const TelemetryStats stats = hooks_->stats();
  EXPECT_EQ(stats.messages, 200u);
  EXPECT_EQ(stats.samples, 200u);
  EXPECT_LT(stats.writes, 200u) << "messages waiting together are written together";
}

}  // namespace
}  // namespace shopfloor::connect::mqtt
