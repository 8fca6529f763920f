#include "connect/opcua/security.h"

#include <algorithm>

#include <fmt/format.h>

#include "connect/opcua/binary.h"
#include "connect/opcua/transport.h"

namespace shopfloor::connect::opcua {

namespace {

// Basic256Sha256 (Part 7): derived key lengths, the AES block, the HMAC size, the nonce.
constexpr size_t kSigningKeyLength = 32;
constexpr size_t kEncryptingKeyLength = 32;
constexpr size_t kBlockSize = 16;
constexpr size_t kSymmetricSignatureSize = 32;
constexpr size_t kNonceLength = 32;
constexpr size_t kSequenceHeaderSize = 8;

// Appends PaddingSize, the padding and (for keys over 2048 bits) ExtraPaddingSize so that
// `plain` plus `signature_size` bytes fills whole blocks of `block`.
void AppendPadding(std::string* plain, size_t block, size_t signature_size, bool extra) {
  const size_t fixed = plain->size() + 1 + (extra ? 1 : 0) + signature_size;
  const size_t padding = (block - fixed % block) % block;
  const char low = static_cast<char>(padding & 0xFF);
  plain->push_back(low);
  plain->append(padding, low);
  if (extra) plain->push_back(static_cast<char>(padding >> 8));
}

// Removes what AppendPadding added from `plain` (the signature already cut off).
core::Status StripPadding(std::string* plain, bool extra) {
  const size_t need = extra ? 2 : 1;
  if (plain->size() < kSequenceHeaderSize + need) return core::Status::InvalidArgument("secured chunk: too short for its padding");
  size_t padding = static_cast<uint8_t>((*plain)[plain->size() - need]);
  if (extra) padding |= static_cast<size_t>(static_cast<uint8_t>(plain->back())) << 8;
  const size_t total = padding + need;
  if (total > plain->size() - kSequenceHeaderSize) {
    return core::Status::InvalidArgument(fmt::format("secured chunk: padding of {} bytes exceeds the chunk", padding));
  }
  const char low = static_cast<char>(padding & 0xFF);
  const size_t start = plain->size() - total;
  for (size_t i = start; i < plain->size() - need; ++i) {
    if ((*plain)[i] != low) return core::Status::InvalidArgument("secured chunk: malformed padding");
  }
  plain->resize(start);
  return core::Status::OK();
}

}  // namespace

std::string_view SecurityModeName(SecurityMode mode) {
  switch (mode) {
    case SecurityMode::kNone: return "None";
    case SecurityMode::kSign: return "Sign";
    case SecurityMode::kSignAndEncrypt: return "SignAndEncrypt";
  }
  return "Invalid";
}

core::Result<std::string> ParseSecurityPolicy(std::string_view name) {
  if (name.empty() || name == "None" || name == kSecurityPolicyNone) return std::string(kSecurityPolicyNone);
  if (name == "Basic256Sha256" || name == kSecurityPolicyBasic256Sha256) return std::string(kSecurityPolicyBasic256Sha256);
  return core::Status::Unimplemented(
      fmt::format("security policy \"{}\" is not supported; use None or Basic256Sha256", name));
}

core::Result<SecurityMode> ParseSecurityMode(std::string_view name) {
  if (name.empty() || name == "None") return SecurityMode::kNone;
  if (name == "Sign") return SecurityMode::kSign;
  if (name == "SignAndEncrypt") return SecurityMode::kSignAndEncrypt;
  return core::Status::InvalidArgument(
      fmt::format("security mode \"{}\" is not one of None, Sign, SignAndEncrypt", name));
}

core::Result<std::unique_ptr<ChannelSecurity>> ChannelSecurity::Create(SecurityMode mode, std::shared_ptr<const Pki> pki,
                                                                       std::string_view server_certificate) {
  if (mode == SecurityMode::kNone) {
    return core::Status::InvalidArgument("Basic256Sha256 needs security mode Sign or SignAndEncrypt");
  }
  std::unique_ptr<ChannelSecurity> security(new ChannelSecurity());
  security->mode_ = mode;
  security->pki_ = std::move(pki);
  auto cert = crypto::Certificate::FromDer(server_certificate);
  if (!cert.ok()) return cert.status().WithPrefix("the server certificate: ");
  security->server_cert_ = std::move(*cert);
  SF_ASSIGN_OR_RETURN(security->server_key_, security->server_cert_->PublicKey());
  const size_t bits = security->server_key_->size_bytes() * 8;
  if (bits < 2048 || bits > 4096) {
    return core::Status::InvalidArgument(
        fmt::format("the server's RSA key has {} bits; Basic256Sha256 needs 2048 to 4096", bits));
  }
  return security;
}

std::string ChannelSecurity::NewClientNonce() {
  client_nonce_ = crypto::RandomBytes(kNonceLength);
  return client_nonce_;
}

core::Status ChannelSecurity::DeriveKeys(uint32_t token_id, std::string_view server_nonce) {
  if (server_nonce.size() != kNonceLength) {
    return core::Status::InvalidArgument(
        fmt::format("OpenSecureChannel: the server nonce has {} bytes, Basic256Sha256 needs {}", server_nonce.size(),
                    kNonceLength));
  }
  const size_t total = kSigningKeyLength + kEncryptingKeyLength + kBlockSize;
  auto split = [&](const std::string& material) {
    return Keys{token_id, material.substr(0, kSigningKeyLength),
                material.substr(kSigningKeyLength, kEncryptingKeyLength),
                material.substr(kSigningKeyLength + kEncryptingKeyLength, kBlockSize)};
  };
  // Part 6, 6.7.5: the client's keys take the server nonce as the secret and the client
  // nonce as the seed; the server's keys the other way round.
  client_keys_.push_back(split(crypto::PSha256(server_nonce, client_nonce_, total)));
  server_keys_.push_back(split(crypto::PSha256(client_nonce_, server_nonce, total)));
  if (client_keys_.size() > 2) client_keys_.erase(client_keys_.begin());
  if (server_keys_.size() > 2) server_keys_.erase(server_keys_.begin());
  return core::Status::OK();
}

const ChannelSecurity::Keys* ChannelSecurity::FindKeys(const std::vector<Keys>& keys, uint32_t token_id) const {
  for (const Keys& k : keys) {
    if (k.token_id == token_id) return &k;
  }
  return nullptr;
}

core::Result<std::vector<std::string>> ChannelSecurity::EncodeChunks(std::string_view type, uint32_t channel_id,
                                                                     uint32_t token_id, uint32_t request_id,
                                                                     std::string_view body, uint32_t max_chunk_size,
                                                                     uint32_t* next_sequence_number) const {
  const bool asymmetric = type == "OPN";
  const bool encrypt = asymmetric || mode_ == SecurityMode::kSignAndEncrypt;
  const Keys* keys = nullptr;
  Encoder security_header;
  if (asymmetric) {
    security_header.String(policy_uri());
    security_header.String(pki_->certificate().der());
    security_header.String(server_cert_->thumbprint());
  } else {
    keys = client_keys_.empty() ? nullptr : &client_keys_.back();
    if (!keys || keys->token_id != token_id) {
      return core::Status::Internal(fmt::format("no keys for security token {}", token_id));
    }
    security_header.UInt32(token_id);
  }
  const size_t plain_block = asymmetric ? server_key_->oaep_plain_block() : kBlockSize;
  const size_t cipher_block = asymmetric ? server_key_->size_bytes() : kBlockSize;
  const size_t signature_size = asymmetric ? pki_->key().size_bytes() : kSymmetricSignatureSize;
  const bool extra = asymmetric && server_key_->size_bytes() > 256;
  const size_t header_size = kMessageHeaderSize + 4 + security_header.size();
  if (max_chunk_size <= header_size + cipher_block * 2) {
    return core::Status::InvalidArgument(fmt::format("the server's buffer of {} bytes cannot hold a secured chunk", max_chunk_size));
  }
  size_t max_body;
  if (encrypt) {
    const size_t blocks = (max_chunk_size - header_size) / cipher_block;
    max_body = blocks * plain_block - kSequenceHeaderSize - signature_size - 1 - (extra ? 1 : 0);
  } else {
    max_body = max_chunk_size - header_size - kSequenceHeaderSize - signature_size;
  }

  std::vector<std::string> chunks;
  size_t offset = 0;
  do {
    const size_t n = std::min(max_body, body.size() - offset);
    const bool final = offset + n == body.size();
    Encoder plain;
    plain.UInt32((*next_sequence_number)++);
    if (*next_sequence_number == 0) *next_sequence_number = 1;
    plain.UInt32(request_id);
    plain.Raw(body.substr(offset, n));
    std::string data = plain.Take();
    if (encrypt) AppendPadding(&data, plain_block, signature_size, extra);
    const size_t signed_size = data.size() + signature_size;
    const size_t wire_size = encrypt ? signed_size / plain_block * cipher_block : signed_size;

    Encoder header;
    header.Raw(type);
    header.Raw(final ? "F" : "C");
    header.UInt32(static_cast<uint32_t>(header_size + wire_size));
    header.UInt32(channel_id);
    header.Raw(security_header.bytes());
    const std::string to_sign = header.bytes() + data;
    std::string signature;
    if (asymmetric) {
      SF_ASSIGN_OR_RETURN(signature, pki_->key().SignSha256(to_sign));
    } else {
      signature = crypto::HmacSha256(keys->signing, to_sign);
    }
    data += signature;
    std::string chunk = header.Take();
    if (!encrypt) {
      chunk += data;
    } else if (asymmetric) {
      SF_ASSIGN_OR_RETURN(std::string cipher, server_key_->OaepEncrypt(data));
      chunk += cipher;
    } else {
      SF_ASSIGN_OR_RETURN(std::string cipher, crypto::Aes256CbcEncrypt(keys->encrypting, keys->iv, data));
      chunk += cipher;
    }
    if (chunk.size() != header_size + wire_size) {
      return core::Status::Internal(fmt::format("secured chunk is {} bytes, {} expected", chunk.size(), header_size + wire_size));
    }
    chunks.push_back(std::move(chunk));
    offset += n;
  } while (offset < body.size());
  return chunks;
}

core::Result<std::string> ChannelSecurity::Unprotect(std::string_view chunk) const {
  if (chunk.size() < kMessageHeaderSize + 8) return core::Status::InvalidArgument("secured chunk: too short");
  return chunk.substr(0, 3) == "OPN" ? UnprotectAsymmetric(chunk) : UnprotectSymmetric(chunk);
}

core::Result<std::string> ChannelSecurity::UnprotectAsymmetric(std::string_view chunk) const {
  DecodeLimits limits;
  limits.max_string_length = static_cast<uint32_t>(chunk.size());
  Decoder d(chunk, limits);
  std::string_view skip;
  std::string policy, sender_certificate, thumbprint;
  uint32_t channel_id = 0;
  core::Status s = d.Raw(kMessageHeaderSize, &skip);
  if (s.ok()) s = d.UInt32(&channel_id);
  if (s.ok()) s = d.String(&policy);
  if (s.ok()) s = d.String(&sender_certificate);
  if (s.ok()) s = d.String(&thumbprint);
  if (!s.ok()) return s.WithPrefix("OPN chunk: ");
  if (policy != policy_uri()) {
    return core::Status::Unauthenticated(fmt::format("OPN chunk: security policy {}, ours is {}", policy, policy_uri()));
  }
  auto sender = crypto::Certificate::FromDer(sender_certificate);
  if (!sender.ok() || (*sender)->thumbprint() != server_cert_->thumbprint()) {
    return core::Status::Unauthenticated("OPN chunk: signed with a certificate other than the server's");
  }
  if (thumbprint != pki_->certificate().thumbprint()) {
    return core::Status::Unauthenticated("OPN chunk: encrypted for a certificate other than ours");
  }
  const size_t header_size = d.offset();
  auto plain = pki_->key().OaepDecrypt(chunk.substr(header_size));
  if (!plain.ok()) return plain.status().WithPrefix("OPN chunk: ");
  const size_t signature_size = server_key_->size_bytes();
  if (plain->size() < kSequenceHeaderSize + signature_size + 1) {
    return core::Status::InvalidArgument("OPN chunk: too short for its signature");
  }
  const std::string signature = plain->substr(plain->size() - signature_size);
  plain->resize(plain->size() - signature_size);
  std::string signed_data(chunk.substr(0, header_size));
  signed_data += *plain;
  core::Status verified = server_key_->VerifySha256(signed_data, signature);
  if (!verified.ok()) return verified.WithPrefix("OPN chunk: ");
  SF_RETURN_IF_ERROR(StripPadding(&*plain, pki_->key().size_bytes() > 256));
  std::string out(chunk.substr(0, header_size));
  out += *plain;
  Encoder size;
  size.UInt32(static_cast<uint32_t>(out.size()));
  out.replace(4, 4, size.bytes());
  return out;
}

core::Result<std::string> ChannelSecurity::UnprotectSymmetric(std::string_view chunk) const {
  constexpr size_t header_size = kMessageHeaderSize + 8;  // channel id, token id
  Decoder d(chunk.substr(kMessageHeaderSize + 4, 4));
  uint32_t token_id = 0;
  SF_RETURN_IF_ERROR(d.UInt32(&token_id));
  const Keys* keys = FindKeys(server_keys_, token_id);
  if (!keys) return core::Status::InvalidArgument(fmt::format("{} chunk: unknown security token {}", chunk.substr(0, 3), token_id));
  const bool encrypted = mode_ == SecurityMode::kSignAndEncrypt;
  std::string plain;
  if (encrypted) {
    auto decrypted = crypto::Aes256CbcDecrypt(keys->encrypting, keys->iv, chunk.substr(header_size));
    if (!decrypted.ok()) return decrypted.status().WithPrefix(fmt::format("{} chunk: ", chunk.substr(0, 3)));
    plain = std::move(*decrypted);
  } else {
    plain = std::string(chunk.substr(header_size));
  }
  if (plain.size() < kSequenceHeaderSize + kSymmetricSignatureSize) {
    return core::Status::InvalidArgument(fmt::format("{} chunk: too short for its signature", chunk.substr(0, 3)));
  }
  const std::string signature = plain.substr(plain.size() - kSymmetricSignatureSize);
  plain.resize(plain.size() - kSymmetricSignatureSize);
  std::string signed_data(chunk.substr(0, header_size));
  signed_data += plain;
  if (!crypto::ConstantTimeEqual(crypto::HmacSha256(keys->signing, signed_data), signature)) {
    return core::Status::Unauthenticated(fmt::format("{} chunk: the signature does not verify", chunk.substr(0, 3)));
  }
  if (encrypted) SF_RETURN_IF_ERROR(StripPadding(&plain, false));
  std::string out(chunk.substr(0, header_size));
  out += plain;
  Encoder size;
  size.UInt32(static_cast<uint32_t>(out.size()));
  out.replace(4, 4, size.bytes());
  return out;
}

}  // namespace shopfloor::connect::opcua
