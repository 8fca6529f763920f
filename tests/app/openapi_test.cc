// The OpenAPI document at /api/v1/openapi.json stays true: the real server is asked for it,
// its shape is checked (OpenAPI 3: openapi, info, paths, operations with responses, every
// path parameter declared, every $ref resolvable), and then EVERY documented operation is
// called once with a valid example and must answer its documented 2xx status (and content
// type). A route added without an example here, or an example for a route no longer
// documented, fails the test.
//
// Examples use the demo plant's real assets for reads; changes and deletions happen on
// objects the test creates itself, and deletions run last.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve_harness.h"

namespace shopfloor::app::testing {
namespace {

using Json = nlohmann::json;

constexpr char kAdmin[] = "root";
constexpr char kPassword[] = "openapi test password";
constexpr char kConveyor[] = "demo-works/stuttgart/body-shop/body-line/conveyor-1";
constexpr char kLine[] = "demo-works/stuttgart/body-shop/body-line";
constexpr char kProbeAsset[] = "demo-works/stuttgart/body-shop/body-line/openapi-probe";

// One example request for a documented operation ("<method><pattern>", the operationId).
struct Example {
  std::string operation_id;
  std::map<std::string, std::string> args;  // path parameters; ${var} is replaced
  std::string query;                        // appended as is ("?a=b"); ${var} is replaced
  std::string body;
  std::string content_type = "application/json";
  std::string credential = "token";  // "token": the admin's API token; "session": the login session
  std::function<void(const Json&, std::map<std::string, std::string>*)> capture;
};

std::string Substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) {
    const std::string key = "${" + name + "}";
    for (size_t pos; (pos = text.find(key)) != std::string::npos;) text.replace(pos, key.size(), value);
  }
  return text;
}

// The pattern with each {param} replaced by its URL-encoded value.
std::string FillPattern(const std::string& pattern, const std::map<std::string, std::string>& args,
                        const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = pattern.find('{', pos);
    if (open == std::string::npos) break;
    size_t close = pattern.find('}', open);
    out += pattern.substr(pos, open - pos);
    const std::string name = pattern.substr(open + 1, close - open - 1);
    auto it = args.find(name);
    EXPECT_NE(it, args.end()) << pattern << ": no example value for {" << name << "}";
    if (it != args.end()) out += UrlEncode(Substitute(it->second, vars));
    pos = close + 1;
  }
  return out + pattern.substr(pos);
}

// The examples, in the order they run: reads and creations first, deletions last.
std::vector<Example> Examples() {
  const std::string probe_type = R"({"name":"openapi-probe-type","description":"made by openapi_test","tags":[)"
                                 R"({"name":"level","type":"double","unit":"%"},)"
                                 R"({"name":"level_setpoint","type":"double","writable":true}]})";
  return {
      {"get/healthz"},
      {"get/ping"},
      {"get/", {}, "", "", ""},
      {"get/metrics"},
      {"get/api/v1/health"},
      {"get/api/v1/openapi.json"},
      {"post/api/v1/auth/login", {}, "", std::string(R"({"name":")") + kAdmin + R"(","password":")" + kPassword + "\"}",
       "application/json", "none",
       [](const Json& j, std::map<std::string, std::string>* vars) { (*vars)["session"] = j.value("token", ""); }},
      {"get/api/v1/auth/me", {}, "", "", "", "session"},
      {"post/write", {}, "?precision=s", std::string(kConveyor) + " speed=12.5,speed_setpoint=13\n", "text/plain"},
      {"post/api/v2/write", {}, "?precision=ms", std::string(kConveyor) + " motor_current=4.25\n", "text/plain"},
      {"post/query", {}, "?q=CREATE%20DATABASE%20telegraf"},
      {"get/api/v1/series", {}, "?match=demo-works/**"},
      {"get/api/v1/query", {}, "?series=" + UrlEncode(std::string(kConveyor) + "/speed")},
      {"get/api/v1/latest", {}, "?asset=" + UrlEncode(kConveyor)},
      {"get/api/v1/types"},
      {"post/api/v1/types", {}, "", probe_type},
      {"get/api/v1/types/{name}", {{"name", "welding-robot"}}},
      {"put/api/v1/types/{name}", {{"name", "openapi-probe-type"}}, "", probe_type},
      {"get/api/v1/assets", {}, "?level=machine"},
      {"post/api/v1/assets", {}, "",
       std::string(R"({"parent":")") + kLine + R"(","level":"machine","name":"openapi-probe","type":"openapi-probe-type"})",
       "application/json", "token",
       [](const Json& j, std::map<std::string, std::string>* vars) {
         (*vars)["probe_id"] = std::to_string(j.value("id", int64_t{0}));
       }},
      {"get/api/v1/assets/{asset}", {{"asset", kConveyor}}},
      {"patch/api/v1/assets/{asset}", {{"asset", "${probe_id}"}}, "", R"({"description":"probe, patched"})"},
      {"get/api/v1/assets/{asset}/tags", {{"asset", kConveyor}}},
      {"put/api/v1/assets/{asset}/tags/{tag}", {{"asset", kProbeAsset}, {"tag", "pressure"}}, "",
       R"({"type":"double","unit":"bar","range":{"min":0,"max":10}})"},
      {"get/api/v1/assets/{asset}/twin", {{"asset", kConveyor}}},
      {"patch/api/v1/assets/{asset}/twin/desired", {{"asset", kConveyor}}, "", R"({"speed_setpoint": 14})"},
      {"get/api/v1/events", {}, "?asset=" + UrlEncode(kConveyor) + "&kind=twin."},
      {"get/api/v1/model/export"},
      {"get/api/v1/model/changes", {}, "?target=" + UrlEncode(kProbeAsset) + "&limit=10"},
      {"get/api/v1/users"},
      {"post/api/v1/users", {}, "", R"({"name":"probe-user","password":"probe password 1","role":"viewer"})"},
      {"get/api/v1/users/{name}", {{"name", "probe-user"}}},
      {"patch/api/v1/users/{name}", {{"name", "probe-user"}}, "", R"({"role":"operator","sites":["stuttgart"]})"},
      {"post/api/v1/users/{name}/tokens", {{"name", "probe-user"}}, "", R"({"name":"probe","ttl":"1d"})",
       "application/json", "token",
       [](const Json& j, std::map<std::string, std::string>* vars) {
         (*vars)["token_id"] = std::to_string(j.value("id", int64_t{0}));
       }},
      {"get/api/v1/users/{name}/tokens", {{"name", "probe-user"}}},
      {"get/api/v1/audit", {}, "?action=twin.&limit=10"},
      {"get/api/v1/audit/verify"},
      {"get/api/v1/sources"},
      {"post/api/v1/devices", {}, "", std::string(R"({"name":"probe-device","asset":")") + kConveyor + "\"}"},
      {"get/api/v1/devices"},
      {"get/api/v1/devices/{name}", {{"name", "probe-device"}}},
      {"patch/api/v1/devices/{name}", {{"name", "probe-device"}}, "", R"({"may_provision":true})"},
      {"post/api/v1/devices/{name}/rotate", {{"name", "probe-device"}}},
      // Deletions, on the objects made above.
      {"delete/api/v1/devices/{name}", {{"name", "probe-device"}}},
      {"delete/api/v1/tokens/{id}", {{"id", "${token_id}"}}},
      {"delete/api/v1/assets/{asset}/tags/{tag}", {{"asset", kProbeAsset}, {"tag", "pressure"}}},
      {"delete/api/v1/assets/{asset}", {{"asset", "${probe_id}"}}},
      {"delete/api/v1/types/{name}", {{"name", "openapi-probe-type"}}},
      {"delete/api/v1/users/{name}", {{"name", "probe-user"}}},
      {"post/api/v1/auth/logout", {}, "", "", "", "session"},
  };
}

// Every "$ref" in the document points at something in it.
void CheckRefs(const Json& doc, const Json& node, const std::string& where) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "$ref") {
        ASSERT_TRUE(it->is_string()) << where;
        const std::string ref = it->get<std::string>();
        ASSERT_EQ(ref.rfind("#/", 0), 0u) << where << ": only local refs expected, got " << ref;
        EXPECT_TRUE(doc.contains(Json::json_pointer(ref.substr(1)))) << where << ": dangling $ref " << ref;
      } else {
        CheckRefs(doc, *it, where + "/" + it.key());
      }
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) CheckRefs(doc, node[i], where + "/" + std::to_string(i));
  }
}

class OpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    ShRun created = Sh(std::string("printf '") + kPassword + "\\n' | $SF admin create-user --data " + data_ +
                       " --name " + kAdmin + " --role admin 2>&1");
    ASSERT_EQ(created.exit_code, 0) << created.output;
    ShRun token = Sh("$SF admin create-token --data " + data_ + " --user " + kAdmin + " --name openapi 2>/dev/null");
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
    std::string error;
    ASSERT_TRUE(server_.Start(std::string(SHOPFLOOR_SOURCE_DIR) + "/config/demo-works.yaml", data_,
                              tmp_.path() + "/serve.log", &error))
        << error;
    HttpAnswer a = HttpCall(server_.port(), "GET", "/api/v1/openapi.json", {}, Bearer(token_));
    ASSERT_EQ(a.status, 200) << a.body;
    doc_ = Json::parse(a.body, nullptr, false);
    ASSERT_FALSE(doc_.is_discarded()) << a.body.substr(0, 500);
  }

  TempDir tmp_;
  std::string data_;
  std::string token_;
  ServeProcess server_;
  Json doc_;
};

TEST_F(OpenApi, DocumentHasTheShapeOfOpenApi3) {
  ASSERT_TRUE(doc_["openapi"].is_string());
  EXPECT_EQ(doc_["openapi"].get<std::string>().rfind("3.", 0), 0u) << doc_["openapi"];
  ASSERT_TRUE(doc_["info"].is_object());
  EXPECT_FALSE(doc_["info"].value("title", "").empty());
  EXPECT_FALSE(doc_["info"].value("version", "").empty());
  ASSERT_TRUE(doc_["paths"].is_object());
  ASSERT_GE(doc_["paths"].size(), 30u);
  const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  const std::regex path_param(R"(\{([^}/]+)\})");
  std::set<std::string> operation_ids;
  for (auto path = doc_["paths"].begin(); path != doc_["paths"].end(); ++path) {
    const std::string& pattern = path.key();
    ASSERT_EQ(pattern.rfind('/', 0), 0u) << pattern;
    std::set<std::string> in_path;
    for (std::sregex_iterator it(pattern.begin(), pattern.end(), path_param), end; it != end; ++it) {
      in_path.insert((*it)[1]);
    }
    ASSERT_FALSE(path->empty()) << pattern;
    for (auto op = path->begin(); op != path->end(); ++op) {
      const std::string where = op.key() + " " + pattern;
      EXPECT_TRUE(kMethods.count(op.key())) << where << ": not an HTTP method";
      ASSERT_TRUE(op->is_object()) << where;
      const std::string id = op->value("operationId", "");
      EXPECT_FALSE(id.empty()) << where;
      EXPECT_TRUE(operation_ids.insert(id).second) << where << ": duplicate operationId " << id;
      ASSERT_TRUE(op->contains("responses") && (*op)["responses"].is_object() && !(*op)["responses"].empty())
          << where << ": no responses";
      int success = 0;
      for (auto r = (*op)["responses"].begin(); r != (*op)["responses"].end(); ++r) {
        EXPECT_TRUE(std::regex_match(r.key(), std::regex("[1-5][0-9][0-9]|default"))) << where << ": " << r.key();
        EXPECT_TRUE(r->contains("description")) << where << " " << r.key() << ": no description";
        if (r.key()[0] == '2') ++success;
      }
      EXPECT_EQ(success, 1) << where << ": expected exactly one documented 2xx answer";
      std::set<std::string> declared;
      for (const Json& p : op->value("parameters", Json::array())) {
        const std::string in = p.value("in", "");
        EXPECT_TRUE(in == "path" || in == "query" || in == "header" || in == "cookie") << where << ": in=" << in;
        EXPECT_FALSE(p.value("name", "").empty()) << where;
        EXPECT_TRUE(p.contains("schema")) << where << " " << p.dump();
        if (in == "path") {
          EXPECT_TRUE(p.value("required", false)) << where << ": path parameter " << p["name"] << " not required";
          declared.insert(p.value("name", ""));
        }
      }
      EXPECT_EQ(declared, in_path) << where << ": path parameters declared vs. in the path";
      if (op->contains("requestBody")) {
        EXPECT_TRUE((*op)["requestBody"]["content"].is_object() && !(*op)["requestBody"]["content"].empty()) << where;
      }
    }
  }
  CheckRefs(doc_, doc_, "#");
}

TEST_F(OpenApi, EveryDocumentedOperationAnswersItsDocumentedStatus) {
  // The documented operations: operationId -> (method, pattern, success status, content type).
  struct Documented {
    std::string method, pattern;
    int status = 0;
    std::string content_type;
  };
  std::map<std::string, Documented> documented;
  for (auto path = doc_["paths"].begin(); path != doc_["paths"].end(); ++path) {
    for (auto op = path->begin(); op != path->end(); ++op) {
      Documented d{op.key(), path.key()};
      for (auto r = (*op)["responses"].begin(); r != (*op)["responses"].end(); ++r) {
        if (r.key()[0] != '2') continue;
        d.status = std::stoi(r.key());
        if (r->contains("content") && !(*r)["content"].empty()) d.content_type = (*r)["content"].begin().key();
      }
      documented[op->value("operationId", "")] = d;
    }
  }

  const std::vector<Example> examples = Examples();
  std::set<std::string> covered;
  for (const Example& e : examples) {
    EXPECT_TRUE(documented.count(e.operation_id)) << e.operation_id << ": has an example but is not documented";
    EXPECT_TRUE(covered.insert(e.operation_id).second) << e.operation_id << ": two examples";
  }
  for (const auto& [id, d] : documented) {
    EXPECT_TRUE(covered.count(id)) << d.method << " " << d.pattern << " (" << id
                                   << ") is documented but has no example in openapi_test.cc";
  }

  std::map<std::string, std::string> vars;
  int called = 0;
  for (const Example& e : examples) {
    auto found = documented.find(e.operation_id);
    if (found == documented.end()) continue;
    const Documented& d = found->second;
    std::string method = d.method;
    for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string target = FillPattern(d.pattern, e.args, vars) + Substitute(e.query, vars);
    std::map<std::string, std::string> headers;
    if (e.credential == "token") headers = Bearer(token_);
    if (e.credential == "session") headers = Bearer(vars["session"]);
    if (!e.body.empty()) headers["Content-Type"] = e.content_type;
    HttpAnswer a = HttpCall(server_.port(), method, target, Substitute(e.body, vars), headers);
    ++called;
    EXPECT_EQ(a.status, d.status) << method << " " << target << " (documented " << d.pattern << ") answered "
                                  << a.status << ": " << a.body.substr(0, 400);
    if (a.status != d.status) continue;
    if (!d.content_type.empty()) {
      EXPECT_EQ(a.content_type.rfind(d.content_type, 0), 0u)
          << method << " " << target << ": content type " << a.content_type << ", documented " << d.content_type;
    }
    if (d.status == 204) {
      EXPECT_TRUE(a.body.empty()) << method << " " << target << ": a 204 with a body";
    }
    if (d.content_type == "application/json") {
      Json j = Json::parse(a.body, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << method << " " << target << ": not JSON: " << a.body.substr(0, 200);
      if (e.capture && !j.is_discarded()) e.capture(j, &vars);
    }
  }
  EXPECT_EQ(called, static_cast<int>(documented.size()));

  // The Tag schema the asset routes refer to names every field a tag answers with.
  HttpAnswer tags = HttpCall(server_.port(), "GET", "/api/v1/assets/" + UrlEncode(kConveyor) + "/tags", {},
                             Bearer(token_));
  ASSERT_EQ(tags.status, 200) << tags.body;
  const Json tag_schema = doc_["components"]["schemas"]["Tag"]["properties"];
  for (const Json& tag : Json::parse(tags.body)) {
    for (auto field = tag.begin(); field != tag.end(); ++field) {
      EXPECT_TRUE(tag_schema.contains(field.key())) << "Tag schema lacks \"" << field.key() << "\"";
    }
  }

  // What the examples changed is really there (the calls did something) and then gone.
  HttpAnswer gone = HttpCall(server_.port(), "GET", "/api/v1/assets/" + UrlEncode(kProbeAsset), {}, Bearer(token_));
  EXPECT_EQ(gone.status, 404) << gone.body;
  HttpAnswer audit = HttpCall(server_.port(), "GET", "/api/v1/audit?target=openapi-probe-type", {}, Bearer(token_));
  ASSERT_EQ(audit.status, 200);
  Json entries = Json::parse(audit.body)["entries"];
  std::vector<std::string> actions;
  for (const Json& entry : entries) actions.push_back(entry["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"type.create", "type.update", "type.delete"})) << audit.body;
  // The logged-out session no longer works.
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/api/v1/auth/me", {}, Bearer(vars["session"])).status, 401);
  EXPECT_EQ(server_.Stop(), 0) << server_.LogTail();
}

}  // namespace
}  // namespace shopfloor::app::testing
