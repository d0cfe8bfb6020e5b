// SASL on a broker connection (security.protocol sasl_plaintext / sasl_ssl): SaslHandshake,
// the SaslAuthenticate exchange driving a sans-I/O mechanism (net/sasl.hpp), OAUTHBEARER token
// fetching, and KIP-368 re-authentication. The connection's state machine is in
// broker_connection.cpp.
#include "net/broker_connection.hpp"

#include <boost/asio/post.hpp>

#include "kwire/protocol/messages/sasl_authenticate.hpp"
#include "kwire/protocol/messages/sasl_handshake.hpp"
#include "net/crypto.hpp"
#include "net/sasl.hpp"

namespace kwire::client::detail {

// --- SASL (security.protocol sasl_plaintext / sasl_ssl) -------------------------------------
//
// After ApiVersions: SaslHandshake v1 names the mechanism, then SaslAuthenticate requests carry
// the mechanism's messages until it says it is done. The mechanisms themselves are sans-I/O
// (detail/sasl.hpp). A broker that sets a session lifetime (KIP-368) gets a re-authentication on
// the same connection at 85-95% of it: new requests wait, the ones in flight are answered, then
// the exchange runs again.

void broker_connection::start_sasl() {
    state_ = state::authenticating;
    if (cfg_.sasl.mechanism != "OAUTHBEARER") return sasl_handshake(nullptr);
    if (!cfg_.sasl.token_provider) return fail(make_error_code(client_errc::oauth_token_unavailable), true);
    // The provider answers whenever (and from wherever) it likes; a provider that never answers
    // fails the attempt after request.timeout.ms.
    const auto gen = generation_;
    auto self = shared_from_this();
    timer_armed_for_ = {};
    timer_.expires_after(cfg_.request_timeout);
    timer_.async_wait([self, gen](std::error_code ec) {
        if (ec || gen != self->generation_ || self->state_ != state::authenticating || self->sasl_) return;
        self->fail(make_error_code(client_errc::oauth_token_unavailable), true);
    });
    // The provider may keep `done` (or drop it) on any thread: it holds no strong reference.
    cfg_.sasl.token_provider([weak = std::weak_ptr<broker_connection>(self), gen](std::error_code ec, oauth_token token) {
        auto conn = weak.lock();
        if (!conn) return;
        net::post(conn->ex_, [self = conn, gen, ec, token = std::move(token)] {
            if (gen != self->generation_ || self->state_ != state::authenticating) return;
            if (ec || token.value.empty()) return self->fail(make_error_code(client_errc::oauth_token_unavailable), true);
            self->sasl_handshake(&token);
        });
    });
}

void broker_connection::sasl_handshake(const oauth_token* token) {
    std::error_code ec;
    sasl_ = make_sasl_mechanism(cfg_.sasl, token, ec);
    if (!sasl_) return fail(ec ? ec : make_error_code(client_errc::sasl_mechanism_unsupported), true);
    const auto handshake_version = session_.versions().pick(protocol::SaslHandshakeRequest::api_key, 1, 1);
    const auto auth_version = session_.versions().pick(protocol::SaslAuthenticateRequest::api_key, 0, 2);
    if (handshake_version < 0 || auth_version < 0) return fail(make_error_code(client_errc::unsupported_version), true);
    protocol::SaslHandshakeRequest req;
    req.mechanism = cfg_.sasl.mechanism;
    const auto gen = generation_;
    auto self = shared_from_this();
    session_.enqueue(req, handshake_version, deadline(),
                     [self, gen, handshake_version, auth_version](std::error_code e, protocol::bytes_view frame) {
                         if (e || gen != self->generation_) return;
                         protocol::SaslHandshakeResponse resp;
                         if (auto dec = protocol::decode_response(frame, handshake_version, resp))
                             return self->fail(dec, true);
                         if (to_kafka_errc(resp.error_code) == kafka_errc::unsupported_sasl_mechanism)
                             return self->fail(make_error_code(client_errc::sasl_mechanism_unsupported), true);
                         if (resp.error_code) return self->fail(kafka_error(resp.error_code), true);
                         auto step = self->sasl_->start();
                         if (step.error) return self->fail(step.error, true);
                         self->sasl_exchange(std::move(step.send), auth_version);
                     });
    write_more();
    arm_timer();
}

void broker_connection::sasl_exchange(std::vector<std::uint8_t> send, std::int16_t version) {
    protocol::SaslAuthenticateRequest req;
    req.auth_bytes = std::move(send);
    const auto gen = generation_;
    auto self = shared_from_this();
    session_.enqueue(req, version, deadline(), [self, gen, version](std::error_code e, protocol::bytes_view frame) {
        if (e || gen != self->generation_) return;
        protocol::SaslAuthenticateResponse resp;
        if (auto dec = protocol::decode_response(frame, version, resp)) return self->fail(dec, true);
        // SASL_AUTHENTICATION_FAILED and friends: the broker's error message may name the user;
        // the error code is what is reported (credentials never reach an error message).
        if (resp.error_code) return self->fail(kafka_error(resp.error_code), true);
        auto step = self->sasl_->on_server_message(
            std::span<const std::uint8_t>(resp.auth_bytes.data(), resp.auth_bytes.size()));
        if (step.error) return self->fail(step.error, true);
        if (step.done) return self->authenticated(resp.session_lifetime_ms);
        self->sasl_exchange(std::move(step.send), version);
    });
    // PLAIN's and OAUTHBEARER's messages hold the secret: wipe this copy (the encoded one is
    // overwritten as the output buffer is reused).
    if (!req.auth_bytes.empty()) crypto::cleanse(req.auth_bytes.data(), req.auth_bytes.size());
    write_more();
    arm_timer();
}

void broker_connection::authenticated(std::int64_t session_lifetime_ms) {
    sasl_.reset();
    if (session_lifetime_ms > 0) {
        // KIP-368: re-authenticate at 85-95% of the session lifetime, as the Java client does.
        std::uniform_real_distribution<double> share(0.85, 0.95);
        const auto after = std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(session_lifetime_ms) * share(jitter_)));
        const auto gen = generation_;
        auto self = shared_from_this();
        reauth_timer_.expires_after(after);
        reauth_timer_.async_wait([self, gen](std::error_code ec) {
            if (ec || gen != self->generation_ || self->state_ != state::ready) return;
            self->state_ = state::reauth_pending;
            self->maybe_reauthenticate();
        });
    }
    become_ready();
}

void broker_connection::maybe_reauthenticate() {
    if (state_ == state::reauth_pending && session_.in_flight() == 0 && !session_.has_output() &&
        !write_in_progress_)
        start_sasl();
}

}  // namespace kwire::client::detail
