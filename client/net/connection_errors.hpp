// What a connection failure means, in words a user can act on: the stage it failed in (resolving,
// connecting, the TLS handshake, ApiVersions, SASL, or an established connection) and the error
// make "connection to 127.0.0.1:1 refused", "host broker.example does not resolve", "TLS handshake
// with b1:9093 failed: certificate verify failed". Logged by broker_connection and kept as the
// client's last error (observe/telemetry.hpp).
#pragma once

#include <string>
#include <system_error>

#include "kwire/client/log.hpp"

namespace kwire::client::detail {

enum class connection_stage { resolving, connecting, tls_handshake, api_versions, authenticating, established };

std::string describe_connection_failure(connection_stage stage, const std::string& host, const std::string& address,
                                        const std::error_code& ec);

/// The log context of a failure at that stage: security for TLS and SASL, broker otherwise.
log_context connection_log_context(connection_stage stage) noexcept;

}  // namespace kwire::client::detail
