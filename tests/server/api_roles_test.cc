// The role matrix: every route of the API (taken from the router's table, so a route added
// without an entry here fails) x every role x {scoped to the request's site, scoped to the
// other site, unscoped}, plus no token and an unknown token. Each request is valid for the
// route, so an allowed call must succeed (2xx) and a refused one must be 401/403. The
// verdict comes from the rules: the route's min_role, then the case's rule (see Rule).
// Scoped callers' successful answers must also not mention the other site's assets.
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "api_fixture.h"

namespace shopfloor::server {
namespace {

using testing::ApiFixture;
using testing::TestUser;

// What, besides the route's min_role, decides whether a caller may make the call.
enum class Rule {
  kAny,         // every authenticated caller
  kSite,        // the resource is in ApiFixture::kSite: callers scoped to it or unscoped
  kPlant,       // plant-wide (types, new sites, the export, the audit trail, unmodelled series)
  kSelf,        // the caller's own user, password, tokens or session
  kPlantAdmin,  // other users and their tokens: unscoped admins only
};

enum class Scope { kHome, kOther, kAll };

struct Prepared {
  std::string target;
  std::string body;
  std::optional<std::string> token;  // replaces the caller's token (a fresh session, a fresh user)
};

// Builds a valid request; caller is null for the no-token and bad-token calls.
using Builder = std::function<core::Result<Prepared>(const TestUser* caller)>;

struct Case {
  std::string label;
  Rule rule;
  Builder build;
};

// Percent-encodes one path segment or query value (asset paths contain '/').
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

const char* kLine = "demo-works/stuttgart/body-shop/body-line";
const char* kBadToken = "sft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

class ApiRolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Status opened = f_.Open();
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    // Data in both sites, so reads of either have something to (not) leak.
    const std::string lines = fmt::format("{} speed=12.5\n{} temperature=180\n", ApiFixture::kMachine,
                                          ApiFixture::kOtherMachine);
    HttpResponse w = f_.Call("POST", "/write", lines, f_.root().token);
    ASSERT_EQ(w.status, 204) << w.body;
    auto login_user = f_.CreateUser(auth::Role::kViewer, {});
    ASSERT_TRUE(login_user.ok());
    login_user_ = login_user->name;
    // A device on the other site, which scoped callers' device lists must not show.
    ASSERT_TRUE(f_.services().devices->Add("test", "other-site-dev", ApiFixture::kOtherMachine, false).ok());
    AddCases();
  }

  // A throwaway machine in kSite's body line.
  core::Result<std::string> NewMachine() {
    model::NewAsset a;
    a.parent_path = kLine;
    a.level = model::AssetLevel::kMachine;
    a.name = f_.UniqueName("tmp-machine");
    SF_ASSIGN_OR_RETURN(model::Asset created, f_.assets()->CreateAsset("test", a));
    return created.path;
  }
  core::Result<std::string> NewType() {
    model::AssetType t;
    t.name = f_.UniqueName("tmp-type");
    SF_RETURN_IF_ERROR(f_.assets()->CreateType("test", t).status());
    return t.name;
  }
  std::string SelfName(const TestUser* caller) const { return caller ? caller->name : f_.root().name; }

  void Add(std::string method, std::string pattern, std::vector<Case> cases) {
    cases_[method + " " + pattern] = std::move(cases);
  }

  void AddCases() {
    const std::string machine = Enc(ApiFixture::kMachine);
    const std::string speed_key = Enc(std::string(ApiFixture::kMachine) + "/speed");
    auto fixed = [](std::string target, std::string body = {}) -> Builder {
      return [target, body](const TestUser*) -> core::Result<Prepared> { return Prepared{target, body, {}}; };
    };
    for (const char* write : {"/write", "/api/v2/write"}) {
      Add("POST", write,
          {{"model asset", Rule::kSite, fixed(std::string(write) + "?precision=s",
                                              fmt::format("{} apitest_probe=1", ApiFixture::kMachine))},
           {"unmodelled series", Rule::kPlant, fixed(std::string(write), "apitest_loose value=1")}});
    }
    Add("POST", "/query", {{"create database", Rule::kAny, fixed("/query?q=CREATE+DATABASE+telegraf")}});
    Add("GET", "/ping", {{"", Rule::kAny, fixed("/ping")}});
    Add("GET", "/healthz", {{"", Rule::kAny, fixed("/healthz")}});
    Add("GET", "/", {{"", Rule::kAny, fixed("/")}});
    Add("GET", "/api/v1/series", {{"", Rule::kAny, fixed("/api/v1/series")}});
    Add("GET", "/api/v1/query",
        {{"series", Rule::kSite, fixed("/api/v1/query?from=0&series=" + speed_key)},
         {"asset", Rule::kSite, fixed("/api/v1/query?from=0&asset=" + machine)},
         {"csv", Rule::kSite, fixed("/api/v1/query?from=0&format=csv&series=" + speed_key)}});
    Add("GET", "/api/v1/latest",
        {{"series", Rule::kSite, fixed("/api/v1/latest?series=" + speed_key)},
         {"match", Rule::kAny, fixed("/api/v1/latest?match=**")}});

    Add("POST", "/api/v1/auth/login",
        {{"", Rule::kAny,
          fixed("/api/v1/auth/login", fmt::format(R"({{"name":"{}","password":"{}"}})", login_user_,
                                                  ApiFixture::kPassword))}});
    Add("POST", "/api/v1/auth/logout",
        {{"own session", Rule::kSelf, [this](const TestUser* caller) -> core::Result<Prepared> {
            Prepared p{"/api/v1/auth/logout", "", {}};
            if (caller) {
              SF_ASSIGN_OR_RETURN(auth::Session s, f_.users()->Login(caller->name, ApiFixture::kPassword, "test"));
              p.token = s.token;
            }
            return p;
          }}});
    Add("GET", "/api/v1/auth/me", {{"", Rule::kAny, fixed("/api/v1/auth/me")}});

    Add("GET", "/api/v1/users", {{"", Rule::kPlantAdmin, fixed("/api/v1/users")}});
    Add("POST", "/api/v1/users", {{"", Rule::kPlantAdmin, [this](const TestUser*) -> core::Result<Prepared> {
                                     return Prepared{"/api/v1/users",
                                                     fmt::format(R"({{"name":"{}","password":"{}","role":"viewer",
                                                                     "sites":["{}"]}})",
                                                                 f_.UniqueName("new-user"), ApiFixture::kPassword,
                                                                 ApiFixture::kSite),
                                                     {}};
                                   }}});
    auto user_target = [this](std::string suffix, bool self) -> Builder {
      return [this, suffix, self](const TestUser* caller) -> core::Result<Prepared> {
        const std::string name = self ? SelfName(caller) : f_.root().name;
        return Prepared{"/api/v1/users/" + Enc(name) + suffix, "", {}};
      };
    };
    Add("GET", "/api/v1/users/{name}",
        {{"self", Rule::kSelf, user_target("", true)}, {"other", Rule::kPlantAdmin, user_target("", false)}});
    Add("GET", "/api/v1/users/{name}/tokens",
        {{"self", Rule::kSelf, user_target("/tokens", true)},
         {"other", Rule::kPlantAdmin, user_target("/tokens", false)}});
    Add("PATCH", "/api/v1/users/{name}",
        {{"own password", Rule::kSelf,
          [this](const TestUser* caller) -> core::Result<Prepared> {
            // A fresh user like the caller: changing the password may end their tokens.
            Prepared p{"/api/v1/users/" + Enc(f_.root().name), R"({"password":"another-secret-1"})", {}};
            if (caller) {
              SF_ASSIGN_OR_RETURN(TestUser fresh, f_.CreateUser(caller->role, caller->sites));
              p.target = "/api/v1/users/" + Enc(fresh.name);
              p.token = fresh.token;
            }
            return p;
          }},
         {"other user", Rule::kPlantAdmin, [this](const TestUser*) -> core::Result<Prepared> {
            SF_ASSIGN_OR_RETURN(TestUser victim, f_.CreateUser(auth::Role::kViewer, {}));
            return Prepared{"/api/v1/users/" + Enc(victim.name), R"({"disabled":true,"role":"operator"})", {}};
          }}});
    Add("DELETE", "/api/v1/users/{name}", {{"", Rule::kPlantAdmin, [this](const TestUser*) -> core::Result<Prepared> {
                                              SF_ASSIGN_OR_RETURN(TestUser victim,
                                                                  f_.CreateUser(auth::Role::kOperator, {}));
                                              return Prepared{"/api/v1/users/" + Enc(victim.name), "", {}};
                                            }}});
    auto new_token = [this](bool self) -> Builder {
      return [this, self](const TestUser* caller) -> core::Result<Prepared> {
        const std::string name = self ? SelfName(caller) : f_.root().name;
        return Prepared{"/api/v1/users/" + Enc(name) + "/tokens",
                        fmt::format(R"({{"name":"{}","ttl":"30d"}})", f_.UniqueName("tok")), {}};
      };
    };
    Add("POST", "/api/v1/users/{name}/tokens",
        {{"self", Rule::kSelf, new_token(true)}, {"other", Rule::kPlantAdmin, new_token(false)}});
    auto revoke = [this](bool self) -> Builder {
      return [this, self](const TestUser* caller) -> core::Result<Prepared> {
        const std::string owner = self ? SelfName(caller) : f_.root().name;
        SF_ASSIGN_OR_RETURN(auth::NewToken t, f_.users()->CreateToken("test", owner, f_.UniqueName("revoke-me")));
        return Prepared{fmt::format("/api/v1/tokens/{}", t.info.id), "", {}};
      };
    };
    Add("DELETE", "/api/v1/tokens/{id}",
        {{"own token", Rule::kSelf, revoke(true)}, {"other's token", Rule::kPlantAdmin, revoke(false)}});

    Add("GET", "/api/v1/assets",
        {{"", Rule::kAny, fixed("/api/v1/assets")}, {"level", Rule::kAny, fixed("/api/v1/assets?level=site")}});
    Add("POST", "/api/v1/assets",
        {{"machine in site", Rule::kSite,
          [this](const TestUser*) -> core::Result<Prepared> {
            return Prepared{"/api/v1/assets",
                            fmt::format(R"({{"parent":"{}","level":"machine","name":"{}","type":"welding-robot",
                                            "tags":[{{"name":"extra","type":"int64"}}]}})",
                                        kLine, f_.UniqueName("new-machine")),
                            {}};
          }},
         {"new site", Rule::kPlant, [this](const TestUser*) -> core::Result<Prepared> {
            return Prepared{"/api/v1/assets",
                            fmt::format(R"({{"parent":"demo-works","level":"site","name":"{}"}})",
                                        f_.UniqueName("new-site")),
                            {}};
          }}});
    const int64_t machine_id = f_.assets()->FindAsset(ApiFixture::kMachine)->id;
    Add("GET", "/api/v1/assets/{asset}",
        {{"by path", Rule::kSite, fixed("/api/v1/assets/" + machine)},
         {"by id", Rule::kSite, fixed(fmt::format("/api/v1/assets/{}", machine_id))},
         {"enterprise", Rule::kAny, fixed("/api/v1/assets/demo-works")}});
    Add("PATCH", "/api/v1/assets/{asset}",
        {{"describe", Rule::kSite, [this, machine](const TestUser*) -> core::Result<Prepared> {
            return Prepared{"/api/v1/assets/" + machine,
                            fmt::format(R"({{"description":"{}"}})", f_.UniqueName("described")), {}};
          }},
         {"rename", Rule::kSite, [this](const TestUser*) -> core::Result<Prepared> {
            SF_ASSIGN_OR_RETURN(std::string path, NewMachine());
            return Prepared{"/api/v1/assets/" + Enc(path),
                            fmt::format(R"({{"name":"{}","attributes":{{"vendor":"acme"}}}})",
                                        f_.UniqueName("renamed")),
                            {}};
          }}});
    Add("DELETE", "/api/v1/assets/{asset}", {{"", Rule::kSite, [this](const TestUser*) -> core::Result<Prepared> {
                                                SF_ASSIGN_OR_RETURN(std::string path, NewMachine());
                                                return Prepared{"/api/v1/assets/" + Enc(path), "", {}};
                                              }}});
    Add("GET", "/api/v1/assets/{asset}/tags", {{"", Rule::kSite, fixed("/api/v1/assets/" + machine + "/tags")}});
    Add("PUT", "/api/v1/assets/{asset}/tags/{tag}",
        {{"", Rule::kSite, [this](const TestUser*) -> core::Result<Prepared> {
            SF_ASSIGN_OR_RETURN(std::string path, NewMachine());
            return Prepared{"/api/v1/assets/" + Enc(path) + "/tags/level",
                            R"({"type":"double","unit":"mm","range":{"min":0,"max":10},"writable":true,
                               "binding":{"source":"utilities-plc","address":"hr:910:float32"}})", {}};
          }}});
    Add("DELETE", "/api/v1/assets/{asset}/tags/{tag}",
        {{"", Rule::kSite, [this](const TestUser*) -> core::Result<Prepared> {
            SF_ASSIGN_OR_RETURN(std::string path, NewMachine());
            SF_ASSIGN_OR_RETURN(model::Asset asset, f_.assets()->FindAsset(path));
            model::TagDef def;
            def.name = "doomed";
            def.type = core::ValueType::kBool;
            SF_RETURN_IF_ERROR(f_.assets()->UpsertTag("test", asset.id, def).status());
            return Prepared{"/api/v1/assets/" + Enc(path) + "/tags/doomed", "", {}};
          }}});
    Add("GET", "/api/v1/types", {{"", Rule::kAny, fixed("/api/v1/types")}});
    Add("GET", "/api/v1/types/{name}", {{"", Rule::kAny, fixed("/api/v1/types/welding-robot")}});
    Add("POST", "/api/v1/types", {{"", Rule::kPlant, [this](const TestUser*) -> core::Result<Prepared> {
                                     return Prepared{"/api/v1/types",
                                                     fmt::format(R"({{"name":"{}","tags":[{{"name":"t","type":"bool"}}]}})",
                                                                 f_.UniqueName("new-type")),
                                                     {}};
                                   }}});
    Add("PUT", "/api/v1/types/{name}", {{"", Rule::kPlant, [this](const TestUser*) -> core::Result<Prepared> {
                                           SF_ASSIGN_OR_RETURN(std::string name, NewType());
                                           return Prepared{"/api/v1/types/" + name,
                                                           R"({"description":"changed","tags":[{"name":"x","type":"double"}]})",
                                                           {}};
                                         }}});
    Add("DELETE", "/api/v1/types/{name}", {{"", Rule::kPlant, [this](const TestUser*) -> core::Result<Prepared> {
                                              SF_ASSIGN_OR_RETURN(std::string name, NewType());
                                              return Prepared{"/api/v1/types/" + name, "", {}};
                                            }}});
    Add("GET", "/api/v1/model/export", {{"", Rule::kPlant, fixed("/api/v1/model/export")}});
    Add("GET", "/api/v1/model/changes",
        {{"", Rule::kAny, fixed("/api/v1/model/changes?limit=100")},
         {"target", Rule::kAny, fixed("/api/v1/model/changes?target=demo-works%2Fstuttgart")}});
    Add("GET", "/api/v1/assets/{asset}/twin", {{"", Rule::kSite, fixed("/api/v1/assets/" + machine + "/twin")}});
    Add("PATCH", "/api/v1/assets/{asset}/twin/desired",
        {{"set", Rule::kSite,
          fixed("/api/v1/assets/" + machine + "/twin/desired", fmt::format(R"({{"{}":12.5}})", ApiFixture::kWritableTag))},
         {"clear", Rule::kSite,
          fixed("/api/v1/assets/" + machine + "/twin/desired", fmt::format(R"({{"{}":null}})", ApiFixture::kWritableTag))}});
    Add("GET", "/api/v1/events",
        {{"all", Rule::kAny, fixed("/api/v1/events?limit=50")},
         {"asset", Rule::kSite, fixed("/api/v1/events?asset=" + machine)}});
    Add("GET", "/api/v1/audit", {{"", Rule::kPlant, fixed("/api/v1/audit?limit=20&action=user.")}});
    Add("GET", "/api/v1/audit/verify", {{"", Rule::kPlant, fixed("/api/v1/audit/verify")}});
    Add("GET", "/api/v1/sources", {{"", Rule::kPlant, fixed("/api/v1/sources")}});
    Add("GET", "/api/v1/openapi.json", {{"", Rule::kAny, fixed("/api/v1/openapi.json")}});
    Add("GET", "/metrics", {{"", Rule::kAny, fixed("/metrics")}});
    Add("GET", "/api/v1/health", {{"", Rule::kAny, fixed("/api/v1/health")}});

    // MQTT devices: engineers, on the site of the device's asset; the list is filtered.
    Add("GET", "/api/v1/devices", {{"", Rule::kAny, fixed("/api/v1/devices")}});
    Add("POST", "/api/v1/devices", {{"", Rule::kSite, [this](const TestUser*) -> core::Result<Prepared> {
                                       return Prepared{"/api/v1/devices",
                                                       fmt::format(R"({{"name":"{}","asset":"{}"}})",
                                                                   f_.UniqueName("dev"), ApiFixture::kMachine),
                                                       {}};
                                     }}});
    auto device = [this](std::string method_suffix, std::string body) -> Builder {
      return [this, method_suffix, body](const TestUser*) -> core::Result<Prepared> {
        SF_ASSIGN_OR_RETURN(std::string name, NewDevice());
        return Prepared{"/api/v1/devices/" + name + method_suffix, body, {}};
      };
    };
    Add("GET", "/api/v1/devices/{name}", {{"", Rule::kSite, device("", "")}});
    Add("PATCH", "/api/v1/devices/{name}", {{"", Rule::kSite, device("", R"({"enabled":false})")}});
    Add("POST", "/api/v1/devices/{name}/rotate", {{"", Rule::kSite, device("/rotate", "")}});
    Add("DELETE", "/api/v1/devices/{name}", {{"", Rule::kSite, device("", "")}});
  }

  // A throwaway device bound to kSite's machine.
  core::Result<std::string> NewDevice() {
    const std::string name = f_.UniqueName("tmp-dev");
    SF_RETURN_IF_ERROR(f_.services().devices->Add("test", name, ApiFixture::kMachine, false).status());
    return name;
  }

  static bool RuleAllows(Rule rule, const TestUser& u, bool self_target) {
    const bool unscoped = u.sites.empty();
    switch (rule) {
      case Rule::kAny: return true;
      case Rule::kSite:
        return unscoped || std::find(u.sites.begin(), u.sites.end(), ApiFixture::kSite) != u.sites.end();
      case Rule::kPlant: return unscoped;
      case Rule::kSelf: return self_target;
      case Rule::kPlantAdmin: return unscoped && u.role == auth::Role::kAdmin;
    }
    return false;
  }

  ApiFixture f_;
  std::string login_user_;
  std::map<std::string, std::vector<Case>> cases_;
};

TEST_F(ApiRolesTest, EveryRouteEveryRoleEveryScope) {
  const auth::Role roles[] = {auth::Role::kViewer, auth::Role::kOperator, auth::Role::kEngineer, auth::Role::kAdmin};
  const std::pair<Scope, std::vector<std::string>> scopes[] = {
      {Scope::kHome, {ApiFixture::kSite}}, {Scope::kOther, {ApiFixture::kOtherSite}}, {Scope::kAll, {}}};
  std::vector<TestUser> callers;
  for (auth::Role role : roles) {
    for (const auto& [scope, sites] : scopes) {
      auto u = f_.CreateUser(role, sites);
      ASSERT_TRUE(u.ok()) << u.status().ToString();
      callers.push_back(std::move(u).value());
    }
  }

  int routes = 0, requests = 0, allowed_calls = 0, denied_calls = 0;
  std::set<std::string> covered;
  const std::vector<Route> table = f_.api().router().routes();
  for (const Route& route : table) {
    const std::string key = route.method + " " + route.pattern;
    auto it = cases_.find(key);
    if (it == cases_.end()) {
      ADD_FAILURE() << "route " << key << " has no entry in the role matrix";
      continue;
    }
    covered.insert(key);
    ++routes;
    for (const Case& c : it->second) {
      const std::string where = fmt::format("{} [{}]", key, c.label);
      // Without credentials (none, unknown token): only public routes answer.
      for (const char* token : {"", kBadToken}) {
        auto req = c.build(nullptr);
        ASSERT_TRUE(req.ok()) << where << ": " << req.status().ToString();
        HttpResponse r = f_.Call(route.method, req->target, req->body, token);
        ++requests;
        if (!route.authenticated) {
          ++allowed_calls;
          EXPECT_TRUE(r.status >= 200 && r.status < 300) << where << " token=\"" << token << "\": " << r.status << " "
                                                         << r.body;
        } else {
          ++denied_calls;
          EXPECT_EQ(r.status, 401) << where << " token=\"" << token << "\": " << r.body;
          EXPECT_FALSE(r.www_authenticate.empty()) << where;
        }
      }
      for (const TestUser& caller : callers) {
        auto req = c.build(&caller);
        ASSERT_TRUE(req.ok()) << where << ": " << req.status().ToString();
        const bool allowed = !route.authenticated ||
                             (caller.role >= route.min_role && RuleAllows(c.rule, caller, /*self_target=*/true));
        HttpResponse r = f_.Call(route.method, req->target, req->body, req->token.value_or(caller.token));
        ++requests;
        const std::string who = fmt::format("{} as {} sites=[{}]", where, auth::RoleName(caller.role),
                                            fmt::join(caller.sites, ","));
        if (allowed) {
          ++allowed_calls;
          EXPECT_TRUE(r.status >= 200 && r.status < 300) << who << ": expected 2xx, got " << r.status << " "
                                                         << r.body.substr(0, 400);
          // A scoped caller's answers never mention assets of sites outside its scope.
          for (const char* site : {ApiFixture::kSite, ApiFixture::kOtherSite}) {
            if (caller.sites.empty() || caller.sites.front() == site) continue;
            EXPECT_EQ(r.body.find(fmt::format("{}/{}", ApiFixture::kEnterprise, site)), std::string::npos)
                << who << ": the answer leaks site " << site << ": " << r.body.substr(0, 400);
          }
        } else {
          ++denied_calls;
          EXPECT_EQ(r.status, 403) << who << ": expected 403, got " << r.status << " " << r.body.substr(0, 400);
          EXPECT_NE(r.body.find("\"error\""), std::string::npos) << who << ": " << r.body;
        }
      }
    }
  }
  for (const auto& [key, unused] : cases_) {
    EXPECT_TRUE(covered.count(key)) << "the matrix names " << key << ", which is not a route";
  }
  std::printf("role matrix: %d routes x (%zu callers: 4 roles x 3 scopes, + no token + bad token) -> %d requests, "
              "%d allowed (2xx), %d denied (401/403)\n",
              routes, callers.size() + 2, requests, allowed_calls, denied_calls);
  EXPECT_GE(routes, 40);
}

// The "self" rule is about the target, not the role: a non-admin's view of someone else is
// refused even when the same call on themselves works (checked per role and scope).
TEST_F(ApiRolesTest, OthersAccountsNeedAnUnscopedAdmin) {
  auto scoped_admin = f_.CreateUser(auth::Role::kAdmin, {ApiFixture::kSite});
  auto engineer = f_.CreateUser(auth::Role::kEngineer, {});
  ASSERT_TRUE(scoped_admin.ok() && engineer.ok());
  for (const TestUser* u : {&*scoped_admin, &*engineer}) {
    EXPECT_EQ(f_.Call("GET", "/api/v1/users/" + u->name, "", u->token).status, 200);
    EXPECT_EQ(f_.Call("GET", "/api/v1/users/" + f_.root().name, "", u->token).status, 403);
    // Changing one's own role is not a password change.
    HttpResponse r = f_.Call("PATCH", "/api/v1/users/" + u->name, R"({"role":"admin","sites":[]})", u->token);
    EXPECT_EQ(r.status, 403) << r.body;
  }
  // Nobody changed: the scoped admin is still scoped.
  auto info = f_.users()->GetUser(scoped_admin->name);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->sites, std::vector<std::string>{ApiFixture::kSite});
}

}  // namespace
}  // namespace shopfloor::server
