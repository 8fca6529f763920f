// AuditLog over SQLite: append-only table, hash chain, head file.
#include <mutex>

#include <fmt/format.h>

#include "auth/audit.h"
#include "auth/audit_head.h"
#include "auth/crypto.h"
#include "meta/db.h"

namespace shopfloor::auth {

using core::Result;
using core::Status;

namespace {

const std::vector<std::string> kAuditMigrations = {
    R"sql(
CREATE TABLE audit_log(
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  old_value TEXT NOT NULL,
  new_value TEXT NOT NULL,
  result TEXT NOT NULL,
  remote TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END;
)sql"};

constexpr std::string_view kColumns = "seq, ts, actor, action, target, old_value, new_value, result, remote, hash";
const std::string kZeroHash(64, '0');

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutField(std::string* out, std::string_view field) {
  PutU64(out, field.size());
  out->append(field);
}

// See the header: every field, fixed-width or length-prefixed, so distinct entries never
// encode alike.
std::string CanonicalEncoding(const AuditEntry& e) {
  std::string out = "shopfloor-audit-v1";
  PutU64(&out, static_cast<uint64_t>(e.seq));
  PutU64(&out, static_cast<uint64_t>(e.ts));
  for (const std::string* field : {&e.actor, &e.action, &e.target, &e.old_value, &e.new_value, &e.result, &e.remote}) {
    PutField(&out, *field);
  }
  return out;
}

// hash = SHA-256(prev_hash bytes || canonical encoding), hex. False if prev_hex is not hex.
bool ChainHash(std::string_view prev_hex, const AuditEntry& e, std::string* out) {
  std::string prev;
  if (prev_hex.size() != 64 || !HexDecode(prev_hex, &prev)) return false;
  *out = HexEncode(Sha256(prev + CanonicalEncoding(e)));
  return true;
}

AuditEntry ReadEntry(const meta::Statement& q) {
  AuditEntry e;
  e.seq = q.Int(0);
  e.ts = q.Int(1);
  e.actor = q.Text(2);
  e.action = q.Text(3);
  e.target = q.Text(4);
  e.old_value = q.Text(5);
  e.new_value = q.Text(6);
  e.result = q.Text(7);
  e.remote = q.Text(8);
  e.hash = q.Text(9);
  return e;
}

class AuditLogImpl final : public AuditLog {
 public:
  AuditLogImpl(std::unique_ptr<meta::Db> own, meta::Db* db, core::Clock* clock, std::string head_path, core::Env* env)
      : own_db_(std::move(own)), db_(db), clock_(clock), head_path_(std::move(head_path)), env_(env) {}

  Result<AuditEntry> Append(AuditEntry entry) override;
  Result<std::vector<AuditEntry>> Query(const AuditQuery& query) const override;
  Result<AuditVerifyResult> Verify() const override;

 private:
  struct Newest {
    int64_t seq = 0;
    std::string hash = kZeroHash;
  };
  Result<Newest> ReadNewest() const;
  // Checks the head file against the table's newest entry; fills *result on a problem.
  Status CheckHead(const Newest& newest, AuditVerifyResult* result) const;
  Result<std::string> HashAt(int64_t seq) const;

  std::unique_ptr<meta::Db> own_db_;  // our own connection when the db is a file
  meta::Db* db_;
  core::Clock* clock_;
  const std::string head_path_;
  core::Env* env_;
  std::mutex append_mutex_;  // serializes appends in this process (SQLite does across processes)
};

Result<AuditLogImpl::Newest> AuditLogImpl::ReadNewest() const {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  Newest newest;
  if (row) {
    newest.seq = q.Int(0);
    newest.hash = q.Text(1);
  }
  return newest;
}

Result<std::string> AuditLogImpl::HashAt(int64_t seq) const {
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare("SELECT hash FROM audit_log WHERE seq=?1"));
  q.Bind(1, seq);
  SF_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::string();
  return q.Text(0);
}

Result<AuditEntry> AuditLogImpl::Append(AuditEntry entry) {
  SF_RETURN_IF_ERROR(EnsureSodium());
  std::lock_guard<std::mutex> lock(append_mutex_);
  if (entry.ts == 0) entry.ts = clock_->Now();
  // The write lock is taken first, so the newest entry read here is the newest for every
  // process, and the head file is rewritten by one writer at a time.
  SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
  SF_ASSIGN_OR_RETURN(Newest prev, ReadNewest());
  entry.seq = prev.seq + 1;
  if (!ChainHash(prev.hash, entry, &entry.hash)) {
    return Status::Corruption(fmt::format("audit trail: entry {} has a malformed hash", prev.seq), db_->path(), 0);
  }
  SF_ASSIGN_OR_RETURN(meta::Statement ins,
                      db_->Prepare("INSERT INTO audit_log(seq, ts, actor, action, target, old_value, new_value, "
                                   "result, remote, prev_hash, hash) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"));
  ins.Bind(1, entry.seq).Bind(2, entry.ts).Bind(3, entry.actor).Bind(4, entry.action).Bind(5, entry.target);
  ins.Bind(6, entry.old_value).Bind(7, entry.new_value).Bind(8, entry.result).Bind(9, entry.remote);
  ins.Bind(10, prev.hash).Bind(11, entry.hash);
  SF_RETURN_IF_ERROR(ins.Run());
  // The head is written before COMMIT: it never lags a committed entry. If COMMIT then
  // fails, the head is put back so it does not claim an entry that was never stored.
  if (!head_path_.empty()) {
    Status s = env_->WriteFileAtomic(head_path_, FormatAuditHead({entry.seq, entry.hash}));
    if (!s.ok()) return s.WithPrefix("audit trail");
  }
  Status s = txn.Commit();
  if (!s.ok()) {
    if (!head_path_.empty()) {
      if (prev.seq == 0) {
        env_->RemoveFile(head_path_).IgnoreError();
      } else {
        env_->WriteFileAtomic(head_path_, FormatAuditHead({prev.seq, prev.hash})).IgnoreError();
      }
    }
    return s.WithPrefix("audit trail");
  }
  return entry;
}

Result<std::vector<AuditEntry>> AuditLogImpl::Query(const AuditQuery& query) const {
  std::string sql = fmt::format(
      "SELECT {} FROM audit_log WHERE seq > ?1 AND ts >= ?2 AND (?3 = 0 OR ts < ?3) AND (?4 = '' OR actor = ?4) "
      "AND substr(action, 1, length(?5)) = ?5 AND substr(target, 1, length(?6)) = ?6 ORDER BY seq LIMIT ?7",
      kColumns);
  SF_ASSIGN_OR_RETURN(meta::Statement q, db_->Prepare(sql));
  const int64_t limit = static_cast<int64_t>(std::min<size_t>(query.limit, 100000));
  q.Bind(1, query.after_seq).Bind(2, query.from).Bind(3, query.to).Bind(4, query.actor);
  q.Bind(5, query.action).Bind(6, query.target).Bind(7, limit);
  std::vector<AuditEntry> out;
  while (true) {
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadEntry(q));
  }
  return out;
}

Status AuditLogImpl::CheckHead(const Newest& newest, AuditVerifyResult* result) const {
  if (head_path_.empty()) return Status::OK();
  if (!env_->FileExists(head_path_)) {
    if (newest.seq == 0) return Status::OK();
    result->ok = false;
    result->first_bad = newest.seq;
    result->problem = fmt::format("head file {} is missing although the table holds {} entries (deleted?)",
                                  head_path_, newest.seq);
    return Status::OK();
  }
  SF_ASSIGN_OR_RETURN(std::string text, env_->ReadFileToString(head_path_));
  Result<AuditHead> head = ParseAuditHead(text, head_path_);
  if (!head.ok()) {
    result->ok = false;
    result->first_bad = newest.seq;
    result->problem = head.status().ToString();
    return Status::OK();
  }
  if (head->seq > newest.seq) {
    result->ok = false;
    result->first_bad = newest.seq + 1;
    result->problem = fmt::format(
        "entry {}: missing: the head file records {} entries but the table ends at {} (the tail was deleted)",
        newest.seq + 1, head->seq, newest.seq);
    return Status::OK();
  }
  // A head behind the table is a concurrent append seen half-way; it must still name an
  // entry of the chain.
  SF_ASSIGN_OR_RETURN(std::string hash, HashAt(head->seq));
  if (hash != head->hash) {
    result->ok = false;
    result->first_bad = head->seq;
    result->problem = fmt::format("entry {}: hash differs from the one recorded in the head file {}", head->seq,
                                  head_path_);
  }
  return Status::OK();
}

Result<AuditVerifyResult> AuditLogImpl::Verify() const {
  AuditVerifyResult result;
  SF_ASSIGN_OR_RETURN(meta::Statement q,
                      db_->Prepare(fmt::format("SELECT {}, prev_hash FROM audit_log ORDER BY seq", kColumns)));
  Newest newest;
  auto fail = [&result](int64_t seq, std::string problem) {
    result.ok = false;
    result.first_bad = seq;
    result.problem = fmt::format("entry {}: {}", seq, problem);
    return result;
  };
  while (true) {
    SF_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    const AuditEntry e = ReadEntry(q);
    const std::string prev_hash = q.Text(10);
    if (e.seq != newest.seq + 1) {
      if (e.seq <= newest.seq) return fail(e.seq, "sequence number out of order");
      return fail(newest.seq + 1, fmt::format("missing (the sequence jumps from {} to {})", newest.seq, e.seq));
    }
    std::string expected;
    if (!ChainHash(prev_hash, e, &expected)) return fail(e.seq, "malformed prev_hash");
    if (expected != e.hash) return fail(e.seq, "hash mismatch (content changed)");
    if (prev_hash != newest.hash) {
      return fail(e.seq, fmt::format("chain broken: prev_hash does not match the hash of entry {} (entry {} was "
                                     "rewritten or replaced)",
                                     newest.seq, newest.seq));
    }
    ++result.entries;
    newest.seq = e.seq;
    newest.hash = e.hash;
  }
  SF_RETURN_IF_ERROR(CheckHead(newest, &result));
  if (!result.ok && newest.seq < result.first_bad) {
    // The head may be ahead because an append in another process is between writing the
    // head and COMMIT. Wait for that writer (the write lock), then look again.
    AuditVerifyResult again = result;
    again.ok = true;
    {
      SF_ASSIGN_OR_RETURN(meta::Transaction txn, meta::Transaction::Begin(db_));
      SF_ASSIGN_OR_RETURN(Newest now, ReadNewest());
      if (now.seq == newest.seq) SF_RETURN_IF_ERROR(CheckHead(newest, &again));
      SF_RETURN_IF_ERROR(txn.Commit());
      if (now.seq > newest.seq) return Verify();  // the table grew: walk it again
    }
    return again;
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(meta::Db* db, core::Clock* clock, std::string head_path,
                                                 core::Env* env) {
  SF_RETURN_IF_ERROR(EnsureSodium());
  SF_RETURN_IF_ERROR(db->Migrate("audit", kAuditMigrations));
  std::unique_ptr<meta::Db> own;
  meta::Db* use = db;
  if (db->path() != ":memory:" && !db->path().empty()) {
    SF_ASSIGN_OR_RETURN(own, meta::Db::Open(db->path()));
    use = own.get();
  }
  if (env == nullptr) env = core::Env::Posix();
  return std::unique_ptr<AuditLog>(new AuditLogImpl(std::move(own), use, clock, std::move(head_path), env));
}

}  // namespace shopfloor::auth
