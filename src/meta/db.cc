#include "meta/db.h"

#include <sqlite3.h>

#include <filesystem>

#include <fmt/format.h>

namespace shopfloor::meta {

using core::Result;
using core::Status;

namespace {

Status SqliteError(sqlite3* db, std::string_view what, int rc) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = fmt::format("metadata database: {}: {}", what, message);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Unavailable(text);
  if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists(text);
  if (rc == SQLITE_FULL) return Status::NoSpace(text);
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Status::Corruption(text, "meta.db", 0);
  return Status::IOError(text);
}

std::string_view FirstWords(std::string_view sql) {
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
  return sql.substr(0, std::min<size_t>(sql.size(), 60));
}

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(raw, fmt::format("opening {}", path), rc);
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 0);
  SF_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
  if (path != ":memory:") {
    // journal_mode returns a row; Exec ignores rows.
    SF_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL;"));
  }
  SF_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS schema_versions(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"));
  return db;
}

Result<std::unique_ptr<Db>> Db::OpenInDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("creating data directory {}: {}", dir, ec.message()));
  return Open((std::filesystem::path(dir) / "meta.db").string());
}

Db::~Db() { sqlite3_close_v2(db_); }

Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = SqliteError(nullptr, FirstWords(sql), rc);
    return Status(s.code(), fmt::format("metadata database: {}: {}", FirstWords(sql), message));
  }
  return Status::OK();
}

Result<Statement> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, fmt::format("preparing \"{}\"", FirstWords(sql)), rc);
  return Statement(this, stmt);
}

Status Db::Migrate(std::string_view component, const std::vector<std::string>& steps) {
  int64_t version = 0;
  {
    SF_ASSIGN_OR_RETURN(Statement q, Prepare("SELECT version FROM schema_versions WHERE component=?1"));
    q.Bind(1, component);
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) version = q.Int(0);
  }
  if (version > static_cast<int64_t>(steps.size())) {
    return Status::Unimplemented(
        fmt::format("metadata database {}: component \"{}\" is at schema version {}, newer than this "
                    "Shopfloor knows ({}); use a newer Shopfloor",
                    path_, component, version, steps.size()));
  }
  for (size_t v = static_cast<size_t>(version); v < steps.size(); ++v) {
    SF_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(this));
    SF_RETURN_IF_ERROR(Exec(steps[v]));
    SF_ASSIGN_OR_RETURN(Statement up, Prepare("INSERT INTO schema_versions(component, version) VALUES(?1, ?2) "
                                              "ON CONFLICT(component) DO UPDATE SET version=excluded.version"));
    up.Bind(1, component).Bind(2, static_cast<int64_t>(v + 1));
    SF_RETURN_IF_ERROR(up.Run());
    SF_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::OK();
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_error_(other.bind_error_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    bind_error_ = other.bind_error_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

#define SF_SQLITE_BIND(call)                      \
  do {                                            \
    int rc_ = (call);                             \
    if (rc_ != SQLITE_OK && bind_error_ == 0) bind_error_ = rc_; \
  } while (0)

Statement& Statement::Bind(int index, int64_t value) {
  SF_SQLITE_BIND(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  SF_SQLITE_BIND(sqlite3_bind_double(stmt_, index, value));
  return *this;
}
Statement& Statement::Bind(int index, std::string_view text) {
  // An empty view may have a null data(): SQLite would bind NULL, not "".
  const char* data = text.data() != nullptr ? text.data() : "";
  SF_SQLITE_BIND(sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT));
  return *this;
}
Statement& Statement::BindBlob(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  SF_SQLITE_BIND(sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
  return *this;
}
Statement& Statement::BindNull(int index) {
  SF_SQLITE_BIND(sqlite3_bind_null(stmt_, index));
  return *this;
}
Statement& Statement::Bind(int index, std::optional<int64_t> value) {
  return value ? Bind(index, *value) : BindNull(index);
}

#undef SF_SQLITE_BIND

Status Statement::Error(std::string_view what) const {
  return SqliteError(db_->db_, fmt::format("{} \"{}\"", what, FirstWords(sqlite3_sql(stmt_))),
                     sqlite3_errcode(db_->db_));
}

Result<bool> Statement::Step() {
  if (bind_error_ != 0) {
    return SqliteError(nullptr, fmt::format("binding parameters of \"{}\"", FirstWords(sqlite3_sql(stmt_))),
                       bind_error_);
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = Error("running");
  sqlite3_reset(stmt_);
  return s;
}

Status Statement::Run() {
  SF_ASSIGN_OR_RETURN(bool row, Step());
  (void)row;
  sqlite3_reset(stmt_);
  return Status::OK();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

bool Statement::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Statement::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}
std::string Statement::Blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- Transaction ----

Result<Transaction> Transaction::Begin(Db* db) {
  SF_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Db* db = db_;
  Status s = db->Exec("COMMIT");
  if (s.ok()) db_ = nullptr;
  return s;
}

}  // namespace shopfloor::meta
