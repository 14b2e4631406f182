#include "server/metrics/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rapport::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kReadTimeout{10};
constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kBodyLimit = 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const std::function<std::string()>* render,
          const std::function<bool()>* ready)
      : stream_(std::move(socket)), render_(render), ready_(ready) {
    parser_.header_limit(kHeaderLimit);
    parser_.body_limit(kBodyLimit);
  }

  void Run() {
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnRead(ec);
        });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      return;
    }
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->keep_alive(false);
    response->set(http::field::server, "rapportd");
    if (ec) {
      Reply(response, http::status::bad_request, "text/plain", "bad request\n");
      return;
    }
    const auto& request = parser_.get();
    std::string target(request.target());
    if (const size_t q = target.find('?'); q != std::string::npos) {
      target.resize(q);
    }
    const bool head = request.method() == http::verb::head;
    if (target != "/metrics" && target != "/healthz" && target != "/readyz") {
      Reply(response, http::status::not_found, "text/plain", "not found\n");
    } else if (request.method() != http::verb::get && !head) {
      response->set(http::field::allow, "GET, HEAD");
      Reply(response, http::status::method_not_allowed, "text/plain",
            "method not allowed\n");
    } else if (target == "/healthz") {
      Reply(response, http::status::ok, "text/plain", "ok\n", head);
    } else if (target == "/readyz") {
      if ((*ready_)()) {
        Reply(response, http::status::ok, "text/plain", "ready\n", head);
      } else {
        Reply(response, http::status::service_unavailable, "text/plain",
              "not ready\n", head);
      }
    } else {
      Reply(response, http::status::ok, "text/plain; version=0.0.4",
            (*render_)(), head);
    }
  }

  void Reply(std::shared_ptr<http::response<http::string_body>> response,
             http::status status, const char* content_type, std::string body,
             bool head = false) {
    response->result(status);
    response->set(http::field::content_type, content_type);
    response->body() = std::move(body);
    response->prepare_payload();
    if (head) response->body().clear();
    stream_.expires_after(kReadTimeout);
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response](beast::error_code, std::size_t) {
          beast::error_code ignored;
          self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  const std::function<std::string()>* render_;  // owned by the server
  const std::function<bool()>* ready_;          // owned by the server
};

}  // namespace

struct HttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::function<std::string()> render;
  std::function<bool()> ready;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec,
                                                        tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec)
        std::make_shared<Session>(std::move(socket), &render, &ready)->Run();
      Accept();
    });
  }
};

bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  int p = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return false;
  }
  *host = h;
  *port = p;
  return true;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& listen, std::function<std::string()> render,
    std::function<bool()> ready) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics listen address \"", listen, "\" is not host:port"));
  }
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics listen address \"", listen, "\": host must be an IP address"));
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.render = std::move(render);
  impl.ready = std::move(ready);
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen,
                                               " for metrics: ", ec.message()));
  }
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.Accept();
  server->thread_ = std::thread([&impl] { impl.io.run(); });
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  // Stops the loop; open sessions are dropped with the io_context.
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace rapport::metrics
