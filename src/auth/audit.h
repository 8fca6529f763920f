// AuditLog: the append-only, hash-chained record of who changed what.
//
// Every entry records who (actor), when (UTC, from the Clock), what (action and target),
// the old and new value (JSON text, secrets never included), the result ("ok" or the error
// message) and the client address. Entries are chained: hash = SHA-256(prev_hash || the
// entry's canonical encoding), so editing, deleting or reordering any entry breaks every
// later hash. SQLite triggers refuse UPDATE and DELETE on the table; the chain catches what
// bypasses them (a hand-edited file). The newest (seq, hash) is also kept in
// `<data dir>/audit.head`, written atomically on every append, so truncating the tail is
// detected too.
//
// Canonical encoding (what is hashed): the ASCII tag "shopfloor-audit-v1", then seq and ts as
// 8-byte little-endian integers, then actor, action, target, old_value, new_value, result
// and remote, each as an 8-byte little-endian length followed by its bytes. The first
// entry's prev_hash is 32 zero bytes. Stored hashes are lower-case hex.
//
// Storage: table `audit_log` in the metadata database (component "audit"). When the
// database is a file, the log opens its own connection to it, so its transactions never
// mix with other users of the shared Db; several processes (server and `shopfloor admin`)
// may append: an append reads the newest entry, inserts and rewrites the head file inside
// one write transaction.
//
// Thread safety: thread-safe; appends are serialized.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace shopfloor::meta {
class Db;
}

namespace shopfloor::auth {

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3, ... assigned by Append
  core::Timestamp ts = 0;
  std::string actor;   // user name, "cli", "config:<file>", "rule:<name>", "device:<id>"
  std::string action;  // dotted verb, e.g. "user.create", "login", "twin.desired", "asset.update"
  std::string target;  // what it acted on, e.g. a user name or an asset path
  std::string old_value;  // JSON text or ""
  std::string new_value;  // JSON text or ""
  std::string result = "ok";
  std::string remote;  // client address or ""
  std::string hash;    // hex SHA-256, set by Append
};

struct AuditQuery {
  core::Timestamp from = 0;
  core::Timestamp to = 0;  // 0 = no upper bound
  std::string actor;       // exact, "" = any
  std::string action;      // prefix, "" = any ("user." matches user.create, user.delete, ...)
  std::string target;      // prefix, "" = any
  int64_t after_seq = 0;   // paging: entries with seq > after_seq
  size_t limit = 1000;
};

struct AuditVerifyResult {
  bool ok = true;
  int64_t entries = 0;     // entries checked
  int64_t first_bad = 0;   // seq of the first entry whose hash or link does not hold
  std::string problem;     // human-readable, e.g. "entry 17: hash mismatch (content changed)"
};

class AuditLog {
 public:
  // head_path: the file holding the newest (seq, hash); "" disables the tail check (tests).
  // env writes the head file (nullptr = core::Env::Posix()). db, clock, env are not owned.
  static core::Result<std::unique_ptr<AuditLog>> Open(meta::Db* db, core::Clock* clock, std::string head_path,
                                                      core::Env* env = nullptr);
  virtual ~AuditLog() = default;

  // Stamps ts (when 0), seq and hash, stores the entry durably, and returns it.
  virtual core::Result<AuditEntry> Append(AuditEntry entry) = 0;
  virtual core::Result<std::vector<AuditEntry>> Query(const AuditQuery& query) const = 0;
  // Walks the whole chain: seq must run 1, 2, 3, ...; each entry's stored prev_hash must be
  // the previous entry's hash; each hash must match its recomputation; the head file (when
  // configured) must name an entry that exists with the same hash (a missing head file
  // while entries exist is reported too). Stops at the first problem. An error Status only
  // when the database cannot be read.
  virtual core::Result<AuditVerifyResult> Verify() const = 0;
};

}  // namespace shopfloor::auth
