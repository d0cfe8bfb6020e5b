// Errors of the networked client (connections, producer, consumer) in their own category. Broker
// error codes stay in the `kafka` category and malformed input in `kwire` (kwire/protocol/error.hpp).
#pragma once

#include <system_error>

namespace kwire::client {

enum class client_errc {
    ok = 0,
    tls_on_plaintext = 1,       ///< a plaintext connection received TLS bytes (wrong port or protocol)
    no_brokers,                 ///< no bootstrap address could be reached
    connection_closed,          ///< the broker closed the connection with requests in flight
    request_timed_out,          ///< no response within request.timeout.ms
    unsupported_version,        ///< the broker lacks an API or version kwire needs
    delivery_timed_out,         ///< a record was not acknowledged within delivery.timeout.ms
    buffer_full,                ///< buffer.memory exhausted and the producer is set to fail fast
    record_too_large,           ///< a record larger than max.request.size or batch limits
    unknown_topic,              ///< the topic does not exist (and may not be created)
    invalid_partition,          ///< an explicit partition outside the topic's partitions
    producer_fenced,            ///< another producer with the same transactional id took over
    invalid_config,             ///< a configuration property is unknown or has an invalid value
    closed,                     ///< the client was closed
    no_committed_offset,        ///< auto.offset.reset=none and the group has no offset for a partition
    partition_revoked,          ///< the partition was revoked (or lost) before the operation completed
    poll_interval_exceeded,     ///< max.poll.interval.ms passed between polls: the group membership was given up
    plaintext_on_tls,           ///< a TLS connection met a peer that does not speak TLS
    tls_setup_failed,           ///< a CA, certificate or key (ssl.*) could not be loaded, or TLS is not built in
    sasl_mechanism_unsupported, ///< the broker does not enable the configured sasl.mechanism
    sasl_bad_server_message,    ///< a SASL server message is malformed or out of place
    sasl_nonce_mismatch,        ///< SCRAM: the server nonce does not extend the client's
    sasl_iterations_too_low,    ///< SCRAM: fewer than 4096 iterations offered
    sasl_iterations_too_high,   ///< SCRAM: more iterations than kwire computes (a server making the client burn CPU)
    sasl_server_signature_mismatch,  ///< SCRAM: the server could not prove it knows the password
    sasl_invalid_credentials,   ///< the user name, password or token is empty or cannot be sent (SASLprep, grammar)
    sasl_authentication_rejected,  ///< a SASL server message said authentication failed (SCRAM e=, OAUTHBEARER error)
    oauth_token_unavailable,    ///< OAUTHBEARER: no token provider, or it failed
    name_resolution_failed,     ///< a broker host name did not resolve
};

const std::error_category& client_category() noexcept;
inline std::error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

}  // namespace kwire::client

template <> struct std::is_error_code_enum<kwire::client::client_errc> : std::true_type {};
