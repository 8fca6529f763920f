#include "connect/opcua/pki.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

namespace shopfloor::connect::opcua {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCertFile = "own/certs/shopfloor.der";
constexpr std::string_view kKeyFile = "own/private/shopfloor.pem";

core::Result<std::string> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Status::NotFound(fmt::format("cannot read {}", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes through a temporary file and a rename, so a crash leaves the old file or the new.
core::Status WriteAtomic(const fs::path& path, std::string_view data, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return core::Status::FromErrno(errno, "creating", tmp.string());
  ::fchmod(fileno(f), mode);
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0 &&
                  ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return core::Status::IOError("writing", tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return core::Status::IOError(fmt::format("renaming to {}: {}", path.string(), ec.message()));
  return core::Status::OK();
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

core::Result<Pki::Entry> Describe(const fs::path& file, bool trusted) {
  SF_ASSIGN_OR_RETURN(std::string der, ReadAll(file));
  auto cert = crypto::Certificate::FromDer(der);
  if (!cert.ok()) return cert.status().WithPrefix(file.string() + ": ");
  Pki::Entry entry;
  entry.file = file.string();
  entry.thumbprint = crypto::Hex((*cert)->thumbprint());
  entry.subject = (*cert)->subject();
  entry.application_uri = (*cert)->application_uri();
  entry.not_after = (*cert)->not_after();
  entry.trusted = trusted;
  return entry;
}

}  // namespace

core::Result<std::unique_ptr<Pki>> Pki::Open(const std::string& dir, core::Timestamp now) {
  if (dir.empty()) return core::Status::InvalidArgument("OPC UA security needs a PKI directory");
  std::error_code ec;
  for (const char* sub : {"own/certs", "own/private", "trusted/certs", "rejected/certs"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return core::Status::IOError(fmt::format("creating {}/{}: {}", dir, sub, ec.message()));
  }
  fs::permissions(fs::path(dir) / "own/private", fs::perms::owner_all, ec);
  // Serialises first use between processes (serve and the CLI may start together), so
  // that no one reads a certificate whose key another process is still writing.
  const std::string lock_path = (fs::path(dir) / "own/.lock").string();
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return core::Status::FromErrno(errno, "opening", lock_path);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{lock_fd};
  if (::flock(lock_fd, LOCK_EX) != 0) return core::Status::FromErrno(errno, "locking", lock_path);
  std::unique_ptr<Pki> pki(new Pki());
  pki->dir_ = dir;
  const fs::path cert_path = fs::path(dir) / kCertFile;
  const fs::path key_path = fs::path(dir) / kKeyFile;
  if (fs::exists(cert_path) && fs::exists(key_path)) {
    SF_ASSIGN_OR_RETURN(std::string der, ReadAll(cert_path));
    SF_ASSIGN_OR_RETURN(std::string pem, ReadAll(key_path));
    auto cert = crypto::Certificate::FromDer(der);
    if (!cert.ok()) return cert.status().WithPrefix(cert_path.string() + ": ");
    auto key = crypto::RsaKey::FromPrivatePem(pem);
    if (!key.ok()) return key.status().WithPrefix(key_path.string() + ": ");
    pki->certificate_ = std::move(*cert);
    pki->key_ = std::move(*key);
    return pki;
  }
  // First use: a 2048-bit key (Basic256Sha256 allows 2048..4096) and a certificate for it.
  SF_ASSIGN_OR_RETURN(pki->key_, crypto::RsaKey::Generate(2048));
  crypto::Certificate::CreateOptions options;
  const std::string host = HostName();
  options.application_uri = fmt::format("urn:{}:shopfloor:opcua-client", host);
  options.common_name = "Shopfloor OPC UA client";
  options.organization = "Shopfloor";
  options.dns_name = host;
  options.valid_days = 3650;
  SF_ASSIGN_OR_RETURN(pki->certificate_, crypto::Certificate::CreateSelfSigned(*pki->key_, options, now));
  SF_RETURN_IF_ERROR(WriteAtomic(key_path, pki->key_->PrivatePem(), 0600));
  SF_RETURN_IF_ERROR(WriteAtomic(cert_path, pki->certificate_->der(), 0644));
  return pki;
}

core::Status Pki::CheckServerCertificate(std::string_view der, core::Timestamp now) const {
  SF_ASSIGN_OR_RETURN(auto cert, crypto::Certificate::FromDer(der));
  const std::string thumbprint = cert->thumbprint();
  const std::string hex = crypto::Hex(thumbprint);
  bool trusted = false;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "trusted/certs", ec)) {
    if (!entry.is_regular_file()) continue;
    auto bytes = ReadAll(entry.path());
    if (!bytes.ok()) continue;
    auto candidate = crypto::Certificate::FromDer(*bytes);
    if (candidate.ok() && (*candidate)->thumbprint() == thumbprint) {
      trusted = true;
      break;
    }
  }
  if (!trusted) {
    const fs::path rejected = fs::path(dir_) / "rejected/certs" / (hex + ".der");
    if (!fs::exists(rejected)) WriteAtomic(rejected, cert->der(), 0644).IgnoreError();
    return core::Status::PermissionDenied(fmt::format(
        "the server certificate \"{}\" (SHA-1 {}) is not trusted; it was saved as {} - trust it with "
        "`shopfloor opcua trust --pki {} {}` if it is the server's",
        cert->subject(), hex, rejected.string(), dir_, hex.substr(0, 16)));
  }
  if (now < cert->not_before() || now > cert->not_after()) {
    return core::Status::PermissionDenied(
        fmt::format("the server certificate \"{}\" (SHA-1 {}) is valid from {} to {}, not now", cert->subject(), hex,
                    core::FormatTimestamp(cert->not_before()), core::FormatTimestamp(cert->not_after())));
  }
  return core::Status::OK();
}

core::Result<std::vector<Pki::Entry>> Pki::List(const std::string& dir) {
  std::vector<Entry> entries;
  for (const auto& [sub, trusted] : {std::pair{"trusted/certs", true}, std::pair{"rejected/certs", false}}) {
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(fs::path(dir) / sub, ec)) {
      if (!file.is_regular_file() || file.path().extension() != ".der") continue;
      auto entry = Describe(file.path(), trusted);
      if (entry.ok()) entries.push_back(std::move(*entry));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(b.trusted, a.file) < std::tie(a.trusted, b.file);
  });
  return entries;
}

core::Result<Pki::Entry> Pki::Trust(const std::string& dir, const std::string& thumbprint_or_file) {
  const fs::path trusted_dir = fs::path(dir) / "trusted/certs";
  std::error_code ec;
  fs::create_directories(trusted_dir, ec);
  if (ec) return core::Status::IOError(fmt::format("creating {}: {}", trusted_dir.string(), ec.message()));
  fs::path source;
  if (fs::is_regular_file(thumbprint_or_file)) {
    source = thumbprint_or_file;
  } else {
    std::string prefix = thumbprint_or_file;
    std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
    if (prefix.size() < 8 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return core::Status::InvalidArgument(fmt::format(
          "\"{}\" is neither a certificate file nor a thumbprint (at least 8 hex digits)", thumbprint_or_file));
    }
    std::vector<fs::path> matches;
    for (const auto& file : fs::directory_iterator(fs::path(dir) / "rejected/certs", ec)) {
      if (file.path().filename().string().starts_with(prefix)) matches.push_back(file.path());
    }
    if (matches.empty()) {
      return core::Status::NotFound(
          fmt::format("no rejected certificate in {}/rejected/certs starts with {}", dir, prefix));
    }
    if (matches.size() > 1) {
      return core::Status::InvalidArgument(fmt::format("{} rejected certificates start with {}; give more digits",
                                                       matches.size(), prefix));
    }
    source = matches[0];
  }
  SF_ASSIGN_OR_RETURN(Entry entry, Describe(source, true));
  SF_ASSIGN_OR_RETURN(std::string der, ReadAll(source));
  SF_ASSIGN_OR_RETURN(auto cert, crypto::Certificate::FromDer(der));
  const fs::path target = trusted_dir / (entry.thumbprint + ".der");
  SF_RETURN_IF_ERROR(WriteAtomic(target, cert->der(), 0644));
  if (source.parent_path() == fs::path(dir) / "rejected/certs") fs::remove(source, ec);
  entry.file = target.string();
  return entry;
}

}  // namespace shopfloor::connect::opcua
