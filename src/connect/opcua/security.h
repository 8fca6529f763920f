// Message security of a SecureChannel under SecurityPolicy Basic256Sha256 (Part 6, 6.7).
//
// OPN chunks are protected asymmetrically whatever the mode: signed with our private key
// (RSA-SHA256) and encrypted with the server's public key (RSA-OAEP), block by block. MSG and
// CLO chunks are protected with the keys both sides derive from the nonces exchanged by OPN:
// signed with HMAC-SHA256 (mode Sign), and also padded and AES-256-CBC encrypted (mode
// SignAndEncrypt). Each token has its own keys; after a renewal the previous token's keys stay
// valid for what the server sent before it switched.
//
// Protect (EncodeChunks) splits a message into chunks no larger than the server's receive
// buffer, padding and signing each. Unprotect checks one received chunk and returns it in the
// plain layout ParseChunk reads (security header, sequence header, body; no padding or
// signature; the size field patched): a wrong policy, an unknown sender certificate, a
// signature that does not verify, bad padding or an unknown token are kUnauthenticated or
// kInvalidArgument naming what was wrong.
//
// Not thread-safe (owned by one SecureChannel).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connect/opcua/crypto.h"
#include "connect/opcua/pki.h"
#include "core/status.h"

namespace shopfloor::connect::opcua {

inline constexpr std::string_view kSecurityPolicyBasic256Sha256 =
    "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
inline constexpr std::string_view kRsaSha256Uri = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
inline constexpr std::string_view kRsaOaepUri = "http://www.w3.org/2001/04/xmlenc#rsa-oaep";

enum class SecurityMode : int32_t { kNone = 1, kSign = 2, kSignAndEncrypt = 3 };
std::string_view SecurityModeName(SecurityMode mode);

// "None" or "Basic256Sha256" (or either's URI) -> the policy URI; others are refused
// naming the supported ones.
core::Result<std::string> ParseSecurityPolicy(std::string_view name);
// "None", "Sign" or "SignAndEncrypt".
core::Result<SecurityMode> ParseSecurityMode(std::string_view name);

class ChannelSecurity {
 public:
  // `server_certificate` is the server's DER certificate (or
  // chain) as its endpoint description gave it.
  static core::Result<std::unique_ptr<ChannelSecurity>> Create(SecurityMode mode, std::shared_ptr<const Pki> pki,
                                                               std::string_view server_certificate);

  SecurityMode mode() const { return mode_; }
  std::string_view policy_uri() const { return kSecurityPolicyBasic256Sha256; }
  const crypto::Certificate& server_certificate() const { return *server_cert_; }
  const crypto::RsaKey& server_key() const { return *server_key_; }
  const Pki& pki() const { return *pki_; }

  // A fresh 32-byte client nonce for an OPN request; remembered for DeriveKeys.
  std::string NewClientNonce();
  // Derives the keys of token `token_id` from the last client nonce and the server's nonce
  // (from the OPN response). The previous token's keys are kept for receiving.
  core::Status DeriveKeys(uint32_t token_id, std::string_view server_nonce);

  // Encodes `body` as protected chunks of at most `max_chunk_size` bytes. OPN chunks are
  // asymmetric; MSG/CLO use `token_id`'s keys.
  core::Result<std::vector<std::string>> EncodeChunks(std::string_view type, uint32_t channel_id, uint32_t token_id,
                                                      uint32_t request_id, std::string_view body,
                                                      uint32_t max_chunk_size, uint32_t* next_sequence_number) const;
  // Checks and decrypts one received chunk (header included) into the plain layout.
  core::Result<std::string> Unprotect(std::string_view chunk) const;

 private:
  struct Keys {
    uint32_t token_id = 0;
    std::string signing, encrypting, iv;
  };
  ChannelSecurity() = default;
  const Keys* FindKeys(const std::vector<Keys>& keys, uint32_t token_id) const;
  core::Result<std::string> UnprotectAsymmetric(std::string_view chunk) const;
  core::Result<std::string> UnprotectSymmetric(std::string_view chunk) const;

  SecurityMode mode_ = SecurityMode::kSignAndEncrypt;
  std::shared_ptr<const Pki> pki_;
  std::unique_ptr<crypto::Certificate> server_cert_;
  std::unique_ptr<crypto::RsaKey> server_key_;
  std::string client_nonce_;
  std::vector<Keys> client_keys_;  // what we sign/encrypt with: the current token last
  std::vector<Keys> server_keys_;  // what the server signs/encrypts with
};

}  // namespace shopfloor::connect::opcua
