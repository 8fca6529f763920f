#include "server/credentials.h"

#include <cctype>

#include "server/query_params.h"

namespace shopfloor::server {

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Credentials Malformed(std::string problem) {
  Credentials c;
  c.kind = Credentials::kMalformed;
  c.problem = std::move(problem);
  return c;
}

Credentials Token(std::string_view token) {
  Credentials c;
  c.kind = Credentials::kToken;
  c.secret = std::string(token);
  return c;
}

Credentials Password(std::string_view user, std::string_view password) {
  Credentials c;
  c.kind = Credentials::kPassword;
  c.user = std::string(user);
  c.secret = std::string(password);
  return c;
}

std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return {};
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') {
      ++padding;
      continue;
    } else {
      return false;
    }
    if (padding > 0) return false;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return padding <= 2;
}

Credentials ExtractCredentials(const HttpRequest& request) {
  std::string_view auth = Trim(request.authorization);
  if (!auth.empty()) {
    size_t space = auth.find(' ');
    std::string_view scheme = auth.substr(0, space);
    std::string_view value = space == std::string_view::npos ? std::string_view() : Trim(auth.substr(space + 1));
    if (EqualsNoCase(scheme, "Bearer") || EqualsNoCase(scheme, "Token")) {
      if (value.empty()) return Malformed("Authorization header: the token is missing");
      return Token(value);
    }
    if (EqualsNoCase(scheme, "Basic")) {
      std::string decoded;
      if (!DecodeBase64(value, &decoded)) return Malformed("Authorization header: Basic credentials are not base64");
      size_t colon = decoded.find(':');
      if (colon == std::string::npos) return Malformed("Authorization header: Basic credentials need user:password");
      // A token as the password is a full credential by itself (Telegraf's password field).
      std::string_view password = std::string_view(decoded).substr(colon + 1);
      if (password.starts_with("sft_") || password.starts_with("sfs_")) return Token(password);
      return Password(std::string_view(decoded).substr(0, colon), std::string_view(decoded).substr(colon + 1));
    }
    return Malformed("Authorization header: the scheme must be Bearer, Token or Basic");
  }
  if (std::string_view session = CookieValue(request.cookie, "sf_session"); !session.empty()) return Token(session);
  auto params = QueryParams::Parse(request.target);
  if (params.ok()) {
    if (const std::string* t = params->Get("access_token"); t && !t->empty()) return Token(*t);
    const std::string* u = params->Get("u");
    const std::string* p = params->Get("p");
    if (p && !p->empty()) {
      // InfluxDB clients put a token in p with any (or no) user name.
      if (p->starts_with("sft_") || p->starts_with("sfs_")) return Token(*p);
      if (u && !u->empty()) return Password(*u, *p);
    }
  }
  return {};
}

}  // namespace shopfloor::server
