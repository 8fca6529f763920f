// The cryptographic primitives of SecurityPolicy Basic256Sha256 (Part 7; Part 6, 6.7), on
// OpenSSL 3:
//   asymmetric signature   RSA PKCS#1 v1.5 with SHA-256
//   asymmetric encryption  RSA-OAEP (SHA-1, MGF1-SHA-1), block by block
//   symmetric signature    HMAC-SHA-256 (32-byte keys)
//   symmetric encryption   AES-256-CBC without padding (the chunk layer pads)
//   key derivation         P_SHA256 (RFC 5246, 5)
// and X.509 handling: parse a DER certificate (the first of a chain), its SHA-1 thumbprint,
// subject, validity and ApplicationUri (the URI in subjectAltName), and create the
// self-signed application instance certificate a client needs (Part 6, 6.2.2).
//
// All byte strings are std::string. Every failure is a Status naming what failed, with the
// OpenSSL reason where there is one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::connect::opcua::crypto {

std::string RandomBytes(size_t n);
std::string Sha1(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
// P_SHA256(secret, seed) truncated to `length` bytes.
std::string PSha256(std::string_view secret, std::string_view seed, size_t length);
// AES-256-CBC, no padding: `data` must be a multiple of 16 bytes; the key is 32, the IV 16.
core::Result<std::string> Aes256CbcEncrypt(std::string_view key, std::string_view iv, std::string_view data);
core::Result<std::string> Aes256CbcDecrypt(std::string_view key, std::string_view iv, std::string_view data);
// Compares in time independent of where the inputs differ (for MACs).
bool ConstantTimeEqual(std::string_view a, std::string_view b);
// Lower-case hex.
std::string Hex(std::string_view bytes);

// An RSA key: public only (from a certificate) or a key pair.
class RsaKey {
 public:
  ~RsaKey();
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;

  static core::Result<std::unique_ptr<RsaKey>> Generate(int bits);
  static core::Result<std::unique_ptr<RsaKey>> FromPrivatePem(std::string_view pem);
  std::string PrivatePem() const;

  size_t size_bytes() const;  // modulus length: the signature and cipher block size
  // Plain text per RSA-OAEP (SHA-1) block: size_bytes() - 42.
  size_t oaep_plain_block() const { return size_bytes() - 42; }

  core::Result<std::string> SignSha256(std::string_view data) const;  // needs the private key
  core::Status VerifySha256(std::string_view data, std::string_view signature) const;
  // Splits `data` into oaep_plain_block() pieces, each encrypted to size_bytes().
  core::Result<std::string> OaepEncrypt(std::string_view data) const;
  // The inverse; `data` must be a whole number of size_bytes() blocks.
  core::Result<std::string> OaepDecrypt(std::string_view data) const;

 private:
  friend class Certificate;
  explicit RsaKey(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*
};

class Certificate {
 public:
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  // Parses the first certificate of `der` (a ByteString may hold a chain).
  static core::Result<std::unique_ptr<Certificate>> FromDer(std::string_view der);

  struct CreateOptions {
    std::string application_uri;  // the subjectAltName URI
    std::string common_name;
    std::string organization;
    std::string dns_name;         // a subjectAltName DNS entry, optional
    int valid_days = 3650;
  };
  // A self-signed, SHA-256-signed application instance certificate for `key` (RSA,
  // key usages digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment;
  // extended usages client and server authentication; CA:FALSE).
  static core::Result<std::unique_ptr<Certificate>> CreateSelfSigned(const RsaKey& key, const CreateOptions& options,
                                                                     core::Timestamp now);

  const std::string& der() const { return der_; }  // this certificate alone
  std::string thumbprint() const { return Sha1(der_); }
  std::string subject() const;  // "CN=..., O=..."
  std::string application_uri() const;  // the first URI in subjectAltName, or ""
  core::Timestamp not_before() const;
  core::Timestamp not_after() const;
  core::Result<std::unique_ptr<RsaKey>> PublicKey() const;

 private:
  explicit Certificate(void* x509, std::string der) : x509_(x509), der_(std::move(der)) {}
  void* x509_;  // X509*
  std::string der_;
};

}  // namespace shopfloor::connect::opcua::crypto
