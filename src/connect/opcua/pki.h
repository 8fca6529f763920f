// The client's certificate store (the layout OPC UA tools share, Part 12 style):
//
//   <dir>/own/certs/shopfloor.der       this application's instance certificate
//   <dir>/own/private/shopfloor.pem     its RSA-2048 private key (mode 0600)
//   <dir>/trusted/certs/*.der           server certificates we accept
//   <dir>/rejected/certs/<sha1>.der     server certificates we refused, kept so an engineer
//                                       can inspect one and trust it
//
// Open() creates the directories, and the certificate and key on first use (self-signed,
// ApplicationUri urn:<hostname>:shopfloor:opcua-client), under a lock file (own/.lock) so
// that two processes starting together end up with one certificate and its key. A server certificate is accepted
// only when the same certificate (by SHA-1 thumbprint) is in trusted/ and it is within its
// validity period; anything else is refused with a message that says how to trust it.
// Trust() moves a rejected certificate to trusted/ (or copies a file there).
//
// Thread-safe after Open (the store is read-only but for the rejected/ copies).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connect/opcua/crypto.h"
#include "core/status.h"
#include "core/types.h"

namespace shopfloor::connect::opcua {

class Pki {
 public:
  static core::Result<std::unique_ptr<Pki>> Open(const std::string& dir, core::Timestamp now);

  const crypto::Certificate& certificate() const { return *certificate_; }
  const crypto::RsaKey& key() const { return *key_; }
  std::string application_uri() const { return certificate_->application_uri(); }
  const std::string& dir() const { return dir_; }

  // OK when `der` (a chain: its first certificate counts) is trusted and valid at `now`.
  // An unknown certificate is saved under rejected/ and refused with kPermissionDenied.
  core::Status CheckServerCertificate(std::string_view der, core::Timestamp now) const;

  struct Entry {
    std::string file;
    std::string thumbprint;  // hex SHA-1
    std::string subject;
    std::string application_uri;
    core::Timestamp not_after = 0;
    bool trusted = false;
  };
  // The trusted and rejected certificates.
  static core::Result<std::vector<Entry>> List(const std::string& dir);
  // Trusts a rejected certificate named by (a prefix of at least 8 hex digits of) its
  // thumbprint, or a DER certificate file. Returns what was trusted.
  static core::Result<Entry> Trust(const std::string& dir, const std::string& thumbprint_or_file);

 private:
  Pki() = default;
  std::string dir_;
  std::unique_ptr<crypto::Certificate> certificate_;
  std::unique_ptr<crypto::RsaKey> key_;
};

}  // namespace shopfloor::connect::opcua
