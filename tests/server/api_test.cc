// The request handlers without sockets: routing, /write, /api/v1/series, /api/v1/query.
#include "server/api.h"

#include <string>

#include <gtest/gtest.h>

#include "fake_storage.h"

namespace shopfloor::server {
namespace {

constexpr core::Timestamp kNow = 1'700'000'000'000'000'000LL;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : clock_(kNow), api_(&storage_, &clock_, HttpServerOptions{}) {}

  HttpResponse Call(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string_view encoding = {}) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_encoding = encoding;
    return api_.Handle(r);
  }

  testing::FakeStorage storage_;
  core::SimClock clock_;
  Api api_;
};

TEST_F(ApiTest, WriteThenQueryRaw) {
  HttpResponse w = Call("POST", "/write?db=telegraf&rp=autogen&u=x&p=y&precision=ms",
                        "press,line=a temp=20.5,count=3i 1000\npress,line=a temp=21.5,count=4i 2000\n");
  ASSERT_EQ(w.status, 204) << w.body;
  EXPECT_EQ(storage_.total_samples(), 4u);

  HttpResponse q = Call("GET", "/api/v1/query?series=press,line%3Da/temp&from=0&to=3000");
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.body, R"({"series":"press,line=a/temp","type":"double","points":[[1000,20.5],[2000,21.5]]})");

  q = Call("GET", "/api/v1/query?series=press,line%3Da/count&from=1000000000&to=1500000000&precision=ns");
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.body, R"({"series":"press,line=a/count","type":"int64","points":[[1000000000,3]]})");
}

TEST_F(ApiTest, LatestByKeyAndByGlob) {
  ASSERT_EQ(Call("POST", "/write?precision=ms", "m,l=a v=1 1000\nm,l=a v=2 3000\nm,l=a v=9 2000\nm,l=b s=\"on\" 5\n").status,
            204);
  HttpResponse r = Call("GET", "/api/v1/latest?series=m,l%3Da/v");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"series":[{"key":"m,l=a/v","type":"double","ts":3000,"value":2}]})");
  r = Call("GET", "/api/v1/latest?match=m,l%3D*/*&precision=ns");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("ts":5000000,"value":"on")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("ts":3000000000,"value":2)"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/api/v1/latest?series=nope").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/latest").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/latest?match=**&bogus=1").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/latest?match=**").status, 405);
}

TEST_F(ApiTest, IndexPageListsSeriesEscaped) {
  ASSERT_EQ(Call("POST", "/write", "m,t=<b> v=1 1\n").status, 204);
  HttpResponse r = Call("GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("1 series"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("m,t=&lt;b&gt;/v"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("series=m%2Ct%3D%3Cb%3E/v"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<b>"), std::string::npos);
}

TEST_F(ApiTest, KeyMemosOfTwoApisOnOneThreadDoNotMix) {
  ASSERT_EQ(Call("POST", "/write", "m,t=a v=1 1\n").status, 204);  // memo: "m,t=a/v" -> id 0 here
  testing::FakeStorage other;
  ASSERT_TRUE(other.GetOrCreateSeries("other/first", core::ValueType::kDouble).ok());  // id 0 there
  Api second(&other, &clock_, HttpServerOptions{});
  HttpRequest r;
  r.method = "POST";
  r.target = "/write";
  r.body = "m,t=a v=2 1\n";
  ASSERT_EQ(second.Handle(r).status, 204);
  auto series = other.FindSeries("m,t=a/v");
  ASSERT_TRUE(series.ok());
  EXPECT_EQ(core::ToU64(series->id), 1u);
  r.method = "GET";
  r.target = "/api/v1/query?series=other/first&from=0&to=10&precision=ns";
  EXPECT_EQ(second.Handle(r).body, R"({"series":"other/first","type":"double","points":[]})");
}

TEST_F(ApiTest, SeriesKeysForTaggedAndUntaggedPoints) {
  ASSERT_EQ(Call("POST", "/write", "m v=1 1\ncpu,z=1,a=x\\ y busy=t,name=\"n\" 1").status, 204);
  HttpResponse r = Call("GET", "/api/v1/series");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"({"key":"m/v","id":0,"type":"double"})"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("key":"cpu,a=x\\ y,z=1/busy")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("type":"bool")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("type":"string")"), std::string::npos) << r.body;
  r = Call("GET", "/api/v1/series?match=m/*");
  EXPECT_EQ(r.body, R"([{"key":"m/v","id":0,"type":"double"}])");
}

TEST_F(ApiTest, MissingTimestampTakesClockTime) {
  ASSERT_EQ(Call("POST", "/write?precision=s", "m v=1").status, 204);
  HttpResponse q = Call("GET", "/api/v1/query?series=m/v&precision=s&from=0&to=2000000000");
  EXPECT_EQ(q.body, R"({"series":"m/v","type":"double","points":[[1700000000,1]]})");
}

TEST_F(ApiTest, BadBatchWritesNothingAndNamesLine) {
  HttpResponse w = Call("POST", "/write", "m v=1 1\nm v=2 2\nm temp=abc 3\n");
  EXPECT_EQ(w.status, 400);
  EXPECT_EQ(w.body,
            R"({"error":"line 3: invalid field value for key \"temp\": expected a number, bool or quoted string"})");
  EXPECT_EQ(storage_.total_samples(), 0u);
  EXPECT_EQ(storage_.write_calls(), 0);
}

TEST_F(ApiTest, TypeConflictIs400NamingLineAndWritesNothing) {
  ASSERT_EQ(Call("POST", "/write", "m v=1 1").status, 204);
  HttpResponse w = Call("POST", "/write", "m w=5 2\nm v=2i 2");
  EXPECT_EQ(w.status, 400);
  EXPECT_NE(w.body.find("line 2: field type conflict: series \\\"m/v\\\" is double, got int64"), std::string::npos)
      << w.body;
  EXPECT_EQ(storage_.total_samples(), 1u);
  // Conflict inside one batch for a new series.
  w = Call("POST", "/write", "n v=1 1\nn v=true 2");
  EXPECT_EQ(w.status, 400);
  EXPECT_NE(w.body.find("line 2"), std::string::npos);
  EXPECT_EQ(storage_.total_samples(), 1u);
}

TEST_F(ApiTest, RepeatedKeysSkipTheEngineLookup) {
  ASSERT_EQ(Call("POST", "/write", "m,h=a v=1,w=2 1").status, 204);
  int lookups = storage_.lookups();
  EXPECT_EQ(lookups, 2);
  for (int i = 2; i < 20; ++i) {
    ASSERT_EQ(Call("POST", "/write", "m,h=a v=1,w=2 " + std::to_string(i)).status, 204);
  }
  EXPECT_EQ(storage_.lookups(), lookups);
  EXPECT_EQ(api_.cached_series(), 2u);
  EXPECT_EQ(storage_.total_samples(), 38u);
}

TEST_F(ApiTest, StorageErrorsMapTo507And503) {
  storage_.fail_writes = core::Status::NoSpace("disk full", "/data");
  HttpResponse w = Call("POST", "/write", "m v=1 1");
  EXPECT_EQ(w.status, 507);
  EXPECT_NE(w.body.find("disk full"), std::string::npos);
  storage_.fail_writes = core::Status::IOError("fsync failed");
  EXPECT_EQ(Call("POST", "/write", "m v=1 1").status, 503);
}

TEST_F(ApiTest, WriteRejectsBadPrecisionAndGzip) {
  HttpResponse w = Call("POST", "/write?precision=sec", "m v=1 1");
  EXPECT_EQ(w.status, 400);
  EXPECT_NE(w.body.find("precision"), std::string::npos);
  w = Call("POST", "/write", "m v=1 1", "gzip");
  EXPECT_EQ(w.status, 415);
  EXPECT_NE(w.body.find("gzip"), std::string::npos);
  EXPECT_EQ(storage_.total_samples(), 0u);
}

TEST_F(ApiTest, RoutingErrors) {
  HttpResponse r = Call("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"code":404,"message":"no such endpoint: /nope"}})");
  r = Call("GET", "/write");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_NE(r.body.find(R"("code":405)"), std::string::npos);
  EXPECT_EQ(Call("DELETE", "/api/v1/query").status, 405);
  EXPECT_EQ(Call("GET", "/bad%zzpath").status, 400);
  r = Call("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(Call("GET", "/ping").status, 204);
  EXPECT_EQ(Call("POST", "/query?q=CREATE+DATABASE+%22telegraf%22").status, 200);
  EXPECT_EQ(Call("POST", "/query", "q=CREATE%20DATABASE%20x").status, 200);
  EXPECT_EQ(Call("POST", "/query?q=SELECT+*+FROM+m").status, 400);
}

TEST_F(ApiTest, QueryParameterErrorsNameTheParameter) {
  ASSERT_EQ(Call("POST", "/write", "m v=1 1").status, 204);
  struct Case {
    std::string target;
    int status;
    std::string needle;
  };
  const Case cases[] = {
      {"/api/v1/query", 400, "\\\"series\\\""},
      {"/api/v1/query?series=nope/x&from=0&to=1", 404, "not found"},
      {"/api/v1/query?series=m/v&from=abc&to=1", 400, "\\\"from\\\""},
      {"/api/v1/query?series=m/v&from=0&to=2024-13-01T00:00:00Z", 400, "\\\"to\\\""},
      {"/api/v1/query?series=m/v&from=5&to=5", 400, "\\\"from\\\" must be before"},
      {"/api/v1/query?series=m/v&from=0&to=1&step=0s", 400, "\\\"step\\\""},
      {"/api/v1/query?series=m/v&from=0&to=1&step=1x", 400, "\\\"step\\\""},
      {"/api/v1/query?series=m/v&from=0&to=1&step=1m&agg=avg,median", 400, "\\\"agg\\\""},
      {"/api/v1/query?series=m/v&from=0&to=1&agg=avg", 400, "\\\"step\\\" is required"},
      {"/api/v1/query?series=m/v&from=0&to=1&precision=h", 400, "\\\"precision\\\""},
      {"/api/v1/query?series=m/v&from=0&to=1&max_points=-1", 400, "\\\"max_points\\\""},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("GET", c.target);
    EXPECT_EQ(r.status, c.status) << c.target << " " << r.body;
    EXPECT_NE(r.body.find(c.needle), std::string::npos) << c.target << " " << r.body;
  }
}

TEST_F(ApiTest, AggregateWindows) {
  ASSERT_EQ(Call("POST", "/write?precision=s", "m v=1 0\nm v=3 30\nm v=10 60\nm v=20 61\n").status, 204);
  HttpResponse r = Call("GET", "/api/v1/query?series=m/v&from=0&to=120&precision=s&step=1m&agg=min,max,count,avg");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"series":"m/v","type":"double","step":60,"resolution":"raw","columns":["ts","min","max","count","avg"],)"
            R"("rows":[[0,1,3,2,2],[60,10,20,2,15]]})");
  // Default aggregate is avg; RFC 3339 bounds.
  r = Call("GET", "/api/v1/query?series=m/v&from=1970-01-01T00:00:00Z&to=1970-01-01T00:02:00Z&step=60000");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("columns":["ts","avg"],"rows":[[0,2],[60000,15]])"), std::string::npos) << r.body;
}

TEST_F(ApiTest, RawQueryTruncatesAtMaxPoints) {
  ASSERT_EQ(Call("POST", "/write?precision=ms", "m v=1 1\nm v=2 2\nm v=3 3\n").status, 204);
  HttpResponse r = Call("GET", "/api/v1/query?series=m/v&from=0&to=10&max_points=2");
  EXPECT_EQ(r.body, R"({"series":"m/v","type":"double","points":[[1,1],[2,2]],"truncated":true})");
}

TEST_F(ApiTest, NonGoodQualityIsReported) {
  auto id = storage_.GetOrCreateSeries("q/v", core::ValueType::kDouble);
  ASSERT_TRUE(id.ok());
  core::SampleBatch b;
  b.Add(*id, 1 * core::kMillisecond, 1.5, core::Quality::BadSensorFailure());
  b.Add(*id, 2 * core::kMillisecond, 2.5);
  ASSERT_TRUE(storage_.Write(b).ok());
  HttpResponse r = Call("GET", "/api/v1/query?series=q/v&from=0&to=10");
  EXPECT_EQ(r.body, R"({"series":"q/v","type":"double","points":[[1,1.5,2156658688],[2,2.5]]})");
}

}  // namespace
}  // namespace shopfloor::server
