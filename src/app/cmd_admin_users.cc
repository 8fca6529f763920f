// `shopfloor admin create-user|set-password|list-users|unlock|create-token|verify-audit`:
// user and audit administration of a data directory, also beside a running server (the
// metadata database is in WAL mode with a busy timeout). Audit actor: "cli".
#include <CLI/CLI.hpp>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "auth/audit.h"
#include "auth/auth.h"
#include "core/core.h"
#include "meta/db.h"
#include "model/plant_config.h"

namespace shopfloor::app {

namespace {

constexpr char kActor[] = "cli";

// Exit codes: 2 for bad input (the caller can fix the command), 1 for everything else.
int ExitCodeFor(const core::Status& s) {
  switch (s.code()) {
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kNotFound:
    case core::StatusCode::kAlreadyExists:
      return 2;
    default:
      return 1;
  }
}

int Fail(std::string_view command, const core::Status& s) {
  std::fprintf(stderr, "shopfloor admin %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               s.ToString().c_str());
  return ExitCodeFor(s);
}

// The opened metadata database, audit log and user store of a data directory.
struct AuthContext {
  std::unique_ptr<meta::Db> db;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::UserStore> users;
};

core::Result<AuthContext> OpenAuth(const std::string& dir, bool with_users = true) {
  AuthContext ctx;
  SF_ASSIGN_OR_RETURN(ctx.db, meta::Db::OpenInDataDir(dir));
  SF_ASSIGN_OR_RETURN(ctx.audit, auth::AuditLog::Open(ctx.db.get(), core::Clock::System(),
                                                      core::JoinPath(dir, "audit.head")));
  if (with_users) {
    SF_ASSIGN_OR_RETURN(ctx.users, auth::UserStore::Open(ctx.db.get(), core::Clock::System(), ctx.audit.get()));
  }
  return ctx;
}

core::Result<std::string> ReadLine(FILE* in) {
  std::string line;
  int c;
  while ((c = std::fgetc(in)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
  if (c == EOF && line.empty()) return core::Status::InvalidArgument("no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

core::Result<std::string> PromptHidden(const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios saved{};
  const bool have_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (have_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  core::Result<std::string> line = ReadLine(stdin);
  if (have_tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::fputs("\n", stderr);
  return line;
}

// One line from stdin; on a terminal, asked twice without echo.
core::Result<std::string> ReadPassword() {
  if (isatty(STDIN_FILENO) == 0) return ReadLine(stdin);
  SF_ASSIGN_OR_RETURN(std::string first, PromptHidden("Password: "));
  SF_ASSIGN_OR_RETURN(std::string second, PromptHidden("Repeat password: "));
  if (first != second) return core::Status::InvalidArgument("the two passwords differ");
  return first;
}

int CreateUser(const std::string& dir, const std::string& name, const std::string& role_name,
               const std::vector<std::string>& sites) {
  auto role = auth::ParseRole(role_name);
  if (!role.ok()) return Fail("create-user", role.status());
  auto password = ReadPassword();
  if (!password.ok()) return Fail("create-user", password.status());
  auto ctx = OpenAuth(dir);
  if (!ctx.ok()) return Fail("create-user", ctx.status());
  auto user = ctx->users->CreateUser(kActor, name, *password, *role, sites);
  if (!user.ok()) return Fail("create-user", user.status());
  std::string scope = "all sites";
  if (!user->sites.empty()) {
    scope = "sites";
    for (const std::string& s : user->sites) scope += " " + s;
  }
  std::fprintf(stderr, "created user %s (%s, %s)\n", user->name.c_str(), std::string(auth::RoleName(user->role)).c_str(),
               scope.c_str());
  return 0;
}

int SetPassword(const std::string& dir, const std::string& name) {
  auto password = ReadPassword();
  if (!password.ok()) return Fail("set-password", password.status());
  auto ctx = OpenAuth(dir);
  if (!ctx.ok()) return Fail("set-password", ctx.status());
  auth::UserStore::UserUpdate update;
  update.password = *password;
  auto user = ctx->users->UpdateUser(kActor, name, update);
  if (!user.ok()) return Fail("set-password", user.status());
  std::fprintf(stderr, "password of %s changed\n", name.c_str());
  return 0;
}

int Unlock(const std::string& dir, const std::string& name) {
  auto ctx = OpenAuth(dir);
  if (!ctx.ok()) return Fail("unlock", ctx.status());
  auth::UserStore::UserUpdate update;
  update.unlock = true;
  auto user = ctx->users->UpdateUser(kActor, name, update);
  if (!user.ok()) return Fail("unlock", user.status());
  std::fprintf(stderr, "unlocked %s\n", name.c_str());
  return 0;
}

int ListUsers(const std::string& dir) {
  auto ctx = OpenAuth(dir);
  if (!ctx.ok()) return Fail("list-users", ctx.status());
  std::printf("%-24s %-9s %-8s %s\n", "NAME", "ROLE", "STATE", "SITES");
  for (const auth::UserInfo& u : ctx->users->ListUsers()) {
    std::string sites;
    for (const std::string& s : u.sites) sites += (sites.empty() ? "" : ",") + s;
    const char* state = u.disabled ? "disabled" : (u.locked_until != 0 ? "locked" : "enabled");
    std::printf("%-24s %-9s %-8s %s\n", u.name.c_str(), std::string(auth::RoleName(u.role)).c_str(), state,
                sites.empty() ? "*" : sites.c_str());
  }
  return 0;
}

int CreateToken(const std::string& dir, const std::string& user, const std::string& name, const std::string& ttl_text) {
  core::Duration ttl = 0;
  if (!ttl_text.empty()) {
    auto parsed = model::ParseDuration(ttl_text);
    if (!parsed.ok()) return Fail("create-token", parsed.status().WithPrefix("--ttl"));
    ttl = *parsed;
  }
  auto ctx = OpenAuth(dir);
  if (!ctx.ok()) return Fail("create-token", ctx.status());
  auto token = ctx->users->CreateToken(kActor, user, name, ttl);
  if (!token.ok()) return Fail("create-token", token.status());
  // The token alone on stdout, so scripts can capture it; everything else goes to stderr.
  std::printf("%s\n", token->secret.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "created API token %lld \"%s\" for %s%s\n", static_cast<long long>(token->info.id),
               name.c_str(), user.c_str(),
               token->info.expires == 0 ? " (never expires)"
                                        : (" (expires " + core::FormatTimestamp(token->info.expires) + ")").c_str());
  return 0;
}

int VerifyAudit(const std::string& dir) {
  auto ctx = OpenAuth(dir, /*with_users=*/false);
  if (!ctx.ok()) return Fail("verify-audit", ctx.status());
  auto result = ctx->audit->Verify();
  if (!result.ok()) return Fail("verify-audit", result.status());
  if (!result->ok) {
    // Problems about an entry already start with "entry N: ".
    const std::string where = result->problem.rfind("entry ", 0) == 0
                                  ? std::string()
                                  : "entry " + std::to_string(result->first_bad) + ": ";
    std::printf("audit trail BROKEN: %s%s (%lld entries verified before it)\n", where.c_str(),
                result->problem.c_str(), static_cast<long long>(result->entries));
    return 1;
  }
  std::printf("audit trail intact: %lld entries\n", static_cast<long long>(result->entries));
  return 0;
}

}  // namespace

void AddAdminUserCommands(CLI::App* admin, int* exit_code) {
  struct Args {
    std::string dir, name, role, user, token_name = "api", ttl;
    std::vector<std::string> sites;
  };
  auto args = std::make_shared<Args>();
  // create-user may bootstrap a fresh data directory; the others need an existing one.
  auto data_option = [&args](CLI::App* cmd, bool must_exist = true) {
    CLI::Option* opt = cmd->add_option("--data", args->dir, "Data directory")->required();
    if (must_exist) opt->check(CLI::ExistingDirectory);
  };

  CLI::App* create = admin->add_subcommand("create-user", "Create a user; the password is read from stdin");
  data_option(create, /*must_exist=*/false);
  create->add_option("--name", args->name, "User name")->required();
  create->add_option("--role", args->role, "viewer, operator, engineer or admin")->required();
  create->add_option("--site", args->sites, "Limit the user to this site (repeatable; none = all sites)");
  create->callback([args, exit_code] { *exit_code = CreateUser(args->dir, args->name, args->role, args->sites); });

  CLI::App* set_password = admin->add_subcommand("set-password", "Set a user's password (read from stdin)");
  data_option(set_password);
  set_password->add_option("--name", args->name, "User name")->required();
  set_password->callback([args, exit_code] { *exit_code = SetPassword(args->dir, args->name); });

  CLI::App* unlock = admin->add_subcommand("unlock", "Clear a user's login lockout");
  data_option(unlock);
  unlock->add_option("--name", args->name, "User name")->required();
  unlock->callback([args, exit_code] { *exit_code = Unlock(args->dir, args->name); });

  CLI::App* list = admin->add_subcommand("list-users", "List users, roles, sites and lock state");
  data_option(list);
  list->callback([args, exit_code] { *exit_code = ListUsers(args->dir); });

  CLI::App* token = admin->add_subcommand("create-token", "Create an API token; prints only the token on stdout");
  data_option(token);
  token->add_option("--user", args->user, "The user the token acts as")->required();
  token->add_option("--name", args->token_name, "What the token is for (default \"api\")");
  token->add_option("--ttl", args->ttl, "Lifetime, e.g. 90d (default: never expires)");
  token->callback([args, exit_code] { *exit_code = CreateToken(args->dir, args->user, args->token_name, args->ttl); });

  CLI::App* verify = admin->add_subcommand("verify-audit", "Check the audit trail's hash chain and head file");
  data_option(verify);
  verify->callback([args, exit_code] { *exit_code = VerifyAudit(args->dir); });
}

}  // namespace shopfloor::app
