// Broker host names resolved with c-ares, on the user's executor: no resolver thread, no blocking
// call, and no glibc NSS (which a static binary cannot load), so a statically linked program
// resolves names from /etc/hosts and DNS (/etc/resolv.conf) even in an otherwise empty container.
//
// c-ares tells us which sockets it wants watched (its socket-state callback); each is wrapped in
// an Asio descriptor whose readiness waits call back into c-ares, and one timer drives c-ares'
// retransmissions. Every resolution has its own c-ares channel: resolutions are rare (one per
// connection attempt), and a private channel makes cancellation a matter of destroying it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace kwire::client::detail {

class dns_resolver {
public:
    /// Called once with every address the name resolves to (IPv4 and IPv6, in c-ares' preferred
    /// order), or with client_errc::name_resolution_failed.
    using handler = std::function<void(std::error_code, std::vector<boost::asio::ip::tcp::endpoint>)>;

    explicit dns_resolver(boost::asio::any_io_executor ex);
    ~dns_resolver();  ///< cancels a resolution in progress; its handler is not called
    dns_resolver(const dns_resolver&) = delete;
    dns_resolver& operator=(const dns_resolver&) = delete;

    /// Starts resolving `host` (a name; numeric addresses need no resolver). The handler runs on
    /// the executor, never inside this call. A resolution still in progress is cancelled first.
    void async_resolve(const std::string& host, std::uint16_t port, handler h);
    /// Cancels the resolution in progress, if any: its handler is never called.
    void cancel();

private:
    struct op;
    boost::asio::any_io_executor ex_;
    std::shared_ptr<op> op_;
};

}  // namespace kwire::client::detail
