// Where a request's credentials are, in order of precedence:
//   Authorization: Bearer <token> | Token <token>    (Token is InfluxDB 2's spelling)
//   Authorization: Basic base64(user:password)        (password may be an API token)
//   Cookie: sf_session=<token>                        (the dashboard)
//   ?access_token=<token>                             (WebSocket clients cannot set headers)
//   ?u=<user>&p=<password>                            (InfluxDB 1.x clients)
// Reads bytes from the network: anything malformed is kMalformed with a reason.
#pragma once

#include <string>

#include "server/http_types.h"

namespace shopfloor::server {

struct Credentials {
  enum Kind { kNone, kToken, kPassword, kMalformed };
  Kind kind = kNone;
  std::string user;    // kPassword
  std::string secret;  // the token or the password
  std::string problem; // kMalformed
};

Credentials ExtractCredentials(const HttpRequest& request);

// Standard base64 (RFC 4648, padding optional); false on any other character.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace shopfloor::server
