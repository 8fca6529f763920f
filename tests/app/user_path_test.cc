// A new user's path through the real binary, as docs/api.md tells it: create the first
// admin with the CLI, start `shopfloor serve` on the demo plant, log in, create an asset
// type and a machine from it, write values, read the twin, set a desired value, find the
// change in the audit trail, export CSV, stop, verify the audit chain, restart, and find the
// desired value and the data again.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "serve_harness.h"

namespace shopfloor::app::testing {
namespace {

using Json = nlohmann::json;

constexpr char kAdmin[] = "alice";
constexpr char kPassword[] = "a long demo passphrase";
constexpr char kLine[] = "demo-works/stuttgart/body-shop/body-line";
constexpr char kMachine[] = "demo-works/stuttgart/body-shop/body-line/paint-robot-1";
constexpr int kSteps = 5;

Json ParseBody(const HttpAnswer& a) {
  Json j = Json::parse(a.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << a.body;
  return j;
}

std::string Login(uint16_t port) {
  Json body = {{"name", kAdmin}, {"password", kPassword}};
  HttpAnswer a = HttpCall(port, "POST", "/api/v1/auth/login", body.dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(a.status, 200) << a.body;
  Json j = ParseBody(a);
  EXPECT_EQ(j.value("/user/role"_json_pointer, ""), "admin") << a.body;
  return j.value("token", "");
}

// Lines of a CSV body without the header line; CRLF line ends per RFC 4180.
std::vector<std::string> CsvRows(const std::string& csv, std::string* header) {
  std::vector<std::string> rows;
  size_t pos = 0;
  while (pos < csv.size()) {
    size_t end = csv.find("\r\n", pos);
    if (end == std::string::npos) end = csv.size();
    std::string line = csv.substr(pos, end - pos);
    if (pos == 0) {
      *header = line;
    } else if (!line.empty()) {
      rows.push_back(line);
    }
    pos = end + 2;
  }
  return rows;
}

TEST(UserPath, FromFirstAdminToCsvExportAndRestart) {
  TempDir tmp;
  const std::string data = tmp.path() + "/data";
  const std::string config = std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml";

  // 1. The first admin, made with the CLI before the server has ever run.
  ShRun created = Sh(std::string("printf '") + kPassword + "\\n' | $SF admin create-user --data " + data +
                     " --name " + kAdmin + " --role admin 2>&1");
  ASSERT_EQ(created.exit_code, 0) << created.output;

  ServeProcess server;
  std::string error;
  ASSERT_TRUE(server.Start(config, data, tmp.path() + "/serve.log", &error)) << error;
  const uint16_t port = server.port();

  // Without a credential the API refuses; with the session token it answers.
  EXPECT_EQ(HttpCall(port, "GET", "/api/v1/assets").status, 401);
  const std::string token = Login(port);
  ASSERT_EQ(token.rfind("sfs_", 0), 0u) << token;
  const auto auth = Bearer(token);
  // The dashboard's cookie carries the same session.
  HttpAnswer me = HttpCall(port, "GET", "/api/v1/auth/me", {}, {{"Cookie", "sf_session=" + token}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(ParseBody(me)["name"], kAdmin);

  // 2. An asset type, and a machine of that type under an existing line of the demo plant.
  Json type = {{"name", "paint-robot"},
               {"description", "Paint robot with a flow-controlled atomizer"},
               {"tags",
                {{{"name", "flow"}, {"type", "double"}, {"unit", "l/min"}},
                 {{"name", "flow_setpoint"},
                  {"type", "double"},
                  {"unit", "l/min"},
                  {"writable", true},
                  {"range", {{"min", 0}, {"max", 10}}}}}}};
  HttpAnswer t = HttpCall(port, "POST", "/api/v1/types", type.dump(), auth);
  ASSERT_EQ(t.status, 201) << t.body;
  Json asset_req = {{"parent", kLine}, {"level", "machine"}, {"name", "paint-robot-1"}, {"type", "paint-robot"}};
  HttpAnswer a = HttpCall(port, "POST", "/api/v1/assets", asset_req.dump(), auth);
  ASSERT_EQ(a.status, 201) << a.body;
  Json asset = ParseBody(a);
  ASSERT_EQ(asset["path"], kMachine) << a.body;
  ASSERT_EQ(asset["tags"].size(), 2u) << a.body;
  const std::string id = std::to_string(asset["id"].get<int64_t>());

  // 3. Values through the InfluxDB-compatible write: measurement = the asset path.
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string lines;
  for (int i = 0; i < kSteps; ++i) {
    lines += std::string(kMachine) + " flow=" + std::to_string(3 + i) + ".5,flow_setpoint=4 " +
             std::to_string(now_s - kSteps + i) + "\n";
  }
  HttpAnswer w = HttpCall(port, "POST", "/write?precision=s", lines, auth);
  ASSERT_EQ(w.status, 204) << w.body;

  // 4. The twin reports the newest values.
  HttpAnswer twin_answer = HttpCall(port, "GET", "/api/v1/assets/" + id + "/twin", {}, auth);
  ASSERT_EQ(twin_answer.status, 200) << twin_answer.body;
  Json twin = ParseBody(twin_answer);
  EXPECT_EQ(twin["path"], kMachine);
  ASSERT_TRUE(twin["reported"].contains("flow")) << twin_answer.body;
  EXPECT_DOUBLE_EQ(twin["reported"]["flow"]["value"].get<double>(), 3.0 + kSteps - 1 + 0.5);
  EXPECT_DOUBLE_EQ(twin["reported"]["flow_setpoint"]["value"].get<double>(), 4.0);
  EXPECT_EQ(twin["reported"]["flow"]["quality"], "good");
  // Addressed by its URL-encoded path, the same twin.
  HttpAnswer by_path = HttpCall(port, "GET", "/api/v1/assets/" + UrlEncode(kMachine) + "/twin", {}, auth);
  ASSERT_EQ(by_path.status, 200) << by_path.body;
  EXPECT_EQ(ParseBody(by_path)["reported"], twin["reported"]);

  // 5. A desired value on the writable tag: the twin shows it and the delta to reported.
  HttpAnswer d = HttpCall(port, "PATCH", "/api/v1/assets/" + id + "/twin/desired", R"({"flow_setpoint": 5.5})", auth);
  ASSERT_EQ(d.status, 200) << d.body;
  Json after = ParseBody(d);
  EXPECT_DOUBLE_EQ(after["desired"]["flow_setpoint"]["value"].get<double>(), 5.5) << d.body;
  EXPECT_EQ(after["desired"]["flow_setpoint"]["by"], kAdmin) << d.body;
  EXPECT_DOUBLE_EQ(after["delta"]["flow_setpoint"].get<double>(), 5.5) << d.body;
  EXPECT_GT(after["version"].get<int64_t>(), twin["version"].get<int64_t>());
  // A value of the wrong type is refused and changes nothing.
  EXPECT_EQ(HttpCall(port, "PATCH", "/api/v1/assets/" + id + "/twin/desired", R"({"flow_setpoint": "fast"})", auth)
                .status,
            400);

  // 6. The audit trail holds the change: who, what, old and new.
  HttpAnswer audit_answer = HttpCall(port, "GET", "/api/v1/audit?action=twin.", {}, auth);
  ASSERT_EQ(audit_answer.status, 200) << audit_answer.body;
  Json entries = ParseBody(audit_answer)["entries"];
  // Only the accepted change: a body that fails validation never reaches the twin store.
  ASSERT_EQ(entries.size(), 1u) << audit_answer.body;
  const Json& entry = entries[0];
  EXPECT_EQ(entry["action"], "twin.desired");
  EXPECT_EQ(entry["actor"], kAdmin);
  EXPECT_EQ(entry["target"], kMachine);
  EXPECT_EQ(entry["result"], "ok");
  EXPECT_DOUBLE_EQ(entry["new"]["flow_setpoint"].get<double>(), 5.5) << entry.dump();
  // The model changes are in it too.
  HttpAnswer created_audit = HttpCall(port, "GET", "/api/v1/audit?action=asset.create&actor=alice", {}, auth);
  ASSERT_EQ(created_audit.status, 200);
  EXPECT_EQ(ParseBody(created_audit)["entries"].size(), 1u) << created_audit.body;

  // 7. CSV export of the machine's data, by format=csv and by the Accept header.
  const std::string query = "/api/v1/query?asset=" + UrlEncode(kMachine);
  HttpAnswer csv = HttpCall(port, "GET", query + "&format=csv", {}, auth);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type.rfind("text/csv", 0), 0u) << csv.content_type;
  EXPECT_NE(csv.content_disposition.find("attachment"), std::string::npos) << csv.content_disposition;
  std::string header;
  std::vector<std::string> rows = CsvRows(csv.body, &header);
  EXPECT_EQ(header, "series,time,value,quality");
  ASSERT_EQ(rows.size(), 2u * kSteps) << csv.body;
  int flow_rows = 0;
  for (const std::string& row : rows) {
    if (row.rfind(std::string(kMachine) + "/flow,", 0) == 0) ++flow_rows;
    EXPECT_EQ(row.substr(row.size() - 5), ",good") << row;
  }
  EXPECT_EQ(flow_rows, kSteps);
  EXPECT_NE(csv.body.find(std::string(kMachine) + "/flow,"), std::string::npos);
  EXPECT_NE(csv.body.find(",7.5,good\r\n"), std::string::npos) << csv.body;
  auto accept = auth;
  accept["Accept"] = "text/csv";
  HttpAnswer csv_by_accept = HttpCall(port, "GET", query, {}, accept);
  ASSERT_EQ(csv_by_accept.status, 200);
  EXPECT_EQ(csv_by_accept.body, csv.body);

  // 8. Stop; the audit chain verifies offline.
  ASSERT_EQ(server.Stop(), 0) << server.LogTail();
  ShRun verify = Sh("$SF admin verify-audit --data " + data + " 2>&1");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output.rfind("audit trail intact: ", 0), 0u) << verify.output;

  // 9. Restart: the desired value, the reported values and the stored data are all there.
  ServeProcess again;
  ASSERT_TRUE(again.Start(config, data, tmp.path() + "/serve-2.log", &error)) << error;
  const auto auth2 = Bearer(Login(again.port()));
  HttpAnswer twin2_answer = HttpCall(again.port(), "GET", "/api/v1/assets/" + id + "/twin", {}, auth2);
  ASSERT_EQ(twin2_answer.status, 200) << twin2_answer.body;
  Json twin2 = ParseBody(twin2_answer);
  EXPECT_DOUBLE_EQ(twin2["desired"]["flow_setpoint"]["value"].get<double>(), 5.5) << twin2_answer.body;
  EXPECT_DOUBLE_EQ(twin2["delta"]["flow_setpoint"].get<double>(), 5.5) << twin2_answer.body;
  ASSERT_TRUE(twin2["reported"].contains("flow")) << twin2_answer.body;
  EXPECT_DOUBLE_EQ(twin2["reported"]["flow"]["value"].get<double>(), 3.0 + kSteps - 1 + 0.5);
  HttpAnswer csv2 = HttpCall(again.port(), "GET", query + "&format=csv", {}, auth2);
  ASSERT_EQ(csv2.status, 200) << csv2.body;
  EXPECT_EQ(csv2.body, csv.body);
  ASSERT_EQ(again.Stop(), 0) << again.LogTail();
  ShRun verify2 = Sh("$SF admin verify-audit --data " + data + " 2>&1");
  EXPECT_EQ(verify2.exit_code, 0) << verify2.output;
}

}  // namespace
}  // namespace shopfloor::app::testing
