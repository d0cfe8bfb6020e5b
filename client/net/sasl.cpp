// The SASL mechanisms' factory, PLAIN (RFC 4616) and OAUTHBEARER (RFC 7628, with Kafka's
// extensions of KIP-342). SCRAM lives in sasl_scram.cpp.
#include "net/sasl.hpp"

#include "kwire/client/error.hpp"
#include "net/sasl_support.hpp"

namespace kwire::client::detail {

namespace sasl {
namespace {

/// A machine that sends one message and then expects the server's empty answer, as Kafka's
/// broker gives for PLAIN and for an accepted OAUTHBEARER token.
class one_message_mechanism : public sasl_mechanism {
public:
    ~one_message_mechanism() override { wipe(message_); }

    sasl_step start() override {
        if (state_ != state::initial) return fail(client_errc::sasl_bad_server_message);
        state_ = state::sent;
        auto bytes = to_bytes(message_);
        wipe(message_);
        return {{}, std::move(bytes), false};
    }

protected:
    enum class state { initial, sent, done, failed };

    one_message_mechanism() = default;

    sasl_step fail(std::error_code ec) {
        wipe(message_);  // start() may never have run
        state_ = state::failed;
        error_ = ec;
        return {ec, {}, false};
    }

    sasl_step accept() {
        state_ = state::done;
        return {{}, {}, true};
    }

    // Holds the password or token until start(). Subclasses build it in place: moving a short
    // std::string in would leave its bytes in the source's small-string buffer.
    std::string message_;
    state state_ = state::initial;
    std::error_code error_;
};

// PLAIN: "authzid NUL authcid NUL passwd" with an empty authzid. RFC 4616 lets a client SASLprep
// the strings, but Kafka's broker compares them as they are (and so do the Java and C clients),
// so they go as they are; a NUL inside would end a field early.
class plain final : public one_message_mechanism {
public:
    plain(std::string_view user, std::string_view password) {
        message_.reserve(user.size() + password.size() + 2);  // no reallocation leaves a copy behind
        message_.append(1, '\0').append(user).append(1, '\0').append(password);
    }

    std::string_view name() const noexcept override { return "PLAIN"; }

    sasl_step on_server_message(std::span<const std::uint8_t> msg) override {
        if (state_ == state::failed) return {error_, {}, false};
        if (state_ != state::sent || !msg.empty()) return fail(client_errc::sasl_bad_server_message);
        return accept();
    }
};

// OAUTHBEARER: the client's one message is
//     "n,," ^A "auth=Bearer " <token> ^A [<key>=<value> ^A]... ^A
// An empty answer means accepted. Any other answer is the server's JSON error (RFC 7628 §3.2.2):
// the client must send a lone ^A to end the exchange, and the server then fails it. That is what
// Kafka's Java client does (OAuthBearerSaslClient: RECEIVE_SERVER_MESSAGE_AFTER_FAILURE), and
// Kafka's broker answers the ^A with a SaslAuthenticate error carrying its reason. Should a server
// answer anything instead, the machine fails with sasl_authentication_rejected.
class oauthbearer final : public one_message_mechanism {
public:
    explicit oauthbearer(const oauth_token& token) {
        std::size_t size = 4 + 12 + token.value.size() + 1 + 1;
        for (const auto& [k, v] : token.extensions) size += k.size() + 1 + v.size() + 1;
        message_.reserve(size);  // no reallocation leaves a copy behind
        message_.append("n,,\x01" "auth=Bearer ").append(token.value).append(1, '\x01');
        for (const auto& [k, v] : token.extensions) message_.append(k).append(1, '=').append(v).append(1, '\x01');
        message_.append(1, '\x01');
    }

    std::string_view name() const noexcept override { return "OAUTHBEARER"; }

    sasl_step on_server_message(std::span<const std::uint8_t> msg) override {
        if (state_ == state::failed) return {error_, {}, false};
        if (rejected_) return fail(client_errc::sasl_authentication_rejected);
        if (state_ != state::sent) return fail(client_errc::sasl_bad_server_message);
        if (msg.empty()) return accept();
        rejected_ = true;
        return {{}, {0x01}, false};
    }

    /// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    static bool valid_token(std::string_view t) noexcept {
        std::size_t i = 0;
        for (; i < t.size(); ++i) {
            const char c = t[i];
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
            if (!ok) break;
        }
        if (i == 0) return false;
        for (; i < t.size(); ++i)
            if (t[i] != '=') return false;
        return true;
    }

    /// RFC 7628 key = 1*(ALPHA), never "auth"; value = *(VCHAR / SP / HTAB / CR / LF), and not
    /// empty because Kafka's broker requires at least one character.
    static bool valid_extension(std::string_view k, std::string_view v) noexcept {
        if (k.empty() || k == "auth" || v.empty()) return false;
        for (const char c : k)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
        for (const char c : v)
            if (!((c >= 0x21 && c <= 0x7E) || c == ' ' || c == '\t' || c == '\r' || c == '\n')) return false;
        return true;
    }

private:
    bool rejected_ = false;  // the server sent its error and the ^A went out
};

std::unique_ptr<sasl_mechanism> make_plain(std::string_view user, std::string_view password, std::error_code& ec) {
    const auto ok = [](std::string_view s) { return !s.empty() && s.find('\0') == s.npos && is_utf8(s); };
    if (!ok(user) || !ok(password)) {
        ec = client_errc::sasl_invalid_credentials;
        return nullptr;
    }
    return std::make_unique<plain>(user, password);
}

std::unique_ptr<sasl_mechanism> make_oauthbearer(const oauth_token* token, std::error_code& ec) {
    if (token == nullptr || token->value.empty()) {
        ec = client_errc::oauth_token_unavailable;
        return nullptr;
    }
    bool ok = oauthbearer::valid_token(token->value);
    for (const auto& [k, v] : token->extensions) ok = ok && oauthbearer::valid_extension(k, v);
    if (!ok) {
        ec = client_errc::sasl_invalid_credentials;
        return nullptr;
    }
    return std::make_unique<oauthbearer>(*token);
}

}  // namespace
}  // namespace sasl

std::unique_ptr<sasl_mechanism> make_sasl_mechanism(const sasl_config& cfg, const oauth_token* token,
                                                    std::error_code& ec) {
    ec.clear();
    const std::string_view m = cfg.mechanism;
    if (m == "PLAIN") return sasl::make_plain(cfg.username, cfg.password, ec);
    if (m == "OAUTHBEARER") return sasl::make_oauthbearer(token, ec);
    if (m == "SCRAM-SHA-256" || m == "SCRAM-SHA-512") return sasl::make_scram(m, cfg.username, cfg.password, {}, ec);
    ec = client_errc::sasl_mechanism_unsupported;
    return nullptr;
}

std::unique_ptr<sasl_mechanism> make_scram_for_test(std::string_view mechanism, std::string_view user,
                                                    std::string_view password, std::string_view client_nonce) {
    std::error_code ec;
    if (client_nonce.empty()) return nullptr;
    return sasl::make_scram(mechanism, user, password, client_nonce, ec);
}

}  // namespace kwire::client::detail
