// SecurityPolicy Basic256Sha256: the primitives (crypto.h), the certificate store and trust
// list (pki.h), the chunk protection (security.h), and the client against node-opcua with
// Sign and SignAndEncrypt, username login (password encrypted), an untrusted server
// certificate, and a server restarted with a new certificate.
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <thread>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "connect/opcua/client.h"
#include "connect/opcua/collector.h"
#include "connect/opcua/crypto.h"
#include "connect/opcua/pki.h"
#include "connect/opcua/security.h"
#include "connect/opcua/transport.h"
#include "ingest/writer.h"
#include "opcua_peer.h"
#include "storage/storage.h"

namespace shopfloor::connect::opcua {
namespace {

namespace fs = std::filesystem;
constexpr core::Timestamp kNow = 1'760'000'000LL * core::kSecond;  // 2025-10-09

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sf-opcua-sec-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Sub(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

TEST(OpcUaCrypto, PSha256MatchesAnIndependentImplementation) {
  // Computed with Python's hmac/hashlib (RFC 5246 P_hash over SHA-256).
  const std::string expected = FromHex(
      "e4e67bfe1168e280a4fd57bf13bcc3651b66c76d3214e15b8831484817799583dd9f2eaaf5c017526a1565aebedead698fbc23ee"
      "2b8bd6dbe1c64c852c22a3d458315086f70532705332d1b37185dc22");
  EXPECT_EQ(crypto::PSha256("server-nonce-0123456789abcdefghij", "client-nonce-abcdefghij0123456789", 80), expected);
  EXPECT_EQ(crypto::PSha256("s", "t", 7), crypto::PSha256("s", "t", 80).substr(0, 7));
}

TEST(OpcUaCrypto, RsaOaepAndSignaturesRoundTrip) {
  auto key = crypto::RsaKey::Generate(2048);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ((*key)->size_bytes(), 256u);
  EXPECT_EQ((*key)->oaep_plain_block(), 214u);
  const std::string message(500, 'x');  // three OAEP blocks
  auto cipher = (*key)->OaepEncrypt(message);
  ASSERT_TRUE(cipher.ok());
  EXPECT_EQ(cipher->size(), 3 * 256u);
  auto plain = (*key)->OaepDecrypt(*cipher);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, message);
  EXPECT_FALSE((*key)->OaepDecrypt(cipher->substr(0, 300)).ok());

  auto signature = (*key)->SignSha256("data");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE((*key)->VerifySha256("data", *signature).ok());
  EXPECT_EQ((*key)->VerifySha256("date", *signature).code(), core::StatusCode::kUnauthenticated);

  // A key reloaded from its PEM is the same key.
  auto again = crypto::RsaKey::FromPrivatePem((*key)->PrivatePem());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->VerifySha256("data", *signature).ok());
  EXPECT_FALSE(crypto::RsaKey::FromPrivatePem("not a key").ok());
}

TEST(OpcUaCrypto, AesCbcNeedsWholeBlocks) {
  const std::string key(32, 'k'), iv(16, 'i'), data(48, 'd');
  auto cipher = crypto::Aes256CbcEncrypt(key, iv, data);
  ASSERT_TRUE(cipher.ok());
  EXPECT_EQ(cipher->size(), 48u);
  EXPECT_NE(*cipher, data);
  auto plain = crypto::Aes256CbcDecrypt(key, iv, *cipher);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, data);
  EXPECT_FALSE(crypto::Aes256CbcEncrypt(key, iv, "17 bytes of data.").ok());
  EXPECT_FALSE(crypto::Aes256CbcEncrypt("short", iv, data).ok());
}

TEST(OpcUaCrypto, SelfSignedCertificateCarriesTheApplicationUri) {
  auto key = crypto::RsaKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  crypto::Certificate::CreateOptions options;
  options.application_uri = "urn:test-host:shopfloor:opcua-client";
  options.common_name = "Shopfloor test";
  options.organization = "Shopfloor";
  options.dns_name = "test-host";
  options.valid_days = 30;
  auto cert = crypto::Certificate::CreateSelfSigned(**key, options, kNow);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ((*cert)->application_uri(), options.application_uri);
  EXPECT_NE((*cert)->subject().find("CN=Shopfloor test"), std::string::npos);
  EXPECT_LE((*cert)->not_before(), kNow);
  EXPECT_EQ((*cert)->not_after(), kNow + 30 * 86400 * core::kSecond);
  EXPECT_EQ((*cert)->thumbprint().size(), 20u);
  // The first certificate of a chain is the one parsed.
  auto first = crypto::Certificate::FromDer((*cert)->der() + (*cert)->der());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->der(), (*cert)->der());
  EXPECT_FALSE(crypto::Certificate::FromDer("garbage").ok());
  // Its public key verifies what the private key signed.
  auto pub = (*cert)->PublicKey();
  ASSERT_TRUE(pub.ok());
  auto signature = (*key)->SignSha256("x");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE((*pub)->VerifySha256("x", *signature).ok());
}

TEST(OpcUaPki, CreatesItsCertificateOnceAndKeepsTheKeyPrivate) {
  TempDir dir;
  auto pki = Pki::Open(dir.Sub("pki"), kNow);
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  EXPECT_TRUE((*pki)->application_uri().starts_with("urn:"));
  EXPECT_TRUE((*pki)->application_uri().ends_with(":shopfloor:opcua-client"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.Sub("pki/own/private/shopfloor.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = Pki::Open(dir.Sub("pki"), kNow + core::kSecond);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->certificate().der(), (*pki)->certificate().der());
  EXPECT_FALSE(Pki::Open("", kNow).ok());
}

TEST(OpcUaPki, ConcurrentFirstUseEndsWithOneCertificateAndItsKey) {
  TempDir dir;
  std::vector<std::shared_ptr<const Pki>> opened(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] {
      auto pki = Pki::Open(dir.Sub("pki"), kNow);
      if (pki.ok()) opened[i] = std::move(*pki);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& pki : opened) {
    ASSERT_TRUE(pki);
    EXPECT_EQ(pki->certificate().der(), opened[0]->certificate().der());
    auto signature = pki->key().SignSha256("proof");
    ASSERT_TRUE(signature.ok());
    auto public_key = pki->certificate().PublicKey();
    ASSERT_TRUE(public_key.ok());
    EXPECT_TRUE((*public_key)->VerifySha256("proof", *signature).ok()) << "the key does not match the certificate";
  }
}

TEST(OpcUaPki, RejectsUnknownServerCertificatesUntilTrusted) {
  TempDir dir;
  auto client = Pki::Open(dir.Sub("client"), kNow);
  auto server = Pki::Open(dir.Sub("server"), kNow);
  ASSERT_TRUE(client.ok() && server.ok());
  const std::string& der = (*server)->certificate().der();
  const std::string hex = crypto::Hex((*server)->certificate().thumbprint());

  core::Status refused = (*client)->CheckServerCertificate(der, kNow);
  EXPECT_EQ(refused.code(), core::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find(hex), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("shopfloor opcua trust"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.Sub("client/rejected/certs/" + hex + ".der")));

  auto listed = Pki::List(dir.Sub("client"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].trusted);
  EXPECT_EQ((*listed)[0].thumbprint, hex);

  EXPECT_EQ(Pki::Trust(dir.Sub("client"), "abc").status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pki::Trust(dir.Sub("client"), "00000000").status().code(), core::StatusCode::kNotFound);
  auto trusted = Pki::Trust(dir.Sub("client"), hex.substr(0, 12));
  ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
  EXPECT_TRUE(trusted->trusted);
  EXPECT_FALSE(fs::exists(dir.Sub("client/rejected/certs/" + hex + ".der")));
  EXPECT_TRUE((*client)->CheckServerCertificate(der, kNow).ok());

  // Trusted but outside its validity period: refused, saying so.
  core::Status expired = (*client)->CheckServerCertificate(der, kNow + 20LL * 365 * 86400 * core::kSecond);
  EXPECT_EQ(expired.code(), core::StatusCode::kPermissionDenied);
  EXPECT_NE(expired.message().find("valid from"), std::string::npos) << expired.message();

  // A certificate file can be trusted directly.
  auto other = Pki::Open(dir.Sub("other"), kNow);
  ASSERT_TRUE(other.ok());
  auto by_file = Pki::Trust(dir.Sub("client"), dir.Sub("other/own/certs/shopfloor.der"));
  ASSERT_TRUE(by_file.ok()) << by_file.status().ToString();
  EXPECT_TRUE((*client)->CheckServerCertificate((*other)->certificate().der(), kNow).ok());
}

TEST(OpcUaChannelSecurity, AsymmetricChunksVerifyAndDecryptOnlyForTheReceiver) {
  TempDir dir;
  std::shared_ptr<const Pki> a = *Pki::Open(dir.Sub("a"), kNow);
  std::shared_ptr<const Pki> b = *Pki::Open(dir.Sub("b"), kNow);
  // a sends to b; b's view of the channel has a as its "server".
  auto sender = ChannelSecurity::Create(SecurityMode::kSignAndEncrypt, a, b->certificate().der());
  auto receiver = ChannelSecurity::Create(SecurityMode::kSignAndEncrypt, b, a->certificate().der());
  ASSERT_TRUE(sender.ok() && receiver.ok());
  std::string body;
  for (int i = 0; i < 3000; ++i) body.push_back(static_cast<char>(i * 7));
  uint32_t sequence = 41;
  auto chunks = (*sender)->EncodeChunks("OPN", 0, 0, 9, body, 8192, &sequence);
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ(sequence, 42u);
  EXPECT_EQ((*chunks)[0].find(body.substr(0, 64)), std::string::npos) << "the body is encrypted";
  auto plain = (*receiver)->Unprotect((*chunks)[0]);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  Chunk chunk;
  ASSERT_TRUE(ParseChunk(*plain, &chunk).ok());
  EXPECT_EQ(chunk.sequence_number, 41u);
  EXPECT_EQ(chunk.request_id, 9u);
  EXPECT_EQ(chunk.body, body);

  // Any flipped byte after the headers breaks the signature or the decryption.
  std::string tampered = (*chunks)[0];
  tampered[tampered.size() - 300] ^= 1;
  EXPECT_FALSE((*receiver)->Unprotect(tampered).ok());
  // The sender itself cannot read it (encrypted for b).
  EXPECT_FALSE((*sender)->Unprotect((*chunks)[0]).ok());
  // A body larger than one chunk is split, each chunk on its own.
  std::string big(20000, 'z');
  auto many = (*sender)->EncodeChunks("OPN", 0, 0, 10, big, 8192, &sequence);
  ASSERT_TRUE(many.ok());
  EXPECT_GT(many->size(), 2u);
  std::string joined;
  for (const auto& c : *many) {
    EXPECT_LE(c.size(), 8192u);
    auto p = (*receiver)->Unprotect(c);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(ParseChunk(*p, &chunk).ok());
    joined.append(chunk.body);
  }
  EXPECT_EQ(joined, big);
}

TEST(OpcUaChannelSecurity, ParsesPolicyAndModeNames) {
  EXPECT_EQ(*ParseSecurityPolicy("None"), kSecurityPolicyNone);
  EXPECT_EQ(*ParseSecurityPolicy("Basic256Sha256"), kSecurityPolicyBasic256Sha256);
  EXPECT_EQ(*ParseSecurityPolicy(kSecurityPolicyBasic256Sha256), kSecurityPolicyBasic256Sha256);
  EXPECT_EQ(ParseSecurityPolicy("Basic128Rsa15").status().code(), core::StatusCode::kUnimplemented);
  EXPECT_EQ(*ParseSecurityMode("SignAndEncrypt"), SecurityMode::kSignAndEncrypt);
  EXPECT_EQ(*ParseSecurityMode("Sign"), SecurityMode::kSign);
  EXPECT_FALSE(ParseSecurityMode("Encrypt").ok());
}

// ---- against node-opcua ----

class OpcUaSecurePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = OpcUaPeer::MissingReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    std::string error;
    ASSERT_TRUE(peer_.Start(&error, 0, {"--secure", "--pki=" + dir_.Sub("server-pki-1")})) << error;
    options_.endpoint_url = peer_.url();
    options_.timeout = 5 * core::kSecond;
    options_.security_policy = "Basic256Sha256";
    options_.security_mode = "SignAndEncrypt";
    options_.pki_dir = dir_.Sub("client-pki");
  }

  // Connects once (refused: unknown server certificate), trusts what was rejected, connects.
  std::unique_ptr<Client> TrustAndConnect() {
    auto refused = Client::Connect(options_);
    EXPECT_FALSE(refused.ok());
    if (refused.ok()) return std::move(*refused);
    EXPECT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied) << refused.status().ToString();
    auto rejected = Pki::List(options_.pki_dir);
    EXPECT_TRUE(rejected.ok() && rejected->size() == 1);
    if (!rejected.ok() || rejected->empty()) return nullptr;
    EXPECT_TRUE(Pki::Trust(options_.pki_dir, (*rejected)[0].thumbprint).ok());
    auto client = Client::Connect(options_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  static double ReadDouble(Client& client, const std::string& name) {
    auto values = client.Read({ReadValueId{NodeId::String(1, name), kAttributeValue}});
    if (!values.ok() || values->size() != 1 || !(*values)[0].value) return NAN;
    const auto* d = std::get_if<double>(&(*values)[0].value->scalar);
    return d ? *d : NAN;
  }

  TempDir dir_;
  OpcUaPeer peer_;
  ClientOptions options_;
};

TEST_F(OpcUaSecurePeerTest, EndpointsOfferBasic256Sha256WithTheServerCertificate) {
  auto endpoints = Client::GetEndpoints(options_);
  ASSERT_TRUE(endpoints.ok()) << endpoints.status().ToString();
  int secure = 0;
  for (const auto& ep : *endpoints) {
    if (ep.security_policy_uri != kSecurityPolicyBasic256Sha256) continue;
    ++secure;
    auto cert = crypto::Certificate::FromDer(ep.server_certificate);
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    EXPECT_EQ((*cert)->application_uri(), ep.application_uri);
  }
  EXPECT_EQ(secure, 2);  // Sign and SignAndEncrypt
}

TEST_F(OpcUaSecurePeerTest, SignAndEncryptReadsWritesAndBrowsesOnceTheServerIsTrusted) {
  auto client = TrustAndConnect();
  ASSERT_TRUE(client);
  EXPECT_EQ(client->channel().security()->mode(), SecurityMode::kSignAndEncrypt);
  EXPECT_DOUBLE_EQ(ReadDouble(*client, "Scalars.Double"), 3.141592653589793);
  auto written = client->WriteVerified(NodeId::String(1, "Setpoints.Speed"), Variant(Scalar{42.5}));
  EXPECT_TRUE(written.ok()) << written.ToString();
  auto refs = client->Browse(NodeId::Numeric(0, kObjectsFolder));
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_FALSE(refs->empty());
  // Several chunks each way: 3000 reads of one node (a ~75 kB request, a larger response).
  std::vector<ReadValueId> many(3000, ReadValueId{NodeId::String(1, "Scalars.Double"), kAttributeValue});
  auto values = client->Read(many);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  ASSERT_EQ(values->size(), 3000u);
  EXPECT_EQ((*values)[2999].status_code(), 0u);
  EXPECT_TRUE(client->Close().ok());
}

TEST_F(OpcUaSecurePeerTest, SignModeWorksAndRenewsItsTokens) {
  options_.security_mode = "Sign";
  options_.requested_lifetime_ms = 1000;
  auto client = TrustAndConnect();
  ASSERT_TRUE(client);
  const uint32_t lifetime = client->channel().revised_lifetime_ms();
  const uint32_t first_token = client->channel().token_id();
  if (lifetime > 5000) GTEST_SKIP() << "server revised the lifetime to " << lifetime << " ms";
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(lifetime * 8 / 10));
    EXPECT_DOUBLE_EQ(ReadDouble(*client, "Scalars.Double"), 3.141592653589793) << "after " << i << " renewals";
  }
  EXPECT_GE(client->channel().renewals(), 2u) << "lifetime " << lifetime;
  EXPECT_NE(client->channel().token_id(), first_token);
}

TEST_F(OpcUaSecurePeerTest, UsernameLoginWithAnEncryptedPassword) {
  ASSERT_TRUE(TrustAndConnect());
  options_.username = "operator";
  options_.password = "secret";
  auto client = Client::Connect(options_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_DOUBLE_EQ(ReadDouble(**client, "Scalars.Double"), 3.141592653589793);
  options_.password = "wrong";
  auto refused = Client::Connect(options_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("ActivateSession"), std::string::npos) << refused.status().ToString();
}

TEST_F(OpcUaSecurePeerTest, UsernameOnAnUnsecuredChannelStillEncryptsThePassword) {
  // The None endpoint's UserName policy names Basic256Sha256 for the token; no trust
  // decision is needed since the channel itself is not secured.
  options_.security_policy = "None";
  options_.security_mode = "None";
  options_.username = "operator";
  options_.password = "secret";
  auto client = Client::Connect(options_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_DOUBLE_EQ(ReadDouble(**client, "Scalars.Double"), 3.141592653589793);
  options_.password = "wrong";
  EXPECT_FALSE(Client::Connect(options_).ok());
}

TEST_F(OpcUaSecurePeerTest, ANewServerCertificateIsRejectedUntilTrusted) {
  ASSERT_TRUE(TrustAndConnect());
  peer_.Stop();
  peer_.set_flags({"--secure", "--pki=" + dir_.Sub("server-pki-2")});  // a new certificate
  std::string error;
  ASSERT_TRUE(peer_.Restart(&error)) << error;
  auto refused = Client::Connect(options_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied) << refused.status().ToString();
  auto listed = Pki::List(options_.pki_dir);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);  // the old one trusted, the new one rejected
  EXPECT_TRUE((*listed)[0].trusted);
  EXPECT_FALSE((*listed)[1].trusted);
  ASSERT_TRUE(Pki::Trust(options_.pki_dir, (*listed)[1].thumbprint).ok());
  auto client = Client::Connect(options_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_DOUBLE_EQ(ReadDouble(**client, "Scalars.Double"), 3.141592653589793);
}

TEST_F(OpcUaSecurePeerTest, CollectorRetriesAnUntrustedServerAndCollectsOnceTrusted) {
  peer_.Stop();
  peer_.set_flags({"--secure", "--pki=" + dir_.Sub("server-pki-1"), "--changing=2", "--change-ms=100"});
  std::string error;
  ASSERT_TRUE(peer_.Restart(&error)) << error;
  storage::Options storage_options;
  storage_options.env = core::Env::Posix();
  storage_options.clock = core::Clock::System();
  storage_options.dir = dir_.Sub("storage");
  storage_options.durability.mode = storage::DurabilityPolicy::Mode::kNone;
  storage_options.background_maintenance = false;
  auto storage = storage::Storage::Open(storage_options);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  ingest::Writer writer(storage->get(), nullptr);

  model::SourceConfig source;
  source.name = "secure-plc";
  source.protocol = model::Protocol::kOpcUa;
  source.endpoint = peer_.url();
  CollectorOptions options;
  options.client = options_;
  options.client.timeout = 3 * core::kSecond;
  options.publishing_interval_ms = 100;
  options.initial_backoff = 100 * core::kMillisecond;
  options.max_backoff = 300 * core::kMillisecond;
  auto collector = Collector::Create(source, {{"plc/v0", "ns=1;s=Changing.V0", core::ValueType::kDouble}}, &writer,
                                     core::Clock::System(), options);
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  (*collector)->Start();
  auto wait = [](double seconds, const std::function<bool()>& done) {
    for (int i = 0; i < seconds * 50 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
  };
  ASSERT_TRUE(wait(15, [&] { return (*collector)->stats().failed_attempts >= 2; }));
  EXPECT_NE((*collector)->stats().last_error.find("not trusted"), std::string::npos) << (*collector)->stats().last_error;
  EXPECT_EQ((*collector)->stats().samples_written, 0u);

  auto rejected = Pki::List(options_.pki_dir);
  ASSERT_TRUE(rejected.ok() && rejected->size() == 1);
  ASSERT_TRUE(Pki::Trust(options_.pki_dir, (*rejected)[0].thumbprint).ok());
  EXPECT_TRUE(wait(20, [&] { return (*collector)->stats().samples_written >= 5; })) << (*collector)->stats().last_error;
  (*collector)->Stop();
  EXPECT_EQ((*collector)->stats().connects, 1u);
  auto info = (*storage)->FindSeries("plc/v0");
  ASSERT_TRUE(info.ok());
  auto it = (*storage)->ReadRaw(info->id, 0, std::numeric_limits<core::Timestamp>::max());
  ASSERT_TRUE(it.ok());
  core::Sample sample;
  int good = 0;
  while ((*it)->Next(&sample)) good += sample.quality.good() ? 1 : 0;
  EXPECT_GE(good, 5);
}

TEST_F(OpcUaSecurePeerTest, AMismatchedModeIsRefusedNamingWhatIsOffered) {
  options_.security_policy = "None";
  options_.security_mode = "Sign";
  EXPECT_EQ(Client::Connect(options_).status().code(), core::StatusCode::kInvalidArgument);
  options_.security_policy = "Basic256Sha256";
  options_.security_mode = "None";
  EXPECT_EQ(Client::Connect(options_).status().code(), core::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shopfloor::connect::opcua
