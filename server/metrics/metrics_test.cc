#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/http_server.h"
#include "server/metrics/registry.h"
#include "server/metrics/server_metrics.h"

namespace rapport::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sends `request` to 127.0.0.1:port and returns the whole response.
std::string HttpExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

TEST(FormatTest, Values) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(FormatTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(FormatTest, SanitizesNames) {
  EXPECT_EQ(SanitizeName("loyalty.points-awarded"), "loyalty_points_awarded");
  EXPECT_EQ(SanitizeName("9lives"), "_lives");
  EXPECT_EQ(SanitizeName(""), "_");
}

TEST(RegistryTest, CounterWithLabels) {
  Registry registry;
  CounterFamily& family =
      registry.AddCounter("x_total", "Things.\nDone.", {"method", "code"});
  family.WithLabels({"/a.B/C", "OK"}).Increment();
  family.WithLabels({"/a.B/C", "OK"}).Increment(2);
  family.WithLabels({"/a.B/C", "NOT_FOUND"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Things.\\nDone.\n"
            "# TYPE x_total counter\n"
            "x_total{method=\"/a.B/C\",code=\"NOT_FOUND\"} 1\n"
            "x_total{method=\"/a.B/C\",code=\"OK\"} 3\n");
}

TEST(RegistryTest, CounterWithoutLabelsHasNoBraces) {
  Registry registry;
  registry.AddCounter("y_total", "Y.").WithLabels({}).Increment();
  EXPECT_THAT(registry.Render(), HasSubstr("\ny_total 1\n"));
}

TEST(RegistryTest, HistogramBucketsAreCumulative) {
  Registry registry;
  HistogramFamily& family =
      registry.AddHistogram("lat_seconds", "Latency.", {"m"}, {0.1, 1});
  Histogram& h = family.WithLabels({"a"});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"a\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{m=\"a\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"a\"} 7.65\n"
            "lat_seconds_count{m=\"a\"} 4\n");
}

TEST(RegistryTest, CallbacksRunPerRenderInOrder) {
  Registry registry;
  int calls = 0;
  registry.AddCallback("g", "G.", "gauge", {"state"}, [&calls] {
    ++calls;
    return std::vector<Sample>{{{"idle"}, 2}, {{"in_use"}, 1}};
  });
  registry.AddCounter("c_total", "C.");
  const std::string text = registry.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(text, StartsWith("# HELP g G.\n# TYPE g gauge\n"
                               "g{state=\"idle\"} 2\ng{state=\"in_use\"} 1\n"
                               "# HELP c_total C.\n"));
}

TEST(HttpServerTest, SplitsHostPort) {
  std::string host;
  int port = -1;
  EXPECT_TRUE(SplitHostPort("0.0.0.0:9090", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9090);
  EXPECT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(SplitHostPort("9090", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:x", &host, &port));
}

TEST(HttpServerTest, RejectsBadAddresses) {
  EXPECT_EQ(HttpServer::Start("nonsense", [] { return ""; }).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      HttpServer::Start("example.com:80", [] { return ""; }).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(HttpServerTest, ServesMetricsAndHealth) {
  std::atomic<bool> ready{false};
  auto server = HttpServer::Start(
      "127.0.0.1:0", [] { return "m 1\n"; }, [&ready] { return ready.load(); });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  std::string r =
      HttpExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Content-Type: text/plain; version=0.0.4\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\nm 1\n"));

  r = HttpExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\nok\n"));

  r = HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503"));
  ready = true;
  r = HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));

  r = HttpExchange(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 404"));
  r = HttpExchange(port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 405"));
  r = HttpExchange(port, "garbage\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 400"));

  // Oversized headers are refused, not buffered.
  r = HttpExchange(port, "GET /metrics HTTP/1.1\r\nX-Big: " +
                             std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 400"));

  (*server)->Stop();
  (*server)->Stop();  // idempotent
  EXPECT_EQ(HttpExchange(port, "GET /healthz HTTP/1.1\r\n\r\n"), "");
}

TEST(ServerMetricsTest, RecordsRpcsAndBoundsMethodLabels) {
  ServerMetrics metrics(nullptr, nullptr, nullptr);
  metrics.RecordRpc("/a.S/M", "OK", 0.002);
  metrics.RecordRpc("/a.S/M", "OK", 0.2);
  for (size_t i = 0; i < kMaxMethods + 10; ++i) {
    metrics.RecordRpc("/x/" + std::to_string(i), "UNIMPLEMENTED", 0);
  }
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("rapport_grpc_requests_total{method=\"/a.S/M\","
                              "code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("rapport_grpc_request_duration_seconds_bucket{"
                              "method=\"/a.S/M\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rapport_grpc_requests_total{method=\"other\","
                              "code=\"UNIMPLEMENTED\"} 11\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("rapport_db_pool")));
}

}  // namespace
}  // namespace rapport::metrics
