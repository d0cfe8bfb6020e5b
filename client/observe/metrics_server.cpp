// kwire::metrics_server (kwire/client/metrics_server.hpp) on Boost.Beast: an acceptor, and one
// session per connection reading requests with a bounded parser and answering GET /metrics with
// the registries' Prometheus text; keep-alive, idle timeout, 404/405 and bounded requests.
#include "kwire/client/metrics_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <mutex>
#include <optional>

namespace kwire {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
struct session;
}

struct metrics_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, std::vector<std::shared_ptr<const metrics_registry>> r, metrics_server_options o)
        : acceptor(ex), registries(std::move(r)), options(std::move(o)) {}

    void listen() {
        const tcp::endpoint ep(asio::ip::make_address(options.address), options.port);
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
        port = acceptor.local_endpoint().port();
    }
    void accept();
    void close();

    std::string exposition() const {
        std::vector<std::shared_ptr<const metrics_registry>> held;
        {
            std::lock_guard lock(mutex);
            held = registries;
        }
        std::vector<const metrics_registry*> raw;
        for (const auto& r : held) raw.push_back(r.get());
        return client::to_prometheus(raw);
    }

    tcp::acceptor acceptor;
    mutable std::mutex mutex;  // registries: add() may come from any thread
    std::vector<std::shared_ptr<const metrics_registry>> registries;
    metrics_server_options options;
    std::uint16_t port = 0;
    bool closed = false;
    std::list<std::weak_ptr<session>> sessions;  // to close them with the server
};

namespace {

/// One HTTP connection: read a request, answer it, again while the client keeps it alive.
struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, std::shared_ptr<metrics_server::impl> srv)
        : stream(std::move(s)), buffer(srv->options.max_request_bytes), server(std::move(srv)) {}

    void read() {
        parser.emplace();
        parser->header_limit(static_cast<std::uint32_t>(server->options.max_request_bytes));
        parser->body_limit(server->options.max_request_bytes);
        stream.expires_after(server->options.idle_timeout);
        http::async_read(stream, buffer, *parser, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
            return reply(http::status::request_header_fields_too_large, "request too large\n", false);
        if (ec == http::error::body_limit) return reply(http::status::payload_too_large, "request too large\n", false);
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted)
            return shut();
        if (ec.category() == http::make_error_code(http::error::bad_method).category())
            return reply(http::status::bad_request, "bad request\n", false);  // any other parse error
        if (ec) return shut();
        const auto& req = parser->get();
        const auto target = std::string_view(req.target().data(), req.target().size());
        const auto path = target.substr(0, target.find('?'));
        if (req.method() != http::verb::get) return reply(http::status::method_not_allowed, "only GET\n", req.keep_alive());
        if (path != "/metrics") return reply(http::status::not_found, "not found: try /metrics\n", req.keep_alive());
        reply(http::status::ok, server->exposition(), req.keep_alive(), "text/plain; version=0.0.4; charset=utf-8");
    }

    void reply(http::status status, std::string body, bool keep_alive, std::string_view type = "text/plain") {
        response.emplace(status, 11);
        response->set(http::field::server, "kwire");
        response->set(http::field::content_type, type);
        if (status == http::status::method_not_allowed) response->set(http::field::allow, "GET");
        response->keep_alive(keep_alive);
        response->body() = std::move(body);
        response->prepare_payload();
        stream.expires_after(server->options.idle_timeout);
        http::async_write(stream, *response, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
            if (ec || !keep_alive) return self->shut();
            self->read();
        });
    }

    void shut() {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
    }

    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::empty_body>> parser;
    std::optional<http::response<http::string_body>> response;
    std::shared_ptr<metrics_server::impl> server;
};

}  // namespace

void metrics_server::impl::accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (self->closed || ec == asio::error::operation_aborted) return;
        if (!ec) {
            self->sessions.remove_if([](const std::weak_ptr<session>& w) { return w.expired(); });
            if (self->sessions.size() >= self->options.max_connections) {
                beast::error_code ignored;
                socket.close(ignored);  // over the limit: refuse rather than queue
            } else {
                auto s = std::make_shared<session>(std::move(socket), self);
                self->sessions.push_back(s);
                s->read();
            }
        }
        self->accept();
    });
}

void metrics_server::impl::close() {
    if (closed) return;
    closed = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    for (auto& w : sessions)
        if (auto s = w.lock()) s->stream.close();
    sessions.clear();
}

metrics_server::metrics_server(asio::any_io_executor ex, std::vector<std::shared_ptr<const metrics_registry>> registries,
                               metrics_server_options options)
    : impl_(std::make_shared<impl>(ex, std::move(registries), std::move(options))) {
    impl_->listen();
    impl_->accept();
}

// Destroyed on the server's executor (as every Asio object is): the listener and the sessions
// close here and now. A dispatch would outlive the call, and perhaps the io_context too.
metrics_server::~metrics_server() {
    if (impl_) impl_->close();
}

std::uint16_t metrics_server::port() const noexcept { return impl_->port; }

void metrics_server::add(std::shared_ptr<const metrics_registry> registry) {
    std::lock_guard lock(impl_->mutex);
    impl_->registries.push_back(std::move(registry));
}

void metrics_server::close() {
    // On the server's executor: the acceptor and sessions belong to it.
    asio::dispatch(impl_->acceptor.get_executor(), [i = impl_] { i->close(); });
}

}  // namespace kwire
