// Fuzz target for the auth module's parsers of outside bytes: bearer tokens (Authorization
// headers, MQTT/basic-auth passwords) through ParseToken and UserStore::Authenticate, and
// the audit head file through ParseAuditHead. Round trips must hold for accepted input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "auth/audit.h"
#include "auth/audit_head.h"
#include "auth/auth.h"
#include "auth/crypto.h"
#include "meta/db.h"

namespace {

struct Fixture {
  std::unique_ptr<shopfloor::meta::Db> db;
  std::unique_ptr<shopfloor::auth::AuditLog> audit;
  std::unique_ptr<shopfloor::auth::UserStore> users;
  shopfloor::core::SimClock clock;
};

Fixture* Get() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    f->db = std::move(*shopfloor::meta::Db::Open(":memory:"));
    f->audit = std::move(*shopfloor::auth::AuditLog::Open(f->db.get(), &f->clock, ""));
    shopfloor::auth::AuthOptions options;
    options.fast_hash_for_tests = true;
    f->users = std::move(*shopfloor::auth::UserStore::Open(f->db.get(), &f->clock, f->audit.get(), options));
    if (!f->users->CreateUser("fuzz", "root", "password1", shopfloor::auth::Role::kAdmin, {}).ok()) std::abort();
    if (!f->users->CreateToken("fuzz", "root", "t1").ok()) std::abort();
    return f;
  }();
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopfloor;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto token = auth::ParseToken(text);
  if (token.ok()) {
    if (token->raw.size() != auth::kTokenBytes) std::abort();
    if (text.substr(4) != auth::Base64UrlEncode(token->raw)) std::abort();
  } else if (token.status().code() != core::StatusCode::kUnauthenticated) {
    std::abort();
  }
  // Random bytes never name a stored token.
  auto principal = Get()->users->Authenticate(text);
  if (principal.ok() || principal.status().code() != core::StatusCode::kUnauthenticated) std::abort();

  auto head = auth::ParseAuditHead(text, "audit.head");
  if (head.ok()) {
    if (auth::FormatAuditHead(*head) != text) std::abort();
  } else if (!head.status().IsCorruption()) {
    std::abort();
  }
  return 0;
}
