// Certificates for the MQTT TLS listener: a self-signed one made on first start when none was
// configured, and SHA-256 fingerprints to show users so they can check or pin a certificate.
//
// EnsureSelfSignedCertificate keeps `<dir>/server.key` (an EC P-256 key, mode 0600, in a
// directory of mode 0700) and `<dir>/server.crt` (self-signed, SHA-256, valid 10 years,
// CA:FALSE, serverAuth, with the given names in subjectAltName): it makes them when either is
// missing and reuses them afterwards, so clients can trust the file once (`--cafile`).
//
// Thread safety: free functions. Two processes creating the same files at once are not
// serialised (each writes whole files through a rename; the last pair wins).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace shopfloor::connect::mqtt {

struct SelfSignedCertificate {
  std::string cert_file;  // PEM
  std::string key_file;   // PEM, mode 0600
  bool created = false;   // made by this call
};

// `names`: host names and IP addresses the certificate is for (DNS or IP subjectAltName
// entries; "", "0.0.0.0" and "::" are skipped). `now` starts the validity (a day earlier, for
// clients whose clock is behind).
core::Result<SelfSignedCertificate> EnsureSelfSignedCertificate(const std::string& dir,
                                                                const std::vector<std::string>& names,
                                                                core::Timestamp now);

// The SHA-256 fingerprint of the first certificate of a PEM file, as upper-case hex pairs
// joined by ':' (what `openssl x509 -noout -fingerprint -sha256` prints after the '=').
core::Result<std::string> CertificateSha256Fingerprint(const std::string& cert_file);

}  // namespace shopfloor::connect::mqtt
