// Internal to the auth module: libsodium wrappers, token text form, hex helpers.
//
// Tokens are "<prefix><base64url of 32 random bytes>" with prefix "sfs_" (session) or
// "sft_" (API token), 47 characters in all. Only their BLAKE2b-256 hash is ever stored.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace shopfloor::auth {

inline constexpr std::string_view kSessionPrefix = "sfs_";
inline constexpr std::string_view kApiTokenPrefix = "sft_";
inline constexpr size_t kTokenBytes = 32;
inline constexpr size_t kTokenTextLength = 4 + 43;  // prefix + unpadded base64url of 32 bytes

// Initializes libsodium once per process (thread-safe; later calls are free). Fails only if
// the library cannot initialize (no entropy source).
core::Status EnsureSodium();

// URL-safe base64 without padding.
std::string Base64UrlEncode(std::string_view bytes);

enum class TokenKind { kSession, kApiToken };
struct ParsedToken {
  TokenKind kind;
  std::string raw;  // the 32 decoded bytes
};
// Checks the form of a token from outside (an Authorization header, a password field).
// kUnauthenticated naming what is wrong; never echoes the token back.
core::Result<ParsedToken> ParseToken(std::string_view text);

// A fresh token of the given kind (requires EnsureSodium()).
std::string NewTokenText(TokenKind kind);

// BLAKE2b-256 of the token text, as 32 raw bytes: the only form a token is stored in.
std::string HashToken(std::string_view token_text);

// SHA-256 (crypto_hash_sha256) of data, 32 raw bytes.
std::string Sha256(std::string_view data);

std::string HexEncode(std::string_view bytes);
// Lower- or upper-case hex; false on odd length or a non-hex character.
bool HexDecode(std::string_view hex, std::string* out);

// argon2id (crypto_pwhash_str). `fast` uses libsodium's minimum limits (tests only).
core::Result<std::string> HashPassword(std::string_view password, bool fast);
bool VerifyPassword(std::string_view stored_hash, std::string_view password);

}  // namespace shopfloor::auth
