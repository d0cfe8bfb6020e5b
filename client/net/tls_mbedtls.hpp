// TLS on mbedTLS 2.28 (KWIRE_TLS_BACKEND=mbedtls): the client side of TLS 1.2 over a TCP socket,
// for broker_connection's transport. Two parts:
//
//   tls_engine  sans-I/O: an mbedTLS session whose BIO callbacks read from and write to two memory
//               buffers (returning WANT_READ / WANT_WRITE), so mbedTLS never touches the socket.
//               Its functions are compiled in tls_mbedtls.cpp, the only file with mbedTLS headers.
//   tls_stream  the engine driven by Asio on the socket: async_handshake, async_read_some and
//               async_write_some (an AsyncReadStream / AsyncWriteStream, so net::async_write
//               writes a whole buffer sequence over it), as composed operations: nothing is
//               allocated per read or write beyond what Asio recycles for its handlers.
//
// Verification matches the OpenSSL backend: the chain against the configured CAs (a file, a
// directory, PEM text, or the system store), TLS 1.2 at least (and at most: mbedTLS 2.28 has no
// TLS 1.3), SNI for host names, and with ssl.endpoint.identification.algorithm=https the host
// name checked against the certificate's DNS names (no partial wildcards), or for a numeric
// host, its IP address against the iPAddress names. One read and one write may be in progress at
// once, as on Asio's ssl::stream; every call on the same executor (strand), as for a socket.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"

namespace kwire::client::detail::mbed {

namespace net = boost::asio;

/// The category of TLS failures: mbedTLS's error codes (negative) as they are, and a failed
/// certificate verification as its mbedTLS flags (positive), whose message starts with
/// "certificate verify failed" and names the reasons.
const std::error_category& tls_category() noexcept;

/// The shared, read-only part: CAs, the client certificate and key, the mbedTLS configuration.
class tls_context;
/// Loads what `t` names; nullptr and client_errc::tls_setup_failed if anything fails to load
/// (an unreadable CA, a key that does not decrypt or does not match the certificate).
std::shared_ptr<tls_context> make_tls_context(const tls_config& t, std::error_code& ec);

/// A handshake failure that means the other side does not speak TLS (a plaintext listener
/// closes on the ClientHello or answers with something that is not a record):
/// client_errc::plaintext_on_tls; anything else unchanged.
std::error_code classify_handshake_error(const std::error_code& ec);

/// The first buffer of the sequence that is not empty (an empty one if none is).
template <class Buffer, class Buffers> Buffer first_non_empty(const Buffers& buffers) {
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
        if (Buffer(*it).size() > 0) return Buffer(*it);
    return {};
}

class tls_engine {
public:
    /// `host`: SNI and, with `verify_hostname`, the name the certificate must carry.
    tls_engine(std::shared_ptr<tls_context> ctx, const std::string& host, bool verify_hostname);
    ~tls_engine();
    tls_engine(const tls_engine&) = delete;
    tls_engine& operator=(const tls_engine&) = delete;

    /// What a step needs next: nothing (done: `bytes` were read or written), bytes from the
    /// peer in input_space(), or the output() sent first. Output may be pending after any step.
    enum class want { nothing, input, output };
    struct step {
        want next = want::nothing;
        std::size_t bytes = 0;
        std::error_code ec;
    };
    step handshake();
    step read(net::mutable_buffer b);
    /// Encrypts at most one record's worth of `b`; call only with no output pending.
    step write(net::const_buffer b);
    /// A write's data: `b` itself when it holds enough for a record, else the first bytes of
    /// the sequence gathered into a buffer of the engine's (made on first use).
    template <class ConstBuffers> net::const_buffer record_source(const ConstBuffers& buffers);

    net::mutable_buffer input_space() noexcept;
    void input_received(std::size_t n) noexcept;
    net::const_buffer output() const noexcept { return {out_.data(), out_size_}; }
    void output_sent(std::size_t n) noexcept;

    static constexpr std::size_t max_record_payload = 16384;

private:
    struct session;  // mbedtls_ssl_context and the verification state (tls_mbedtls.cpp)
    static int on_send(void* self, const unsigned char* data, std::size_t n);
    static int on_recv(void* self, unsigned char* data, std::size_t n);
    step finish(int r, bool handshaking);

    std::shared_ptr<tls_context> ctx_;
    std::unique_ptr<session> session_;
    std::vector<std::uint8_t> in_;   // bytes read from the socket, [in_pos_, in_end_) not yet given to mbedTLS
    std::size_t in_pos_ = 0, in_end_ = 0;
    std::vector<std::uint8_t> out_;  // records waiting for the socket, [0, out_size_)
    std::size_t out_size_ = 0;
    std::vector<std::uint8_t> gather_;  // record_source(): a record's bytes from several buffers
};

template <class ConstBuffers> net::const_buffer tls_engine::record_source(const ConstBuffers& buffers) {
    const auto first = first_non_empty<net::const_buffer>(buffers);
    if (first.size() == 0) return {};
    const std::size_t wanted = std::min(net::buffer_size(buffers), max_record_payload);
    if (first.size() >= wanted) return {first.data(), wanted};
    if (gather_.size() < max_record_payload) gather_.resize(max_record_payload);
    const std::size_t n = net::buffer_copy(net::buffer(gather_.data(), wanted), buffers);
    return {gather_.data(), n};
}

/// The engine over a TCP socket it owns.
class tls_stream {
public:
    using executor_type = net::ip::tcp::socket::executor_type;
    tls_stream(net::ip::tcp::socket socket, std::shared_ptr<tls_context> ctx, const std::string& host,
               bool verify_hostname)
        : socket_(std::move(socket)), engine_(std::move(ctx), host, verify_hostname) {}

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    net::ip::tcp::socket& next_layer() noexcept { return socket_; }

    /// As Asio's ssl::stream: async_handshake(tls_stream::client, handler).
    enum handshake_type { client };

    /// handler(std::error_code): the raw failure (see classify_handshake_error).
    template <class Handler> auto async_handshake(handshake_type, Handler&& handler) {
        return net::async_compose<Handler, void(std::error_code)>(handshake_op{{*this}}, handler, socket_);
    }
    /// handler(std::error_code, std::size_t): net::error::eof once the peer has closed, with or
    /// without close_notify.
    template <class MutableBuffers, class Handler> auto async_read_some(const MutableBuffers& b, Handler&& handler) {
        return net::async_compose<Handler, void(std::error_code, std::size_t)>(
            read_op{{*this}, first_non_empty<net::mutable_buffer>(b)}, handler, socket_);
    }
    /// Encrypts and sends up to one record of `b`: handler(std::error_code, std::size_t).
    template <class ConstBuffers, class Handler> auto async_write_some(const ConstBuffers& b, Handler&& handler) {
        return net::async_compose<Handler, void(std::error_code, std::size_t)>(
            write_op{{*this}, engine_.record_source(b)}, handler, socket_);
    }

private:
    // Each operation runs engine steps until one needs the socket, then resumes in its
    // completion. `phase` says what the operation is resumed from.
    enum class phase { start, sent, received, posted };

    /// What the operations share: the stream, the phase, the result, and how it is delivered:
    /// at once when resumed from the socket, through a post from inside the initiating call.
    template <bool WithBytes> struct op_base {
        tls_stream& s;
        phase at = phase::start;
        std::error_code result{};
        std::size_t bytes = 0;

        template <class Self> void deliver(Self& self) {
            if (at == phase::start) {
                at = phase::posted;
                return net::post(s.socket_.get_executor(), std::move(self));
            }
            if constexpr (WithBytes) self.complete(result, bytes);
            else self.complete(result);
        }
        /// Takes in what the socket did (bytes sent or received); false if the operation is over.
        template <class Self> bool resume(Self& self, boost::system::error_code io, std::size_t n) {
            if (at == phase::posted) return deliver(self), false;
            if (io) return fail(self, io), false;
            if (at == phase::sent) s.engine_.output_sent(n);
            if (at == phase::received) s.engine_.input_received(n);
            return true;
        }
        template <class Self> void fail(Self& self, std::error_code ec) {
            result = ec;
            bytes = 0;
            deliver(self);
        }
        template <class Self, class Buffers> void send(Self& self, const Buffers& b) {
            at = phase::sent;
            net::async_write(s.socket_, b, std::move(self));
        }
        template <class Self> void receive(Self& self) {
            at = phase::received;
            s.socket_.async_read_some(s.engine_.input_space(), std::move(self));
        }
    };

    struct handshake_op : op_base<false> {
        tls_engine::step last{};
        template <class Self> void operator()(Self& self, boost::system::error_code io = {}, std::size_t n = 0) {
            tls_engine& e = s.engine_;
            if (!resume(self, io, n)) return;
            // After a send, mbedTLS goes on only if it stopped because the output buffer was full.
            if (at != phase::sent || last.next == tls_engine::want::output) last = e.handshake();
            // On failure the alert mbedTLS may have queued is not waited for: the caller closes.
            if (last.ec) return fail(self, last.ec);
            if (e.output().size() > 0) return send(self, e.output());
            if (last.next == tls_engine::want::input) return receive(self);
            if (last.next == tls_engine::want::output) return fail(self, make_error_code(std::errc::io_error));
            deliver(self);
        }
    };

    struct read_op : op_base<true> {
        net::mutable_buffer b;
        template <class Self> void operator()(Self& self, boost::system::error_code io = {}, std::size_t n = 0) {
            tls_engine& e = s.engine_;
            if (!resume(self, io, n)) return;
            if (b.size() == 0) return deliver(self);
            const auto step = e.read(b);
            if (step.ec) return fail(self, step.ec);
            if (step.next == tls_engine::want::input) return receive(self);
            // want::output: a record mbedTLS could not queue while a write was sending; it
            // cannot happen with the engine's buffer sizes, and is reported, not waited for.
            if (step.next == tls_engine::want::output) return fail(self, make_error_code(std::errc::io_error));
            bytes = step.bytes;
            deliver(self);
        }
    };

    struct write_op : op_base<true> {
        net::const_buffer b;
        template <class Self> void operator()(Self& self, boost::system::error_code io = {}, std::size_t n = 0) {
            tls_engine& e = s.engine_;
            if (!resume(self, io, n)) return;
            // Anything queued before (an alert a read queued) goes first; then this write's
            // record, taken once, and sent before the operation completes.
            if (e.output().size() == 0 && bytes == 0 && b.size() > 0) {
                const auto step = e.write(b);
                if (step.ec) return fail(self, step.ec);
                bytes = step.bytes;
            }
            if (e.output().size() > 0) return send(self, e.output());
            // want::output with nothing queued cannot make progress.
            if (bytes == 0 && b.size() > 0) return fail(self, make_error_code(std::errc::io_error));
            deliver(self);
        }
    };

    net::ip::tcp::socket socket_;
    tls_engine engine_;
};

}  // namespace kwire::client::detail::mbed
