// SASL mechanisms (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) as state machines with no I/O, as
// broker_session is: the connection sends what a step asks for in a SaslAuthenticate request and
// feeds each response's auth_bytes back in, until a step says done or carries an error.
//
//     auto s = m->start();                        // client's first message
//     while (!s.error && !s.done) {
//         send(s.send);                           // SaslAuthenticate(auth_bytes = s.send)
//         s = m->on_server_message(auth_bytes);   // the response's auth_bytes
//     }
//
// A SaslAuthenticate response with a non-zero error code ends the exchange before the machine
// sees it: the broker's error is the reason, not anything the mechanism could add.
//
// Secrets: the machines keep the password only as long as they need it and wipe it, and every key
// derived from it, with the crypto library's cleanse (OpenSSL's or mbedTLS's, whichever the build
// uses). No error carries a credential (an error_code has no text of its own). The bytes a step
// asks to send may hold the password (PLAIN) or the token (OAUTHBEARER); the caller should wipe
// them once written.
//
// The key derivation of SCRAM (PBKDF2, a few thousand HMACs) runs inside on_server_message, on the
// caller's thread: with Kafka's at most 16384 iterations that is a few milliseconds, and the
// machine refuses a server that asks for more than scram_max_iterations.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"

namespace kwire::client::detail {

/// What to do after a step.
struct sasl_step {
    std::error_code error;           ///< set: authentication failed on the client side
    std::vector<std::uint8_t> send;  ///< bytes for the next SaslAuthenticate request
    bool done = false;               ///< true: authenticated (nothing more to send)
};

class sasl_mechanism {
public:
    virtual ~sasl_mechanism() = default;
    /// "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" or "OAUTHBEARER".
    virtual std::string_view name() const noexcept = 0;
    /// The client's first message. Called once; a second call fails. SCRAM fails with
    /// std::errc::resource_unavailable_try_again should the system have no random bytes for a nonce.
    virtual sasl_step start() = 0;
    /// Each SaslAuthenticate response's auth_bytes, in order. After an error every call fails with
    /// the same error; after done, or before start(), a call fails with sasl_bad_server_message.
    virtual sasl_step on_server_message(std::span<const std::uint8_t> msg) = 0;
};

/// For OAUTHBEARER pass the token already obtained from the provider (nullptr or an empty token:
/// oauth_token_unavailable); other mechanisms ignore it. Returns nullptr and sets `ec` for an
/// unknown mechanism (sasl_mechanism_unsupported) or credentials that cannot be sent
/// (sasl_invalid_credentials: empty, not UTF-8, prohibited by SASLprep for SCRAM, a NUL for
/// PLAIN, a token or extension outside the RFC 7628 grammar).
std::unique_ptr<sasl_mechanism> make_sasl_mechanism(const sasl_config& cfg, const oauth_token* token,
                                                    std::error_code& ec);

/// Test seam: SCRAM with a fixed client nonce, for the RFC test vectors. Also accepts
/// "SCRAM-SHA-1" (RFC 5802's vector), which make_sasl_mechanism never offers. nullptr when the
/// mechanism is unknown, the credentials fail SASLprep or the nonce is not printable.
std::unique_ptr<sasl_mechanism> make_scram_for_test(std::string_view mechanism, std::string_view user,
                                                    std::string_view password, std::string_view client_nonce);

/// SCRAM iteration counts accepted from a server. RFC 7677 asks for at least 4096. Kafka's brokers
/// refuse to store credentials with more than 16384 (ScramMechanism.maxIterations), so a Kafka
/// server never legitimately asks for more; the cap leaves room for other servers while keeping a
/// hostile one from making the client spend more than a few tens of milliseconds in PBKDF2.
inline constexpr std::uint32_t scram_min_iterations = 4096;
inline constexpr std::uint32_t scram_max_iterations = 100'000;

/// Which strings SASLprep (RFC 4013) treats how: a password is a "stored string" for SCRAM
/// (RFC 5802 §2.2: unassigned code points prohibited), a user name a "query" (§5.1: allowed).
enum class saslprep_kind { query, stored };

/// SASLprep of UTF-8 `in` into `out`. Fails with sasl_invalid_credentials when `in` is not UTF-8,
/// holds a prohibited character (controls, private use, ...), breaks the bidi rule, or prepares
/// to the empty string. ASCII takes a fast path (only control characters are prohibited there);
/// anything else goes through libidn's SASLprep profile.
std::error_code saslprep(std::string_view in, saslprep_kind kind, std::string& out);

}  // namespace kwire::client::detail
