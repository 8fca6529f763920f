// Which certificate `serve`'s MQTT TLS listener uses: the files given for it, else (by the
// caller's choice) the HTTP server's, else a self-signed one kept under
// `<data dir>/pki/mqtt/` and made on first start (connect/mqtt/tls_cert.h). Whatever is used,
// its SHA-256 fingerprint is reported so users can check or pin it.
//
// Thread safety: a free function; call it before the broker starts.
#pragma once

#include <cstdint>
#include <string>

#include "connect/mqtt/broker.h"
#include "core/status.h"
#include "core/types.h"

namespace shopfloor::app {

struct MqttTlsRequest {
  std::string host;
  uint16_t port = 0;
  std::string cert_file, key_file;  // both or neither; neither: self-signed
  std::string client_ca_file;       // optional: require client certificates
  std::string data_dir;             // holds pki/mqtt/ for the self-signed certificate
};

struct MqttTlsSetup {
  connect::mqtt::TlsListenerOptions listener;
  std::string fingerprint;  // SHA-256 of the server certificate, "AB:CD:..."
  bool self_signed = false;
  bool created = false;     // the self-signed certificate was made now
};

core::Result<MqttTlsSetup> ResolveMqttTls(const MqttTlsRequest& request, core::Timestamp now);

}  // namespace shopfloor::app
