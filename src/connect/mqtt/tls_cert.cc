#include "connect/mqtt/tls_cert.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace shopfloor::connect::mqtt {

namespace fs = std::filesystem;

namespace {

constexpr int kValidDays = 3650;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

core::Status OpenSslFailure(const std::string& what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return core::Status::Internal(fmt::format("mqtt TLS certificate: {}: {}", what, reason ? reason : "failed"));
}

bool IsIp(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Writes through a temporary file of `mode` and a rename, so the file is never readable by
// others and a crash leaves the old file or the new one.
core::Status WriteFile(const fs::path& path, const std::string& data, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  std::remove(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  FILE* f = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
  if (f == nullptr) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    return core::Status::FromErrno(err, "creating", tmp.string());
  }
  const bool ok = ::fchmod(fileno(f), mode) == 0 && std::fwrite(data.data(), 1, data.size(), f) == data.size() &&
                  std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return core::Status::IOError("writing", tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return core::Status::IOError(fmt::format("renaming {} to {}: {}", tmp.string(), path.string(), ec.message()));
  return core::Status::OK();
}

std::string SubjectAltNames(const std::vector<std::string>& names) {
  std::vector<std::string> entries;
  for (const std::string& name : names) {
    if (name.empty() || name == "0.0.0.0" || name == "::") continue;
    // Names go into an OpenSSL configuration value: refuse what could change its meaning.
    if (name.find_first_of(",:=\n\r") != std::string::npos && !IsIp(name)) continue;
    std::string entry = (IsIp(name) ? "IP:" : "DNS:") + name;
    if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(std::move(entry));
  }
  std::string san;
  for (const std::string& e : entries) san += (san.empty() ? "" : ",") + e;
  return san;
}

core::Result<std::string> MakeCertificate(EVP_PKEY* key, const std::vector<std::string>& names, core::Timestamp now) {
  Ptr<X509> x(X509_new());
  if (!x) return OpenSslFailure("X509_new");
  X509_set_version(x.get(), 2);  // v3
  Ptr<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())) == nullptr) {
    return OpenSslFailure("serial number");
  }
  const time_t t = static_cast<time_t>(now / 1'000'000'000);
  ASN1_TIME_adj(X509_getm_notBefore(x.get()), t, -1, 0);
  ASN1_TIME_adj(X509_getm_notAfter(x.get()), t, kValidDays, 0);
  X509_NAME* subject = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Shopfloor"), -1, -1, 0);
  const std::string cn = names.empty() ? std::string("Shopfloor MQTT") : "Shopfloor MQTT " + names.front();
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x.get(), subject);
  if (X509_set_pubkey(x.get(), key) != 1) return OpenSslFailure("setting the public key");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
  };
  if (const std::string san = SubjectAltNames(names); !san.empty()) extensions.push_back({NID_subject_alt_name, san});
  for (const auto& [nid, value] : extensions) {
    Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
      return OpenSslFailure(fmt::format("extension {}={}", OBJ_nid2sn(nid), value));
    }
  }
  if (X509_sign(x.get(), key, EVP_sha256()) == 0) return OpenSslFailure("signing");
  Ptr<BIO> out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), x.get()) != 1) return OpenSslFailure("PEM encoding the certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

core::Result<SelfSignedCertificate> EnsureSelfSignedCertificate(const std::string& dir,
                                                                const std::vector<std::string>& names,
                                                                core::Timestamp now) {
  SelfSignedCertificate files;
  files.cert_file = (fs::path(dir) / "server.crt").string();
  files.key_file = (fs::path(dir) / "server.key").string();
  std::error_code ec;
  if (fs::exists(files.cert_file, ec) && fs::exists(files.key_file, ec)) return files;
  fs::create_directories(dir, ec);
  if (ec) return core::Status::IOError(fmt::format("creating {}: {}", dir, ec.message()));
  fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec) return core::Status::IOError(fmt::format("restricting {} to its owner: {}", dir, ec.message()));

  ERR_clear_error();
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslFailure("generating an EC P-256 key");
  Ptr<BIO> key_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure("PEM encoding the key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(key_pem.get(), &data);
  SF_ASSIGN_OR_RETURN(std::string cert_pem, MakeCertificate(key.get(), names, now));
  // The key first: a certificate on disk always has its key.
  SF_RETURN_IF_ERROR(WriteFile(files.key_file, std::string(data, static_cast<size_t>(n)), 0600));
  SF_RETURN_IF_ERROR(WriteFile(files.cert_file, cert_pem, 0644));
  files.created = true;
  return files;
}

core::Result<std::string> CertificateSha256Fingerprint(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "rb");
  if (f == nullptr) return core::Status::FromErrno(errno, "opening the certificate", cert_file);
  ERR_clear_error();
  Ptr<X509> x(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!x) {
    ERR_clear_error();
    return core::Status::InvalidArgument(fmt::format("{}: no PEM certificate in the file", cert_file));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(x.get(), EVP_sha256(), md, &len) != 1) return OpenSslFailure("SHA-256 of " + cert_file);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{}{:02X}", i == 0 ? "" : ":", md[i]);
  return hex;
}

}  // namespace shopfloor::connect::mqtt
