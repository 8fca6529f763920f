// The malformed-request corpus: several hundred bad requests, built from the route table
// (every route, every documented body field, every documented time/integer parameter) and
// sent as an unscoped admin, so authorization never hides a decoder. Every answer must be a
// 4xx (never 5xx) with a JSON error whose message names the field or parameter involved.
// Over a real socket: an oversized body gets 413 and a bad request line 400.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api_fixture.h"

namespace shopfloor::server {
namespace {

using testing::ApiFixture;
using testing::TestUser;
using Json = nlohmann::json;

struct Malformed {
  std::string method;
  std::string target;
  std::string body;
  std::string needle;  // must appear in the error message ("" = any message)
  std::string what;
};

std::string Enc(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string Nested(int depth, char open, char close, std::string_view inner) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open == '{' ? std::string("{\"a\":") : std::string(1, open);
  s += inner;
  s += std::string(depth, close);
  return s;
}

// Values of the wrong JSON type for a schema type.
std::vector<std::string> WrongValues(const std::string& type) {
  if (type == "string") return {"42", "true", "[]", "{}", "1.5", "[\"a\"]"};
  if (type == "number" || type == "integer") return {"\"7\"", "true", "[]", "{}", "\"NaN\""};
  if (type == "boolean") return {"\"true\"", "1", "[]", "{}"};
  if (type == "array") return {"\"a\"", "{}", "7", "[1]", "[[\"a\"]]", "[null]"};
  if (type == "object") return {"\"x\"", "[]", "7", "true"};
  return {};
}

class ApiMalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Status opened = f_.Open();
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    const std::string lines = fmt::format("{} speed=12.5\n", ApiFixture::kMachine);
    ASSERT_EQ(f_.Call("POST", "/write", lines, f_.root().token).status, 204);
    auto victim = f_.CreateUser(auth::Role::kOperator, {ApiFixture::kSite});
    ASSERT_TRUE(victim.ok());
    victim_ = *victim;
    auto token = f_.users()->CreateToken("test", victim_.name, "victim-token");
    ASSERT_TRUE(token.ok());
    victim_token_id_ = token->info.id;
    ASSERT_TRUE(f_.services().devices->Add("test", "victim-device", ApiFixture::kMachine, false).ok());
  }

  // A valid target for the route (the path parameters name things that exist).
  std::string ValidTarget(const Route& route) const {
    std::string t = route.pattern;
    auto replace = [&t](std::string_view param, const std::string& value) {
      for (size_t at = t.find(param); at != std::string::npos; at = t.find(param)) t.replace(at, param.size(), value);
    };
    replace("{asset}", Enc(ApiFixture::kMachine));
    replace("{tag}", "speed");
    replace("{id}", std::to_string(victim_token_id_));
    replace("{name}", route.pattern.starts_with("/api/v1/types")     ? "welding-robot"
                      : route.pattern.starts_with("/api/v1/devices") ? "victim-device"
                                                                      : victim_.name);
    return t;
  }

  // A valid body to corrupt one field of (the required fields filled in).
  Json BaseBody(const Route& route) {
    const std::string key = route.method + " " + route.pattern;
    if (key == "POST /api/v1/auth/login") return {{"name", "nobody"}, {"password", "not-the-password"}};
    if (key == "POST /api/v1/users") {
      return {{"name", f_.UniqueName("m-user")}, {"password", ApiFixture::kPassword}, {"role", "viewer"}};
    }
    if (key == "POST /api/v1/users/{name}/tokens") return {{"name", "t"}};
    if (key == "POST /api/v1/assets") {
      return {{"parent", "demo-works/stuttgart/body-shop/body-line"}, {"level", "machine"}, {"name", f_.UniqueName("m")}};
    }
    if (key == "POST /api/v1/types") return {{"name", f_.UniqueName("m-type")}};
    if (key == "POST /api/v1/devices") return {{"name", f_.UniqueName("m-dev")}, {"asset", ApiFixture::kMachine}};
    if (key == "PUT /api/v1/assets/{asset}/tags/{tag}") return {{"type", "double"}};
    return Json::object();
  }

  std::vector<Malformed> BuildCorpus() {
    std::vector<Malformed> out;
    auto add = [&out](std::string method, std::string target, std::string body, std::string needle, std::string what) {
      out.push_back({std::move(method), std::move(target), std::move(body), std::move(needle), std::move(what)});
    };
    const std::string big(100'000, 'x');
    for (const Route& route : f_.api().router().routes()) {
      const std::string target = ValidTarget(route);
      const std::string sep = target.find('?') == std::string::npos ? "?" : "&";
      const std::string& m = route.method;

      // Query string and path: bad percent-encoding everywhere.
      add(m, target + sep + "x=%zz", "", "percent-encoding", "bad %-escape in a query value");
      add(m, target + sep + "x%G1=1", "", "percent-encoding", "bad %-escape in a query name");
      add(m, target + sep + "x=%", "", "percent-encoding", "truncated %-escape");
      if (route.pattern.find('{') != std::string::npos) {
        std::string t = route.pattern;
        const size_t open = t.find('{');
        const size_t close = t.find('}', open);
        const std::string param = t.substr(open, close - open + 1);
        for (const char* bad : {"%zz", "%", "%4", "ab%"}) {
          add(m, ValidTargetWith(route, param, bad), "", "percent-encoding", "bad %-escape in " + param);
        }
        // Unknown things and absurd ids in the first path parameter.
        for (const std::string& unknown : {std::string("no-such-thing"), std::string("99999999999999999999"),
                                           std::string("-1"), std::string(8192, 'q'), std::string("%00")}) {
          std::string needle = param == "{id}" ? "id" : (unknown == "%00" ? "" : unknown.substr(0, 20));
          add(m, ValidTargetWith(route, param, unknown), JsonBodyFor(route), needle, "unknown " + param);
        }
      }
      // Documented parameters: bad integers and times.
      for (const ParamDoc& p : route.params) {
        if (p.type == "integer") {
          for (const char* v : {"abc", "-1", "1.5", "99999999999999999999", "", "0x10"}) {
            add(m, target + sep + p.name + "=" + v, JsonBodyFor(route), p.name, "bad integer " + p.name);
          }
        }
        if (p.name == "from" || p.name == "to") {
          for (const char* v : {"abc", "2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z", "3000-01-01T00:00:00Z",
                                "99999999999999999999", "1e30", "2024-01-01"}) {
            add(m, target + sep + p.name + "=" + v, "", p.name, "bad time " + p.name);
          }
        }
      }
      if (route.params.size() > 0 && m == "GET") {
        add(m, target + sep + "bogus_param=1", "", "bogus_param", "unknown parameter");
      }
      if (route.request_schema.empty() || route.request_schema.find("\"object\"") == std::string::npos) continue;

      // JSON bodies: broken documents.
      const std::vector<std::pair<std::string, std::string>> broken = {
          {"", "empty body"},
          {"{", "truncated object"},
          {"{\"name\":", "truncated member"},
          {"{\"name\":\"abc", "unterminated string"},
          {"[]", "array at the top"},
          {"[{}]", "array of objects at the top"},
          {"\"text\"", "string at the top"},
          {"42", "number at the top"},
          {"null", "null at the top"},
          {"true", "bool at the top"},
          {"{} trailing", "trailing garbage"},
          {"{}}", "extra brace"},
          {"{\"a\":1,}", "trailing comma"},
          {"{'name':'x'}", "single quotes"},
          {"{name:1}", "bare key"},
          {"{\"name\":NaN}", "NaN literal"},
          {"{\"name\":Infinity}", "Infinity literal"},
          {"{\"name\":-Infinity}", "-Infinity literal"},
          {"{\"name\":01}", "leading zero"},
          {"{\"name\":\"\xff\xfe\"}", "invalid UTF-8 in a string"},
          {"{\"name\":\"\xc3\x28\"}", "invalid UTF-8 sequence"},
          {"{\"name\":\"\xed\xa0\x80\"}", "UTF-8 surrogate"},
          {"{\"name\":\"\\ud800\"}", "lone surrogate escape"},
          {"\xff{}", "invalid byte before the document"},
          {"{\"name\"\x00:1}", "NUL byte"},
          {"{/*c*/}", "comment"},
          {Nested(100, '[', ']', "1"), "100-deep arrays"},
          {"{\"name\":" + Nested(100, '[', ']', "1") + "}", "100-deep arrays in a field"},
          {"{\"name\":" + Nested(100, '{', '}', "1") + "}", "100-deep objects in a field"},
          {std::string(100'000, '['), "100000 open brackets"},
          {"{\"name\":" + std::string(50'000, '[') + std::string(50'000, ']') + "}", "50000-deep arrays"},
          {"{\"zzz_unknown\":1}", "unknown field"},
          {"{\"name\":1e999}", "huge number"},
          {"{\"name\":123456789012345678901234567890}", "huge integer"},
      };
      for (const auto& [body, what] : broken) add(m, target, body, "body", what);
      add(m, target, "{\"zzz_unknown\":1}", "zzz_unknown", "unknown field named");

      // Every documented field: wrong types, each in an otherwise valid body.
      Json schema = Json::parse(route.request_schema, nullptr, false);
      if (!schema.is_object() || !schema.contains("properties")) continue;
      const Json base = BaseBody(route);
      for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
        const std::string field = it.key();
        for (const std::string& wrong : WrongValues(it->value("type", ""))) {
          Json body = base;
          body[field] = Json::parse(wrong);
          add(m, target, body.dump(), field, fmt::format("{} = {}", field, wrong));
        }
        // Identifiers have length limits; free text (description, unit) is bounded by
        // HttpServerOptions::max_body_bytes only.
        static const std::set<std::string> kIdentifiers = {"name", "parent", "level", "type", "role", "password", "ttl"};
        if (it->value("type", "") == "string" && kIdentifiers.count(field)) {
          Json body = base;
          body[field] = big;
          add(m, target, body.dump(), field, field + " = 100 KB string");
        }
      }
      if (schema.contains("required")) {
        for (const Json& required : schema["required"]) {
          Json body = base;
          body.erase(required.get<std::string>());
          // PUT tags takes the name from the path.
          if (route.pattern.ends_with("/tags/{tag}") || route.pattern == "/api/v1/types/{name}") continue;
          add(m, target, body.dump(), required.get<std::string>(), "missing " + required.get<std::string>());
        }
      }
    }
    AddSemanticCases(&out);
    return out;
  }

  // Well-formed JSON with values no handler may accept.
  void AddSemanticCases(std::vector<Malformed>* out) {
    auto add = [out](std::string method, std::string target, std::string body, std::string needle, std::string what) {
      out->push_back({std::move(method), std::move(target), std::move(body), std::move(needle), std::move(what)});
    };
    const std::string machine = Enc(ApiFixture::kMachine);
    const std::string desired = "/api/v1/assets/" + machine + "/twin/desired";
    const std::string sp = ApiFixture::kWritableTag;
    for (const char* v : {"\"fast\"", "true", "[1]", "{}", "1e999", "-1e999", "123456789012345678901234567890"}) {
      // nlohmann refuses numbers beyond double as invalid JSON: those name the body.
      const bool overflow = std::string_view(v).find("e999") != std::string_view::npos;
      add("PATCH", desired, fmt::format("{{\"{}\":{}}}", sp, v), overflow ? "body" : sp,
          std::string("desired value ") + v);
    }
    add("PATCH", desired, fmt::format("{{\"{}\":99999}}", sp), sp, "desired above the range");
    add("PATCH", desired, fmt::format("{{\"{}\":-5}}", sp), sp, "desired below the range");
    add("PATCH", desired, "{\"no_such_tag\":1}", "no_such_tag", "desired on an unknown tag");
    add("PATCH", desired, "{\"speed\":1}", "speed", "desired on a read-only tag");
    add("PATCH", desired, "{}", "body", "no desired values");
    add("PATCH", "/api/v1/assets/demo-works%2Fnope/twin/desired", "{\"x\":1}", "nope", "unknown asset");

    const std::string tags = "/api/v1/assets/" + machine + "/tags/";
    const std::vector<std::pair<std::string, std::string>> tag_cases = {
        {R"({"type":"complex"})", "type"},
        {R"({"type":"double","range":{"min":5,"max":1}})", "range"},
        {R"({"type":"double","range":{"min":"a"}})", "range"},
        {R"({"type":"double","range":{"lo":1}})", "range"},
        {R"({"type":"double","deadband":-1})", "deadband"},
        {R"({"type":"double","deadband":1e999})", "body"},
        {R"({"type":"double","binding":{"source":1}})", "source"},
        {R"({"type":"double","binding":{"bogus":1}})", "bogus"},
        {R"({"type":"double","name":"other"})", "name"},
    };
    for (const auto& [body, needle] : tag_cases) add("PUT", tags + "newtag", body, needle, "tag " + body);
    add("PUT", tags + "bad%20name", R"({"type":"double"})", "name", "tag name with a space");
    add("PUT", tags + std::string(300, 't'), R"({"type":"double"})", "name", "tag name too long");

    const std::string line = "demo-works/stuttgart/body-shop/body-line";
    const std::vector<std::pair<std::string, std::string>> asset_cases = {
        {fmt::format(R"({{"parent":"{}","level":"planet","name":"x1"}})", line), "level"},
        {R"({"parent":"demo-works/nowhere","level":"machine","name":"x2"})", "nowhere"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"a/b"}})", line), "name"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":""}})", line), "name"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"x3","type":"no-such-type"}})", line), "no-such-type"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"x4","attributes":{{"a":1}}}})", line), "attributes"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"x5","tags":[{{"name":"t","type":"cplx"}}]}})", line),
         "tags[0].type"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"x6","tags":[{{"name":"t","zz":1}}]}})", line),
         "zz"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"x7","tags":["t"]}})", line), "tags[0]"},
        {fmt::format(R"({{"parent":"{}","level":"machine","name":"conveyor-1"}})", line), "conveyor-1"},
    };
    for (const auto& [body, needle] : asset_cases) add("POST", "/api/v1/assets", body, needle, "asset " + body);
    add("PATCH", "/api/v1/assets/" + machine, R"({"parent":"demo-works/nowhere"})", "parent", "move to nowhere");
    add("PATCH", "/api/v1/assets/" + machine, R"({"name":"x/y"})", "name", "rename with a slash");
    add("PATCH", "/api/v1/assets/" + machine, R"({"type":"no-such-type"})", "no-such-type", "retype to nothing");
    add("DELETE", "/api/v1/assets/" + machine + "?recursive=maybe", "", "recursive", "recursive=maybe");

    add("POST", "/api/v1/users", R"({"name":"ok-name","password":"short","role":"viewer"})", "password",
        "short password");
    add("POST", "/api/v1/users", R"({"name":"ok-name2","password":"long-enough-1","role":"king"})", "role",
        "unknown role");
    add("POST", "/api/v1/users", R"({"name":"bad name","password":"long-enough-1","role":"viewer"})", "name",
        "user name with a space");
    add("POST", "/api/v1/users", fmt::format(R"({{"name":"{}","password":"long-enough-1","role":"viewer"}})",
                                             victim_.name),
        victim_.name, "existing user");
    add("PATCH", "/api/v1/users/" + victim_.name, R"({"role":"king"})", "role", "unknown role");
    add("PATCH", "/api/v1/users/" + victim_.name, R"({"sites":[1]})", "sites", "site not a string");
    add("PATCH", "/api/v1/users/no-such-user", R"({"disabled":true})", "no-such-user", "unknown user");
    for (const char* ttl : {"abc", "-5d", "0s", "99999999999999d", "5x"}) {
      add("POST", "/api/v1/users/" + victim_.name + "/tokens", fmt::format(R"({{"name":"t","ttl":"{}"}})", ttl), "ttl",
          std::string("ttl ") + ttl);
    }
    add("POST", "/api/v1/users/no-such-user/tokens", R"({"name":"t"})", "no-such-user", "token for nobody");
    add("DELETE", "/api/v1/tokens/999999", "", "999999", "unknown token");
    add("POST", "/api/v1/types", R"({"name":"welding-robot"})", "welding-robot", "existing type");
    add("POST", "/api/v1/types", R"({"name":"t1","tags":[{"name":"a"}]})", "type", "type tag without a type");
    add("PUT", "/api/v1/types/welding-robot", R"({"name":"other"})", "name", "type name differs from the path");
    add("DELETE", "/api/v1/types/welding-robot", "", "welding-robot", "type in use");

    const std::string key = Enc(std::string(ApiFixture::kMachine) + "/speed");
    const std::vector<std::pair<std::string, std::string>> query_cases = {
        {"/api/v1/query?series=no/such/series&from=0", "no/such/series"},
        {"/api/v1/query?series=" + key + "&from=5000&to=1000", "from"},
        {"/api/v1/query?series=" + key + "&from=0&step=0s", "step"},
        {"/api/v1/query?series=" + key + "&from=0&step=1m&agg=median", "agg"},
        {"/api/v1/query?series=" + key + "&from=0&precision=xs", "precision"},
        {"/api/v1/query?series=" + key + "&from=0&format=xml", "format"},
        {"/api/v1/query?series=" + key + "&from=0&max_points=abc", "max_points"},
        {"/api/v1/query?asset=demo-works%2Fnope&from=0", "nope"},
        {"/api/v1/query?from=0", "series"},
        {"/api/v1/latest?series=no/such/series", "no/such/series"},
        {"/api/v1/latest", "series"},
        {"/api/v1/events?asset=demo-works%2Fnope", "nope"},
        {"/api/v1/assets?level=planet", "level"},
        {"/api/v1/assets?under=demo-works%2Fnope", "nope"},
        {"/write?precision=sec", "precision"},
    };
    for (const auto& [target, needle] : query_cases) {
      add(target.starts_with("/write") ? "POST" : "GET", target, target.starts_with("/write") ? "m v=1" : "", needle,
          target);
    }
    for (const char* lp : {"m", "m v=", "m v=1 abc", "m v=\"unterminated", "m,t v=1", "m v=1i2", "=1",
                           "m v=99999999999999999999i", "m v=1 99999999999999999999"}) {
      add("POST", "/write", lp, "line", std::string("line protocol: ") + lp);
    }
    add("POST", "/write?precision=s", fmt::format("{} speed=\"text\"", ApiFixture::kMachine), "line",
        "type conflict on a model tag");
    // Methods and routes that do not exist.
    add("PUT", "/api/v1/assets", "{}", "PUT", "method not allowed");
    add("GET", "/api/v1/no-such-route", "", "no-such-route", "unknown route");
    add("GET", "/api/v1/assets/" + machine + "/nope", "", "nope", "unknown sub-resource");
  }

  std::string ValidTargetWith(const Route& route, const std::string& param, const std::string& value) const {
    Route copy;
    copy.method = route.method;
    copy.pattern = route.pattern;
    const size_t at = copy.pattern.find(param);
    copy.pattern.replace(at, param.size(), value);
    return ValidTarget(copy);
  }
  std::string JsonBodyFor(const Route& route) {
    if (route.request_schema.find("\"object\"") == std::string::npos) return {};
    if (route.pattern.ends_with("/twin/desired")) return fmt::format("{{\"{}\":1}}", ApiFixture::kWritableTag);
    return BaseBody(route).dump();
  }

  ApiFixture f_;
  TestUser victim_;
  int64_t victim_token_id_ = 0;
};

// The error message of an answer: {"error":{"message":...}} (REST) or {"error":"..."}
// (InfluxDB-compatible write endpoints).
std::optional<std::string> ErrorMessage(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error")) return std::nullopt;
  const Json& e = j["error"];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
  return std::nullopt;
}

TEST_F(ApiMalformedTest, EveryMalformedRequestGetsA4xxNamingTheField) {
  const std::vector<Malformed> corpus = BuildCorpus();
  ASSERT_GE(corpus.size(), 500u);
  std::map<int, int> by_status;
  int failures = 0;
  for (const Malformed& c : corpus) {
    HttpResponse r = f_.Call(c.method, c.target, c.body, f_.root().token);
    ++by_status[r.status];
    const std::string where = fmt::format("{} {} [{}] body={}", c.method, c.target.substr(0, 120), c.what,
                                          c.body.substr(0, 120));
    bool ok = r.status >= 400 && r.status < 500;
    EXPECT_TRUE(ok) << where << " -> " << r.status << " " << r.body.substr(0, 300);
    std::optional<std::string> message = ErrorMessage(r.body);
    EXPECT_TRUE(message.has_value()) << where << ": not a JSON error: " << r.body.substr(0, 300);
    if (message) {
      EXPECT_FALSE(message->empty()) << where;
      if (!c.needle.empty() && message->find(c.needle) == std::string::npos) {
        ok = false;
        ADD_FAILURE() << where << ": the message does not name \"" << c.needle << "\": " << *message;
      }
    }
    if (!ok || !message) ++failures;
  }
  std::string summary;
  for (const auto& [status, n] : by_status) summary += fmt::format(" {}x{}", n, status);
  std::printf("malformed corpus: %zu requests, %d failed; statuses:%s\n", corpus.size(), failures, summary.c_str());
  // The API still works after all of it.
  EXPECT_EQ(f_.Call("GET", "/api/v1/assets/" + Enc(ApiFixture::kMachine), "", f_.root().token).status, 200);
}

TEST_F(ApiMalformedTest, TagBindingsMustNameAConfiguredSource) {
  const std::string target = "/api/v1/assets/" + Enc(ApiFixture::kMachine) + "/tags/extra_temp";
  HttpResponse r = f_.Call("PUT", target, R"({"type":"double","binding":{"source":"no-such-plc","address":"hr:1"}})",
                           f_.root().token);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("binding.source"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("body-shop-plc"), std::string::npos) << r.body;  // lists what exists
  r = f_.Call("PUT", target, R"({"type":"double","unit":")" + std::string(100, 'x') + R"("})", f_.root().token);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("body.unit"), std::string::npos) << r.body;
  r = f_.Call("PUT", target, R"({"type":"double","binding":{"source":"body-shop-plc","address":"hr:1:float32"}})",
              f_.root().token);
  EXPECT_EQ(r.status, 200) << r.body;
}

// Sends raw bytes to 127.0.0.1:port and returns what comes back until the peer closes
// (or 5 s pass).
std::string RawExchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "socket failed";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.find("\r\n\r\n") != std::string::npos && reply.find("\"error\"") != std::string::npos) break;
  }
  ::close(fd);
  return reply;
}

TEST_F(ApiMalformedTest, OverARealSocketOversizedBodyIs413AndBadRequestLineIs400) {
  HttpServerOptions options;
  options.port = 0;
  options.threads = 1;
  options.max_body_bytes = 4096;
  auto server = HttpServer::Start(options, f_.services());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const uint16_t port = (*server)->port();

  const std::string body = "{\"name\":\"" + std::string(10'000, 'x') + "\"}";
  std::string reply = RawExchange(port, fmt::format("POST /api/v1/types HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                    "Authorization: Bearer {}\r\nContent-Type: application/json\r\n"
                                                    "Content-Length: {}\r\n\r\n{}",
                                                    f_.root().token, body.size(), body));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply.substr(0, 300);
  EXPECT_NE(reply.find("\"error\""), std::string::npos) << reply.substr(0, 300);

  reply = RawExchange(port, "GARBAGE\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply.substr(0, 300);
  reply = RawExchange(port, "GET /healthz HTTP/9.9 extra\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply.substr(0, 300);

  // The server still answers properly afterwards.
  reply = RawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply.substr(0, 300);
  (*server)->Stop();
}

}  // namespace
}  // namespace shopfloor::server
