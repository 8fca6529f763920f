#include "auth/crypto.h"

#include <sodium.h>

#include <fmt/format.h>

namespace shopfloor::auth {

using core::Result;
using core::Status;

Status EnsureSodium() {
  // sodium_init() is itself thread-safe and idempotent; the static keeps the fast path free.
  static const int rc = sodium_init();
  if (rc < 0) return Status::Internal("libsodium failed to initialize (no entropy source?)");
  return Status::OK();
}

std::string Base64UrlEncode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(out.size() - 1);  // the encoder writes a terminating NUL
  return out;
}

Result<ParsedToken> ParseToken(std::string_view text) {
  ParsedToken parsed{TokenKind::kApiToken, {}};
  if (text.substr(0, 4) == kSessionPrefix) {
    parsed.kind = TokenKind::kSession;
  } else if (text.substr(0, 4) != kApiTokenPrefix) {
    return Status::Unauthenticated("malformed token: expected a token starting with \"sfs_\" or \"sft_\"");
  }
  if (text.size() != kTokenTextLength) {
    return Status::Unauthenticated(
        fmt::format("malformed token: {} characters, expected {}", text.size(), kTokenTextLength));
  }
  const std::string_view body = text.substr(4);
  // The alphabet is checked here: libsodium's decoder is not strict about bytes >= 0x80.
  for (char c : body) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return Status::Unauthenticated("malformed token: not base64url");
  }
  parsed.raw.resize(kTokenBytes);
  size_t decoded = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(reinterpret_cast<unsigned char*>(parsed.raw.data()), parsed.raw.size(),
                                   body.data(), body.size(), nullptr, &decoded, &end,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (rc != 0 || decoded != kTokenBytes || end != body.data() + body.size()) {
    return Status::Unauthenticated("malformed token: not base64url");
  }
  // One text per token: the unused low bits of the last character must be zero.
  if (Base64UrlEncode(parsed.raw) != body) return Status::Unauthenticated("malformed token: not canonical base64url");
  return parsed;
}

std::string NewTokenText(TokenKind kind) {
  std::string raw(kTokenBytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string text(kind == TokenKind::kSession ? kSessionPrefix : kApiTokenPrefix);
  text += Base64UrlEncode(raw);
  sodium_memzero(raw.data(), raw.size());
  return text;
}

std::string HashToken(std::string_view token_text) {
  std::string out(crypto_generichash_BYTES, '\0');  // 32 bytes: BLAKE2b-256
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(token_text.data()), token_text.size(), nullptr, 0);
  return out;
}

std::string Sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

Result<std::string> HashPassword(std::string_view password, bool fast) {
  SF_RETURN_IF_ERROR(EnsureSodium());
  char out[crypto_pwhash_STRBYTES];
  const unsigned long long ops = fast ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  const size_t mem = fast ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (crypto_pwhash_str(out, password.data(), password.size(), ops, mem) != 0) {
    return Status::Internal("hashing the password failed (out of memory for argon2id?)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view stored_hash, std::string_view password) {
  if (EnsureSodium().ok() == false) return false;
  const std::string terminated(stored_hash);  // crypto_pwhash_str_verify wants a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace shopfloor::auth
