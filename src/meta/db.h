// meta::Db: a small RAII wrapper over SQLite for Shopfloor's embedded metadata (users,
// tokens, audit trail, the asset model, desired twin state, rules). Time series never go
// here; they live in the storage engine.
//
// The metadata database is one file, `<data dir>/meta.db`, in WAL journal mode with
// synchronous=FULL (metadata changes are rare and must survive power loss), foreign keys on,
// and a busy timeout so the CLI (`shopfloor admin ...`) can work beside a running server.
//
// Each component owns its tables and migrates them with Db::Migrate(component, steps): the
// steps run in order inside one transaction each, and the reached version is recorded per
// component in the table `schema_versions`, so components evolve independently.
//
// Errors: every failure is a core::Status naming the SQL step and SQLite's message.
// Thread safety: a Db may be used from several threads (the connection is serialized by
// SQLite's FULLMUTEX mode); a Statement belongs to one thread at a time. A connection has
// one transaction shared by every thread using it: a statement run by thread B while thread
// A holds a Transaction joins (and rolls back with) A's. So each component opens its own Db
// on the file (SQLite serializes writers across connections, waiting up to the busy
// timeout) and serializes its own writers with a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace shopfloor::meta {

class Statement;

class Db {
 public:
  // Opens (creating if missing) the database file. ":memory:" gives a private in-memory db.
  static core::Result<std::unique_ptr<Db>> Open(const std::string& path);
  // The metadata database of a data directory: `<dir>/meta.db` (dir is created if missing).
  static core::Result<std::unique_ptr<Db>> OpenInDataDir(const std::string& dir);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more SQL statements without parameters.
  core::Status Exec(std::string_view sql);
  core::Result<Statement> Prepare(std::string_view sql);

  // Brings `component` to version steps.size(): runs steps[v..] (each in its own
  // transaction) where v is the recorded version. A database recorded at a version newer
  // than steps.size() is an error (written by a newer Shopfloor).
  core::Status Migrate(std::string_view component, const std::vector<std::string>& steps);

  int64_t LastInsertRowId() const;
  int Changes() const;  // rows changed by the last statement
  const std::string& path() const { return path_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  friend class Statement;
  friend class Transaction;
  sqlite3* db_;
  std::string path_;
};

// A prepared statement. Bind indexes are 1-based (SQLite's), column indexes 0-based.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, std::optional<int64_t> value);

  // Advances: true when a row is available, false when done. Bind errors surface here.
  core::Result<bool> Step();
  // Runs a statement that returns no rows (INSERT/UPDATE/DELETE).
  core::Status Run();
  // Resets for re-execution with new bindings (bindings are cleared).
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;  // "" for NULL
  std::string Blob(int column) const;

 private:
  friend class Db;
  Statement(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  core::Status Error(std::string_view what) const;

  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = 0;  // first SQLite error from a Bind call, reported by Step()
};

// BEGIN IMMEDIATE on construction (takes the write lock at once, so two writers never
// deadlock on upgrade); ROLLBACK in the destructor unless Commit() succeeded.
class Transaction {
 public:
  static core::Result<Transaction> Begin(Db* db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  core::Status Commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
};

}  // namespace shopfloor::meta
