// GET /: a plain status page for people who open the server in a browser, until the web
// dashboard replaces it: what is stored, and how to read and write it.
#include <cctype>

#include <fmt/format.h>

#include "server/api.h"
#include "storage/storage.h"

namespace shopfloor::server {

namespace {

void AppendHtmlEscaped(std::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      default: out->push_back(c);
    }
  }
}

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

constexpr size_t kMaxListedSeries = 500;

}  // namespace

HttpResponse Api::HandleIndex(const auth::Principal& principal) {
  const storage::StorageStats st = storage_->stats();
  std::vector<storage::SeriesInfo> series = storage_->MatchSeries("**");
  // A site-scoped caller sees the series of its sites only (like /api/v1/series).
  std::erase_if(series, [&](const storage::SeriesInfo& info) { return !CanAccessKey(principal, info.key); });
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  std::string& b = r.body;
  b += R"(<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shopfloor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;background:#111;color:#ddd;margin:2em;max-width:70em}
a{color:#7cc4ff}code{color:#ffd479}table{border-collapse:collapse}td,th{padding:2px 12px 2px 0;text-align:left}
th{color:#999;font-weight:normal}</style></head><body><h1>Shopfloor</h1>)";
  fmt::format_to(std::back_inserter(b),
                 "<p>{} series, {} samples written since start, {} in memory, {} block files ({:.1f} MiB), "
                 "{} corruptions found.</p>",
                 st.series, st.samples_written, st.head_samples, st.blocks, double(st.block_bytes) / (1 << 20),
                 st.corruptions);
  b += R"(<h2>API</h2><ul>
<li><code>POST /write?precision=s</code> &mdash; InfluxDB line protocol (Telegraf works unchanged)</li>
<li><a href="/api/v1/series?match=**"><code>GET /api/v1/series?match=GLOB</code></a></li>
<li><code>GET /api/v1/query?series=KEY&amp;from=&amp;to=[&amp;step=1m&amp;agg=avg,twa]</code></li>
<li><a href="/api/v1/latest?match=**"><code>GET /api/v1/latest?match=GLOB</code></a></li>
<li><a href="/healthz"><code>GET /healthz</code></a></li></ul><h2>Series</h2>)";
  if (series.empty()) b += "<p>No data yet.</p>";
  b += "<table><tr><th>key</th><th>type</th></tr>";
  for (size_t i = 0; i < series.size() && i < kMaxListedSeries; ++i) {
    b += "<tr><td><a href=\"/api/v1/query?series=";
    b += UrlEncode(series[i].key);
    b += "\">";
    AppendHtmlEscaped(series[i].key, &b);
    fmt::format_to(std::back_inserter(b), "</a></td><td>{}</td></tr>", core::ValueTypeName(series[i].type));
  }
  b += "</table>";
  if (series.size() > kMaxListedSeries) {
    fmt::format_to(std::back_inserter(b), "<p>&hellip; and {} more.</p>", series.size() - kMaxListedSeries);
  }
  b += "</body></html>\n";
  return r;
}

}  // namespace shopfloor::server
