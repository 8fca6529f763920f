// Fuzz target for Basic256Sha256 chunk protection (connect/opcua/security.h): Unprotect on
// arbitrary bytes (asymmetric OPN and symmetric MSG, both modes), and on chunks that carry
// a valid signature over arbitrary plaintext, which reaches the padding checks behind it.
// The first input byte picks the case.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "connect/opcua/binary.h"
#include "connect/opcua/crypto.h"
#include "connect/opcua/pki.h"
#include "connect/opcua/security.h"
#include "connect/opcua/transport.h"

namespace opcua = shopfloor::connect::opcua;
namespace crypto = shopfloor::connect::opcua::crypto;

namespace {

struct Fixture {
  std::shared_ptr<const opcua::Pki> client, server;
  std::unique_ptr<opcua::ChannelSecurity> encrypt, sign;
  std::string server_signing, server_encrypting, server_iv;  // the keys the server would use

  std::string dir;

  Fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sf-fuzz-opcua-pki-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    client = std::move(*opcua::Pki::Open(dir + "/client", 1'700'000'000LL * 1'000'000'000LL));
    server = std::move(*opcua::Pki::Open(dir + "/server", 1'700'000'000LL * 1'000'000'000LL));
    encrypt = std::move(*opcua::ChannelSecurity::Create(opcua::SecurityMode::kSignAndEncrypt, client, server->certificate().der()));
    sign = std::move(*opcua::ChannelSecurity::Create(opcua::SecurityMode::kSign, client, server->certificate().der()));
    const std::string server_nonce(32, 'n');
    const std::string client_nonce = encrypt->NewClientNonce();
    if (!encrypt->DeriveKeys(1, server_nonce).ok()) std::abort();
    sign->NewClientNonce();
    // The sign-only channel gets keys derived from its own nonce; only its framing is fuzzed.
    if (!sign->DeriveKeys(1, server_nonce).ok()) std::abort();
    const std::string keys = crypto::PSha256(client_nonce, server_nonce, 80);
    server_signing = keys.substr(0, 32);
    server_encrypting = keys.substr(32, 32);
    server_iv = keys.substr(64, 16);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

std::string MsgHeader(uint32_t size) {
  opcua::Encoder e;
  e.Raw("MSGF");
  e.UInt32(size);
  e.UInt32(7);  // channel id
  e.UInt32(1);  // token id
  return e.Take();
}

void CheckPlain(const shopfloor::core::Result<std::string>& plain, size_t input_size) {
  if (!plain.ok()) return;
  if (plain->size() > input_size) std::abort();  // removing protection never grows a chunk
  opcua::Chunk chunk;
  if (!opcua::ParseChunk(*plain, &chunk).ok()) std::abort();  // the plain layout always parses
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  if (size == 0) return 0;
  const uint8_t which = data[0] % 4;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (which == 0) {
    CheckPlain(f.encrypt->Unprotect(input), input.size());
  } else if (which == 1) {
    CheckPlain(f.sign->Unprotect(input), input.size());
  } else {
    // A chunk correctly signed (and for case 2 encrypted) by the "server" over the input.
    std::string plain(input);
    if (plain.size() < 8) plain.resize(8, '\0');
    if (which == 2) plain.resize(plain.size() + (16 - (plain.size() + 32) % 16) % 16, '\0');  // whole AES blocks
    const std::string header = MsgHeader(static_cast<uint32_t>(16 + plain.size() + 32));
    std::string body = plain + crypto::HmacSha256(f.server_signing, header + plain);
    if (which == 2) {
      auto cipher = crypto::Aes256CbcEncrypt(f.server_encrypting, f.server_iv, body);
      if (!cipher.ok()) std::abort();
      std::string chunk = header + *cipher;
      auto result = f.encrypt->Unprotect(chunk);
      CheckPlain(result, chunk.size());
    } else {
      CheckPlain(f.sign->Unprotect(header + body), header.size() + body.size());
    }
  }
  return 0;
}
