#include "app/mqtt_tls.h"

#include <unistd.h>

#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "connect/mqtt/tls_cert.h"

namespace shopfloor::app {

namespace {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

core::Result<MqttTlsSetup> ResolveMqttTls(const MqttTlsRequest& request, core::Timestamp now) {
  if (request.cert_file.empty() != request.key_file.empty()) {
    return core::Status::InvalidArgument(
        fmt::format("MQTT TLS: a certificate needs its key and a key its certificate (cert: \"{}\", key: \"{}\")",
                    request.cert_file, request.key_file));
  }
  MqttTlsSetup setup;
  setup.listener.host = request.host;
  setup.listener.port = request.port;
  setup.listener.client_ca_file = request.client_ca_file;
  if (!request.cert_file.empty()) {
    setup.listener.cert_chain_file = request.cert_file;
    setup.listener.private_key_file = request.key_file;
  } else {
    if (request.data_dir.empty()) return core::Status::InvalidArgument("MQTT TLS: no certificate and no data directory");
    const std::string dir = (std::filesystem::path(request.data_dir) / "pki" / "mqtt").string();
    // This host (it names the certificate), the listen address, and what local clients use.
    const std::vector<std::string> names = {HostName(), request.host, "localhost", "127.0.0.1", "::1"};
    auto made = connect::mqtt::EnsureSelfSignedCertificate(dir, names, now);
    if (!made.ok()) return made.status().WithPrefix("MQTT TLS self-signed certificate: ");
    setup.listener.cert_chain_file = made->cert_file;
    setup.listener.private_key_file = made->key_file;
    setup.self_signed = true;
    setup.created = made->created;
  }
  auto fingerprint = connect::mqtt::CertificateSha256Fingerprint(setup.listener.cert_chain_file);
  if (!fingerprint.ok()) return fingerprint.status().WithPrefix("MQTT TLS: ");
  setup.fingerprint = std::move(fingerprint).value();
  return setup;
}

}  // namespace shopfloor::app
