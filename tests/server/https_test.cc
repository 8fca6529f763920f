// HTTPS and wss: a self-signed certificate made by the openssl CLI, Beast TLS clients with
// verification off.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_storage.h"
#include "ingest/bus.h"
#include "ingest/writer.h"
#include "server/server.h"
#include "ws_test_client.h"

namespace shopfloor::server {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using Json = nlohmann::json;

class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / fmt::format("sf-https-test-{}", ::getpid()));
    fs::create_directories(*dir_);
    const std::string cmd = fmt::format(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost "
        "-keyout {0}/key.pem -out {0}/cert.pem >/dev/null 2>&1 && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other "
        "-keyout {0}/other_key.pem -out {0}/other_cert.pem >/dev/null 2>&1",
        dir_->string());
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "the openssl CLI is needed (scripts/setup installs it)";
    std::ofstream(*dir_ / "garbage.pem") << "-----BEGIN CERTIFICATE-----\nnot base64\n";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string File(const char* name) { return (*dir_ / name).string(); }

  core::Result<std::unique_ptr<HttpServer>> Start(std::string cert, std::string key) {
    HttpServerOptions options;
    options.port = 0;
    options.allow_anonymous = true;
    options.tls_cert_file = std::move(cert);
    options.tls_key_file = std::move(key);
    Services services;
    services.storage = &storage_;
    services.clock = core::Clock::System();
    services.bus = &bus_;
    services.writer = &writer_;
    return HttpServer::Start(options, services);
  }

  // One HTTPS request on a fresh connection; status 0 and the error text on failure.
  static std::pair<int, std::string> Request(uint16_t port, http::verb method, const std::string& target,
                                             std::string body = {}) {
    boost::asio::io_context ioc;
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_none);
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(ioc, tls);
    boost::beast::error_code ec;
    boost::beast::get_lowest_layer(stream).connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) stream.handshake(ssl::stream_base::client, ec);
    if (ec) return {0, ec.message()};
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!ec) http::read(stream, buffer, res, ec);
    if (ec) return {0, ec.message()};
    return {static_cast<int>(res.result_int()), res.body()};
  }

  static fs::path* dir_;
  testing::FakeStorage storage_;
  ingest::Bus bus_;
  ingest::Writer writer_{&storage_, &bus_};
};

fs::path* HttpsTest::dir_ = nullptr;

TEST_F(HttpsTest, HealthzAndWritesOverTls) {
  auto server = Start(File("cert.pem"), File("key.pem"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const uint16_t port = (*server)->port();
  auto [status, body] = Request(port, http::verb::get, "/healthz");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, R"({"status":"ok"})");
  auto write = Request(port, http::verb::post, "/write?precision=s", "m,h=a v=1.5 10\n");
  EXPECT_EQ(write.first, 204) << write.second;
  EXPECT_EQ(storage_.total_samples(), 1u);
}

TEST_F(HttpsTest, PlainHttpIsNotServedOnTheTlsPort) {
  auto server = Start(File("cert.pem"), File("key.pem"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), (*server)->port()));
  http::request<http::string_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, "localhost");
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::beast::error_code ec;
  http::read(stream, buffer, res, ec);
  EXPECT_TRUE(ec) << "got HTTP " << res.result_int() << " in clear text";
}

TEST_F(HttpsTest, WssSubscriberSeesWrites) {
  auto server = Start(File("cert.pem"), File("key.pem"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const uint16_t port = (*server)->port();
  ASSERT_EQ(Request(port, http::verb::post, "/write?precision=s", "m,h=a v=1 10\n").first, 204);
  testing::WssTestClient ws(port);
  ASSERT_EQ(ws.error(), "");
  ASSERT_TRUE(ws.Send(R"({"op":"subscribe","id":"x","series":["m,h=a/v"]})"));
  Json ack = Json::parse(ws.Read().value_or("null"));
  EXPECT_EQ(ack["type"], "ack") << ack;
  Json snapshot = Json::parse(ws.Read().value_or("null"));
  EXPECT_EQ(snapshot["samples"][0]["value"], 1.0) << snapshot;
  ASSERT_EQ(Request(port, http::verb::post, "/write?precision=s", "m,h=a v=2 20\n").first, 204);
  Json update = Json::parse(ws.Read().value_or("null"));
  ASSERT_EQ(update["type"], "update") << update << ws.error();
  EXPECT_EQ(update["samples"][0]["value"], 2.0);
  EXPECT_EQ(update["samples"][0]["ts"], "1970-01-01T00:00:20Z");
}

TEST_F(HttpsTest, BadCertificateOrKeyFailsStartNamingTheFile) {
  struct Case {
    std::string cert, key, expect;
  } cases[] = {
      {File("missing.pem"), File("key.pem"), "TLS certificate file \"" + File("missing.pem") + "\""},
      {File("garbage.pem"), File("key.pem"), "TLS certificate file \"" + File("garbage.pem") + "\""},
      {File("cert.pem"), File("garbage.pem"), "TLS key file \"" + File("garbage.pem") + "\""},
      {File("cert.pem"), File("other_key.pem"), "TLS key file \"" + File("other_key.pem") + "\": key values mismatch"},
      {File("cert.pem"), "", "needs both tls_cert_file and tls_key_file"},
  };
  for (const Case& c : cases) {
    auto server = Start(c.cert, c.key);
    ASSERT_FALSE(server.ok()) << c.cert << " " << c.key;
    EXPECT_EQ(server.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(server.status().message().find(c.expect), std::string::npos) << server.status().ToString();
  }
}

}  // namespace
}  // namespace shopfloor::server
