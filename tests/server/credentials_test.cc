// Where credentials are read from: every scheme Telegraf, InfluxDB clients, browsers and
// WebSocket clients use.
#include "server/credentials.h"

#include <gtest/gtest.h>

namespace shopfloor::server {
namespace {

Credentials From(std::string_view authorization, std::string_view target = "/write", std::string_view cookie = {}) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.authorization = authorization;
  r.cookie = cookie;
  return ExtractCredentials(r);
}

TEST(Credentials, BearerAndTokenSchemes) {
  for (std::string_view header : {"Bearer sft_abc", "bearer sft_abc", "Token sft_abc", "  Bearer   sft_abc  "}) {
    Credentials c = From(header);
    EXPECT_EQ(c.kind, Credentials::kToken) << header;
    EXPECT_EQ(c.secret, "sft_abc") << header;
  }
  EXPECT_EQ(From("Bearer").kind, Credentials::kMalformed);
  EXPECT_EQ(From("Digest x=y").kind, Credentials::kMalformed);
}

TEST(Credentials, BasicWithPasswordOrToken) {
  // "ada:s3cret pass" and "telegraf:sft_tok"
  Credentials c = From("Basic YWRhOnMzY3JldCBwYXNz");
  ASSERT_EQ(c.kind, Credentials::kPassword);
  EXPECT_EQ(c.user, "ada");
  EXPECT_EQ(c.secret, "s3cret pass");
  c = From("Basic dGVsZWdyYWY6c2Z0X3Rvaw==");
  ASSERT_EQ(c.kind, Credentials::kToken);
  EXPECT_EQ(c.secret, "sft_tok");
  EXPECT_EQ(From("Basic !!!").kind, Credentials::kMalformed);
  EXPECT_EQ(From("Basic bm9jb2xvbg==").kind, Credentials::kMalformed);  // "nocolon"
}

TEST(Credentials, CookieQueryTokenAndInfluxParameters) {
  Credentials c = From("", "/api/v1/assets", "theme=dark; sf_session=sfs_xyz; other=1");
  ASSERT_EQ(c.kind, Credentials::kToken);
  EXPECT_EQ(c.secret, "sfs_xyz");
  c = From("", "/api/v1/live?access_token=sft_q");
  ASSERT_EQ(c.kind, Credentials::kToken);
  EXPECT_EQ(c.secret, "sft_q");
  c = From("", "/write?db=x&u=ada&p=pw%21");
  ASSERT_EQ(c.kind, Credentials::kPassword);
  EXPECT_EQ(c.user, "ada");
  EXPECT_EQ(c.secret, "pw!");
  c = From("", "/write?u=anything&p=sft_tok");
  ASSERT_EQ(c.kind, Credentials::kToken);
  EXPECT_EQ(c.secret, "sft_tok");
  EXPECT_EQ(From("", "/write?db=x").kind, Credentials::kNone);
  // The header wins over everything else.
  EXPECT_EQ(From("Bearer sft_h", "/x?access_token=sft_q", "sf_session=sfs_c").secret, "sft_h");
}

TEST(Credentials, Base64) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("aGVsbG8=", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(DecodeBase64("aGVsbG8", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(DecodeBase64("aGV=sbG8", &out));
  EXPECT_FALSE(DecodeBase64("a b", &out));
}

}  // namespace
}  // namespace shopfloor::server
