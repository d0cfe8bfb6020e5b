// Connection failures in words (see connection_errors.hpp).
#include "net/connection_errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include "kwire/client/error.hpp"

namespace kwire::client::detail {

namespace {
bool is(const std::error_code& ec, boost::asio::error::basic_errors e) {
    return ec == std::error_code(boost::system::error_code(e));
}
}  // namespace

std::string describe_connection_failure(connection_stage stage, const std::string& host, const std::string& address,
                                        const std::error_code& ec) {
    const auto timed_out = ec == client_errc::request_timed_out || is(ec, boost::asio::error::timed_out);
    switch (stage) {
        case connection_stage::resolving:
            if (ec == client_errc::name_resolution_failed) return "host " + host + " does not resolve";
            return "resolving host " + host + " failed: " + ec.message();
        case connection_stage::connecting:
            if (ec == client_errc::name_resolution_failed) return "host " + host + " does not resolve";
            if (is(ec, boost::asio::error::connection_refused)) return "connection to " + address + " refused";
            if (timed_out) return "connection to " + address + " timed out";
            if (is(ec, boost::asio::error::host_unreachable) || is(ec, boost::asio::error::network_unreachable))
                return "broker " + address + " is unreachable: " + ec.message();
            return "connection to " + address + " failed: " + ec.message();
        case connection_stage::tls_handshake:
            if (timed_out) return "TLS handshake with " + address + " timed out";
            return "TLS handshake with " + address + " failed: " + ec.message();
        case connection_stage::api_versions:
            if (ec == client_errc::connection_closed)
                return "connection to " + address + " closed by the broker during the ApiVersions handshake";
            if (timed_out) return "ApiVersions handshake with " + address + " timed out";
            return "ApiVersions handshake with " + address + " failed: " + ec.message();
        case connection_stage::authenticating:
            return "SASL authentication with " + address + " failed: " + ec.message();
        case connection_stage::established:
            if (ec == client_errc::connection_closed) return "connection to " + address + " closed by the broker";
            if (timed_out) return "request to " + address + " timed out (request.timeout.ms)";
            return "connection to " + address + " lost: " + ec.message();
    }
    return "connection to " + address + ": " + ec.message();
}

log_context connection_log_context(connection_stage stage) noexcept {
    return stage == connection_stage::tls_handshake || stage == connection_stage::authenticating
               ? log_context::security
               : log_context::broker;
}

}  // namespace kwire::client::detail
