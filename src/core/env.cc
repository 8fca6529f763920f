// Env helpers built only on the Env primitives, plus the lexical path helpers.
#include "core/env.h"

#include <utility>

namespace shopfloor::core {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

Result<std::string> Env::ReadFileToString(const std::string& path) {
  SF_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, NewSequentialFile(path));
  std::string out;
  std::string scratch(kReadChunk, '\0');
  while (true) {
    SF_ASSIGN_OR_RETURN(std::string_view chunk, file->Read(scratch.size(), scratch.data()));
    if (chunk.empty()) break;
    out.append(chunk);
  }
  return out;
}

Status Env::WriteFileAtomic(const std::string& path, std::string_view data) {
  // The temp file lives in the target's directory so the rename never crosses a file
  // system; a leftover ".tmp" after a crash is harmless and overwritten next time.
  const std::string tmp = path + ".tmp";
  Status s = [&]() -> Status {
    SF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, NewWritableFile(tmp));
    SF_RETURN_IF_ERROR(file->Append(data));
    SF_RETURN_IF_ERROR(file->Sync());
    SF_RETURN_IF_ERROR(file->Close());
    return RenameFile(tmp, path);
  }();
  if (!s.ok()) {
    if (FileExists(tmp)) RemoveFile(tmp).IgnoreError();  // best effort; s is the real error
    return s.WithPrefix("writing " + path + " atomically");
  }
  s = SyncDir(DirName(path));
  if (!s.ok()) return s.WithPrefix("syncing directory of " + path);
  return Status::OK();
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string DirName(std::string_view path) {
  // Trailing slashes do not name a component: "a/b/" has parent "a".
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view parent = path.substr(0, slash);
  while (parent.size() > 1 && parent.back() == '/') parent.remove_suffix(1);
  if (parent.empty()) return "/";
  return std::string(parent);
}

std::string NormalizePath(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);  // "../x" stays relative to the parent; "/.." is "/"
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = absolute ? "/" : "";
  for (size_t part_idx = 0; part_idx < parts.size(); ++part_idx) {
    if (part_idx > 0) out += '/';
    out += parts[part_idx];
  }
  // Not `out = "."`: g++ 12 -O3 reports a false -Wrestrict on that assignment (GCC PR105329).
  if (out.empty()) return std::string(".");
  return out;
}

}  // namespace shopfloor::core
