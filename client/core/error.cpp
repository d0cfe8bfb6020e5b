// The client_errc error category: its name and each code's message.
#include "kwire/client/error.hpp"

#include "net/sasl.hpp"

#include <string>

namespace kwire::client {
namespace {

class client_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.client"; }
    std::string message(int ev) const override {
        switch (static_cast<client_errc>(ev)) {
            case client_errc::ok: return "success";
            case client_errc::tls_on_plaintext:
                return "received TLS bytes on a plaintext connection (is the port a TLS listener? "
                       "set security.protocol=ssl)";
            case client_errc::no_brokers: return "no bootstrap broker could be reached";
            case client_errc::connection_closed: return "broker closed the connection";
            case client_errc::request_timed_out: return "request timed out (request.timeout.ms)";
            case client_errc::unsupported_version:
                return "broker does not support an API version kwire needs";
            case client_errc::delivery_timed_out:
                return "record not acknowledged within delivery.timeout.ms";
            case client_errc::buffer_full: return "producer buffer full (buffer.memory)";
            case client_errc::record_too_large: return "record too large (max.request.size)";
            case client_errc::unknown_topic: return "unknown topic";
            case client_errc::invalid_partition: return "partition does not exist";
            case client_errc::producer_fenced: return "producer fenced";
            case client_errc::invalid_config: return "invalid configuration";
            case client_errc::closed: return "client closed";
            case client_errc::no_committed_offset:
                return "no committed offset for the partition and auto.offset.reset is none";
            case client_errc::partition_revoked: return "the partition was revoked before the operation completed";
            case client_errc::poll_interval_exceeded:
                return "max.poll.interval.ms passed between two polls: the consumer left its group";
            case client_errc::plaintext_on_tls:
                return "the broker did not answer the TLS handshake with TLS (is the port a plaintext listener? "
                       "set security.protocol=plaintext or sasl_plaintext)";
            case client_errc::tls_setup_failed:
                return "TLS setup failed: ssl.ca.location, ssl.ca.pem, ssl.certificate.location or ssl.key.location "
                       "could not be loaded (or the key does not match, or kwire was built without TLS)";
            case client_errc::sasl_mechanism_unsupported:
                return "the broker does not enable the configured sasl.mechanism";
            case client_errc::sasl_bad_server_message: return "SASL: malformed or unexpected server message";
            case client_errc::sasl_nonce_mismatch: return "SCRAM: the server nonce does not start with the client nonce";
            case client_errc::sasl_iterations_too_low: return "SCRAM: the server asked for fewer than 4096 iterations";
            case client_errc::sasl_iterations_too_high:
                return "SCRAM: the server asked for more than " + std::to_string(detail::scram_max_iterations) +
                       " iterations (Kafka brokers use at most 16384)";
            case client_errc::sasl_server_signature_mismatch:
                return "SCRAM: the server signature is wrong (the server does not know the password)";
            case client_errc::sasl_invalid_credentials:
                return "SASL: the user name, password or OAUTHBEARER token is empty or malformed "
                       "(not UTF-8, refused by SASLprep, or outside the token grammar)";
            case client_errc::sasl_authentication_rejected:
                return "SASL: the server's SASL message says authentication failed";
            case client_errc::oauth_token_unavailable: return "OAUTHBEARER: no token could be obtained";
            case client_errc::name_resolution_failed: return "broker host name did not resolve";
        }
        return "unknown client error";
    }
};

}  // namespace

const std::error_category& client_category() noexcept {
    static const client_category_impl c;
    return c;
}

}  // namespace kwire::client
