// /api/v1/live authenticates before upgrading: a real user store (SQLite, argon2id) behind
// the server; no or bad credentials get a 401 JSON answer, a token (header or
// access_token parameter) gets a live session.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "auth/audit.h"
#include "auth/auth.h"
#include "fake_storage.h"
#include "ingest/bus.h"
#include "ingest/writer.h"
#include "meta/db.h"
#include "server/server.h"
#include "ws_test_client.h"

namespace shopfloor::server {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::UpgradeRequest;
using testing::WsTestClient;

class LiveAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("sf-live-auth-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = meta::Db::OpenInDataDir(dir_.string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto audit = auth::AuditLog::Open(db_.get(), core::Clock::System(), "");
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    audit_ = std::move(audit).value();
    auto users = auth::UserStore::Open(db_.get(), core::Clock::System(), audit_.get());
    ASSERT_TRUE(users.ok()) << users.status().ToString();
    users_ = std::move(users).value();
    ASSERT_TRUE(users_->CreateUser("cli", "alice", "correct-horse", auth::Role::kViewer, {}).ok());
    auto session = users_->Login("alice", "correct-horse", "test");
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    token_ = session->token;

    HttpServerOptions options;
    options.port = 0;
    Services services;
    services.storage = &storage_;
    services.clock = core::Clock::System();
    services.bus = &bus_;
    services.writer = &writer_;
    services.users = users_.get();
    services.audit = audit_.get();
    auto server = HttpServer::Start(options, services);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    core::SampleBatch batch;
    batch.Add(*storage_.GetOrCreateSeries("w/s1/a/v", core::ValueType::kDouble), 5, 1.0);
    ASSERT_TRUE(writer_.Write(batch).ok());
  }
  void TearDown() override {
    server_.reset();
    users_.reset();
    audit_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::UserStore> users_;
  std::string token_;
  testing::FakeStorage storage_;
  ingest::Bus bus_;
  ingest::Writer writer_{&storage_, &bus_};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(LiveAuthTest, NoOrBadCredentialsGet401BeforeTheUpgrade) {
  auto [status, body] = UpgradeRequest(server_->port(), "/api/v1/live");
  EXPECT_EQ(status, 401);
  EXPECT_NE(body.find("\"code\":401"), std::string::npos) << body;
  std::tie(status, body) = UpgradeRequest(server_->port(), "/api/v1/live", "Bearer sfs_not-a-real-token");
  EXPECT_EQ(status, 401) << body;
  WsTestClient ws(server_->port(), "/api/v1/live?access_token=sfs_AAAA");
  EXPECT_NE(ws.error().find("declined"), std::string::npos) << ws.error();
}

TEST_F(LiveAuthTest, TokenInHeaderOrQueryOpensALiveSession) {
  for (int variant = 0; variant < 2; ++variant) {
    auto client = variant == 0 ? std::make_unique<WsTestClient>(server_->port(), "/api/v1/live", 0, "Bearer " + token_)
                               : std::make_unique<WsTestClient>(server_->port(), "/api/v1/live?access_token=" + token_);
    WsTestClient& ws = *client;
    ASSERT_EQ(ws.error(), "") << variant;
    ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"c","series":["w/s1/a/v"]})"));
    Json ack = Json::parse(ws.Read().value_or("null"));
    EXPECT_EQ(ack["type"], "ack") << ack;
    EXPECT_EQ(ack["series"], 1) << ack;
    Json snapshot = Json::parse(ws.Read().value_or("null"));
    EXPECT_EQ(snapshot["samples"][0]["value"], 1.0) << snapshot;
  }
}

}  // namespace
}  // namespace shopfloor::server
