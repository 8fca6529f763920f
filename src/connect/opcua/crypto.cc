#include "connect/opcua/crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include <fmt/format.h>

namespace shopfloor::connect::opcua::crypto {

namespace {

EVP_PKEY* Pkey(void* p) { return static_cast<EVP_PKEY*>(p); }
X509* X(void* p) { return static_cast<X509*>(p); }

// The reason of the most recent OpenSSL error, and clears the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  std::string reason = code ? ERR_reason_error_string(code) ? ERR_reason_error_string(code) : "unknown" : "no detail";
  ERR_clear_error();
  return reason;
}

core::Status Fail(std::string_view what) {
  return core::Status::Internal(fmt::format("{}: {}", what, OpenSslError()));
}

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct CtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
  void operator()(BIO* b) const { BIO_free(b); }
  void operator()(X509V3_CTX*) const {}
};
template <typename T>
using Owned = std::unique_ptr<T, CtxDeleter>;

core::Result<std::string> AesCbc(std::string_view key, std::string_view iv, std::string_view data, bool encrypt) {
  if (key.size() != 32 || iv.size() != 16) {
    return core::Status::InvalidArgument(fmt::format("AES-256-CBC needs a 32-byte key and a 16-byte IV, got {} and {}",
                                                     key.size(), iv.size()));
  }
  if (data.size() % 16 != 0) {
    return core::Status::InvalidArgument(fmt::format("AES-256-CBC: {} bytes is not a whole number of blocks", data.size()));
  }
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, U(key), U(iv), encrypt ? 1 : 0) != 1) {
    return Fail("AES-256-CBC init");
  }
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::string out(data.size() + 16, '\0');
  int n = 0, tail = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_CipherUpdate(ctx.get(), o, &n, U(data), static_cast<int>(data.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), o + n, &tail) != 1) {
    return Fail(encrypt ? "AES-256-CBC encrypt" : "AES-256-CBC decrypt");
  }
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

core::Timestamp AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<core::Timestamp>(timegm(&tm)) * core::kSecond;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // The CSPRNG failing is not recoverable; an all-zero nonce would be a silent weakness.
    std::abort();
  }
  return out;
}

std::string Sha1(std::string_view data) {
  std::string out(SHA_DIGEST_LENGTH, '\0');
  SHA1(U(data), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

std::string PSha256(std::string_view secret, std::string_view seed, size_t length) {
  std::string out;
  std::string a(seed);  // A(0)
  while (out.size() < length) {
    a = HmacSha256(secret, a);  // A(i)
    out += HmacSha256(secret, a + std::string(seed));
  }
  out.resize(length);
  return out;
}

core::Result<std::string> Aes256CbcEncrypt(std::string_view key, std::string_view iv, std::string_view data) {
  return AesCbc(key, iv, data, true);
}

core::Result<std::string> Aes256CbcDecrypt(std::string_view key, std::string_view iv, std::string_view data) {
  return AesCbc(key, iv, data, false);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// ---- RsaKey ----

RsaKey::~RsaKey() { EVP_PKEY_free(Pkey(pkey_)); }

core::Result<std::unique_ptr<RsaKey>> RsaKey::Generate(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (!key) return Fail(fmt::format("generating an RSA-{} key", bits));
  return std::unique_ptr<RsaKey>(new RsaKey(key));
}

core::Result<std::unique_ptr<RsaKey>> RsaKey::FromPrivatePem(std::string_view pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!key) return Fail("reading the private key");
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return core::Status::InvalidArgument("the private key is not an RSA key");
  }
  return std::unique_ptr<RsaKey>(new RsaKey(key));
}

std::string RsaKey::PrivatePem() const {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), Pkey(pkey_), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

size_t RsaKey::size_bytes() const { return static_cast<size_t>(EVP_PKEY_get_size(Pkey(pkey_))); }

core::Result<std::string> RsaKey::SignSha256(std::string_view data) const {
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, Pkey(pkey_)) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return Fail("RSA-SHA256 sign init");
  }
  size_t len = size_bytes();
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, U(data), data.size()) != 1) {
    return Fail("RSA-SHA256 sign");
  }
  sig.resize(len);
  return sig;
}

core::Status RsaKey::VerifySha256(std::string_view data, std::string_view signature) const {
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, Pkey(pkey_)) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return Fail("RSA-SHA256 verify init");
  }
  int rc = EVP_DigestVerify(ctx.get(), U(signature), signature.size(), U(data), data.size());
  ERR_clear_error();
  if (rc != 1) return core::Status::Unauthenticated("RSA-SHA256 signature does not verify");
  return core::Status::OK();
}

core::Result<std::string> RsaKey::OaepEncrypt(std::string_view data) const {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(Pkey(pkey_), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha1()) != 1) {
    return Fail("RSA-OAEP encrypt init");
  }
  const size_t block = oaep_plain_block();
  std::string out;
  for (size_t off = 0; off < data.size(); off += block) {
    std::string_view piece = data.substr(off, block);
    size_t len = size_bytes();
    std::string cipher(len, '\0');
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()), &len, U(piece), piece.size()) != 1) {
      return Fail("RSA-OAEP encrypt");
    }
    cipher.resize(len);
    out += cipher;
  }
  return out;
}

core::Result<std::string> RsaKey::OaepDecrypt(std::string_view data) const {
  const size_t block = size_bytes();
  if (data.empty() || data.size() % block != 0) {
    return core::Status::InvalidArgument(
        fmt::format("RSA-OAEP: {} bytes is not a whole number of {}-byte blocks", data.size(), block));
  }
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(Pkey(pkey_), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha1()) != 1) {
    return Fail("RSA-OAEP decrypt init");
  }
  std::string out;
  for (size_t off = 0; off < data.size(); off += block) {
    size_t len = block;
    std::string plain(len, '\0');
    if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, U(data.substr(off, block)),
                         block) != 1) {
      ERR_clear_error();
      return core::Status::Unauthenticated("RSA-OAEP: a block does not decrypt with our private key");
    }
    plain.resize(len);
    out += plain;
  }
  return out;
}

// ---- Certificate ----

Certificate::~Certificate() { X509_free(X(x509_)); }

core::Result<std::unique_ptr<Certificate>> Certificate::FromDer(std::string_view der) {
  const unsigned char* p = U(der);
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) {
    ERR_clear_error();
    return core::Status::InvalidArgument(fmt::format("not a DER X.509 certificate ({} bytes)", der.size()));
  }
  const size_t used = static_cast<size_t>(p - U(der));
  return std::unique_ptr<Certificate>(new Certificate(x, std::string(der.substr(0, used))));
}

core::Result<std::unique_ptr<Certificate>> Certificate::CreateSelfSigned(const RsaKey& key, const CreateOptions& options,
                                                                          core::Timestamp now) {
  X509* x = X509_new();
  if (!x) return Fail("X509_new");
  std::unique_ptr<Certificate> cert(new Certificate(x, ""));
  X509_set_version(x, 2);  // v3
  std::string serial = RandomBytes(16);
  serial[0] = static_cast<char>(serial[0] & 0x7F);  // positive
  BIGNUM* bn = BN_bin2bn(U(serial), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  const time_t t = static_cast<time_t>(now / core::kSecond);
  ASN1_TIME_set(X509_getm_notBefore(x), t - 24 * 3600);  // tolerate a peer whose clock is behind
  ASN1_TIME_adj(X509_getm_notAfter(x), t, options.valid_days, 0);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, U(options.common_name), -1, -1, 0);
  if (!options.organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, U(options.organization), -1, -1, 0);
  }
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, Pkey(key.pkey_));

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::string san = "URI:" + options.application_uri;
  if (!options.dns_name.empty()) san += ",DNS:" + options.dns_name;
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
      {NID_subject_alt_name, san},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext || X509_add_ext(x, ext, -1) != 1) {
      X509_EXTENSION_free(ext);
      return Fail(fmt::format("certificate extension {}", OBJ_nid2sn(nid)));
    }
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, Pkey(key.pkey_), EVP_sha256()) == 0) return Fail("signing the certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  if (len <= 0) return Fail("encoding the certificate");
  cert->der_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return cert;
}

std::string Certificate::subject() const {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(X(x509_)), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Certificate::application_uri() const {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(X(x509_), NID_subject_alt_name, nullptr, nullptr));
  std::string uri;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_URI) {
      const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
      uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
      break;
    }
  }
  GENERAL_NAMES_free(names);
  return uri;
}

core::Timestamp Certificate::not_before() const { return AsnTime(X509_get0_notBefore(X(x509_))); }
core::Timestamp Certificate::not_after() const { return AsnTime(X509_get0_notAfter(X(x509_))); }

core::Result<std::unique_ptr<RsaKey>> Certificate::PublicKey() const {
  EVP_PKEY* key = X509_get_pubkey(X(x509_));
  if (!key) return Fail("the certificate's public key");
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return core::Status::InvalidArgument(fmt::format("certificate {} does not hold an RSA key", subject()));
  }
  return std::unique_ptr<RsaKey>(new RsaKey(key));
}

}  // namespace shopfloor::connect::opcua::crypto
