// SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677); SHA-1 only for RFC 5802's test vector.
//
//   client-first   n,,n=<user>,r=<client nonce>
//   server-first   r=<client nonce + server nonce>,s=<base64 salt>,i=<iterations>
//   client-final   c=biws,r=<nonce>,p=<base64 ClientProof>
//   server-final   v=<base64 ServerSignature>          (or e=<error>)
//
// No channel binding: Kafka's TLS listeners do not offer it, so the gs2 header is "n,,"
// ("c=biws" is its base64). The client proves it knows the password without sending it, and the
// server proves the same with ServerSignature, which the client checks before it reports done:
// a server that only replays the exchange cannot produce it.
#include <charconv>
#include <cstdint>
#include <optional>

#include "net/crypto.hpp"
#include "kwire/client/error.hpp"
#include "net/sasl_support.hpp"

namespace kwire::client::detail::sasl {

namespace {

constexpr std::size_t random_nonce_bytes = 24;  // 32 base64 characters
using key = secret_bytes<crypto::max_digest_size>;

bool printable(std::string_view s) noexcept {  // RFC 5802: %x21-2B / %x2D-7E
    for (const char c : s)
        if (c < 0x21 || c > 0x7E || c == ',') return false;
    return !s.empty();
}

/// saslname: ',' and '=' escaped as "=2C" and "=3D".
std::string escape_name(std::string_view user) {
    std::string out;
    out.reserve(user.size());
    for (const char c : user) {
        if (c == ',') out += "=2C";
        else if (c == '=') out += "=3D";
        else out += c;
    }
    return out;
}

/// Takes "<k>=<value>" off the front of `rest` (up to the next ',', which is consumed too, but
/// only with another attribute after it).
bool take_attribute(std::string_view& rest, char k, std::string_view& value) {
    if (rest.size() < 2 || rest[0] != k || rest[1] != '=') return false;
    const std::size_t comma = rest.find(',');
    if (comma == std::string_view::npos) {
        value = rest.substr(2);
        rest = {};
        return true;
    }
    if (comma + 1 == rest.size()) return false;
    value = rest.substr(2, comma - 2);
    rest = rest.substr(comma + 1);
    return true;
}

/// What may follow the attributes SCRAM defines: optional extensions "<letter>=<value>", which a
/// client that does not know them ignores (RFC 5802 §7 `extensions`).
bool only_extensions(std::string_view rest) {
    while (!rest.empty()) {
        const char k = rest[0];
        if (!((k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z'))) return false;
        std::string_view value;
        if (!take_attribute(rest, k, value) || value.empty()) return false;
    }
    return true;
}

/// posit-number: digits, no leading zero. A number too large for 64 bits reads as UINT64_MAX (it is
/// too high either way); anything else malformed is nullopt.
std::optional<std::uint64_t> parse_iterations(std::string_view s) {
    if (s.empty() || s[0] == '0' || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    std::uint64_t n = 0;
    if (std::from_chars(s.data(), s.data() + s.size(), n).ec != std::errc{}) return UINT64_MAX;
    return n;
}

class scram final : public sasl_mechanism {
public:
    // Copies rather than moves the password: moving a short std::string leaves its bytes in the
    // source's small-string buffer, where the caller's wipe could no longer reach them.
    scram(std::string_view name, crypto::digest md, std::string_view user, std::string_view password,
          std::string_view nonce)
        : name_(name), md_(md), user_(user), password_(password), nonce_(nonce) {}
    ~scram() override { forget_secrets(); }
    scram(const scram&) = delete;
    scram& operator=(const scram&) = delete;

    std::string_view name() const noexcept override { return name_; }

    sasl_step start() override {
        if (state_ != state::initial) return fail(client_errc::sasl_bad_server_message);
        if (nonce_.empty()) {
            std::array<std::uint8_t, random_nonce_bytes> random{};
            // Fails only when the system's randomness source is unusable.
            if (!crypto::random_bytes(random))
                return fail(std::make_error_code(std::errc::resource_unavailable_try_again));
            nonce_ = base64_encode(random);
        }
        client_first_bare_ = "n=" + escape_name(user_) + ",r=" + nonce_;
        state_ = state::awaiting_server_first;
        return {{}, to_bytes("n,," + client_first_bare_), false};
    }

    sasl_step on_server_message(std::span<const std::uint8_t> msg) override {
        switch (state_) {
            case state::awaiting_server_first: return on_server_first(as_text(msg));
            case state::awaiting_server_final: return on_server_final(as_text(msg));
            case state::failed: return {error_, {}, false};
            case state::initial:
            case state::done: break;
        }
        return fail(client_errc::sasl_bad_server_message);
    }

private:
    enum class state { initial, awaiting_server_first, awaiting_server_final, done, failed };

    sasl_step fail(std::error_code ec) {
        forget_secrets();
        state_ = state::failed;
        error_ = ec;
        return {ec, {}, false};
    }

    void forget_secrets() noexcept {
        wipe(password_);
        wipe(std::span<std::uint8_t>(server_signature_.bytes));
    }

    std::size_t digest_size() const noexcept { return crypto::digest_size(md_); }

    // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
    sasl_step on_server_first(std::string_view msg) {
        if (msg.starts_with("e=")) return fail(client_errc::sasl_authentication_rejected);
        // A leading "m=" announces a mandatory extension; none is defined, so none can be honoured
        // and the message fails as malformed.
        std::string_view rest = msg, nonce, salt64, iterations;
        if (!take_attribute(rest, 'r', nonce) || !take_attribute(rest, 's', salt64) ||
            !take_attribute(rest, 'i', iterations) || !only_extensions(rest) || !printable(nonce))
            return fail(client_errc::sasl_bad_server_message);
        if (nonce.size() <= nonce_.size() || !nonce.starts_with(nonce_))
            return fail(client_errc::sasl_nonce_mismatch);
        const auto salt = base64_decode(salt64);
        if (!salt || salt->empty()) return fail(client_errc::sasl_bad_server_message);
        const auto count = parse_iterations(iterations);
        if (!count) return fail(client_errc::sasl_bad_server_message);
        if (*count < scram_min_iterations) return fail(client_errc::sasl_iterations_too_low);
        if (*count > scram_max_iterations) return fail(client_errc::sasl_iterations_too_high);

        const std::string final_without_proof = "c=biws,r=" + std::string(nonce);
        std::string auth_message;
        auth_message.reserve(client_first_bare_.size() + msg.size() + final_without_proof.size() + 2);
        auth_message.append(client_first_bare_).append(",").append(msg).append(",").append(final_without_proof);

        key proof;
        if (!derive(*salt, static_cast<std::uint32_t>(*count), auth_message, proof))
            return fail(client_errc::sasl_bad_server_message);
        state_ = state::awaiting_server_final;
        return {{}, to_bytes(final_without_proof + ",p=" + base64_encode({proof.data(), digest_size()})), false};
    }

    /// The key schedule of RFC 5802 §3. Writes ClientProof and keeps ServerSignature; wipes the
    /// password and every intermediate key.
    bool derive(const std::vector<std::uint8_t>& salt, std::uint32_t iterations, std::string_view auth_message,
                key& proof) {
        const std::size_t n = digest_size();
        key salted, client_key, stored_key, client_signature, server_key;
        const bool ok =
            crypto::pbkdf2_hmac(md_, password_, salt, iterations, salted.data()) &&
            hmac(salted, "Client Key", client_key) && hash(client_key, stored_key) &&
            hmac(stored_key, auth_message, client_signature) && hmac(salted, "Server Key", server_key) &&
            hmac(server_key, auth_message, server_signature_);
        wipe(password_);  // not needed again: the rest of the exchange uses ServerSignature only
        if (!ok) return false;
        for (std::size_t i = 0; i < n; ++i) proof.bytes[i] = client_key.bytes[i] ^ client_signature.bytes[i];
        return true;
    }

    bool hmac(const key& k, std::string_view data, key& out) const {
        return crypto::hmac(md_, {k.data(), digest_size()},
                            {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, out.data());
    }

    bool hash(const key& in, key& out) const { return crypto::hash(md_, {in.data(), digest_size()}, out.data()); }

    // server-final-message = (server-error / verifier) ["," extensions]
    sasl_step on_server_final(std::string_view msg) {
        std::string_view rest = msg, value;
        if (take_attribute(rest, 'e', value)) return fail(client_errc::sasl_authentication_rejected);
        if (!take_attribute(rest, 'v', value) || !only_extensions(rest))
            return fail(client_errc::sasl_bad_server_message);
        auto signature = base64_decode(value);
        if (!signature || signature->size() != digest_size()) return fail(client_errc::sasl_bad_server_message);
        const bool match = crypto::equal_constant_time(signature->data(), server_signature_.data(), digest_size());
        wipe(*signature);
        if (!match) return fail(client_errc::sasl_server_signature_mismatch);
        forget_secrets();
        state_ = state::done;
        return {{}, {}, true};
    }

    std::string_view name_;
    crypto::digest md_;
    std::string user_;      // SASLprep'd
    std::string password_;  // SASLprep'd; wiped once the keys are derived
    std::string nonce_;     // the client's; empty until start() unless fixed for a test
    std::string client_first_bare_;
    key server_signature_;
    state state_ = state::initial;
    std::error_code error_;
};

}  // namespace

std::unique_ptr<sasl_mechanism> make_scram(std::string_view mechanism, std::string_view user,
                                           std::string_view password, std::string_view fixed_nonce,
                                           std::error_code& ec) {
    struct variant {
        std::string_view name;
        crypto::digest md;
    };
    static constexpr variant variants[] = {{"SCRAM-SHA-1", crypto::digest::sha1},
                                           {"SCRAM-SHA-256", crypto::digest::sha256},
                                           {"SCRAM-SHA-512", crypto::digest::sha512}};
    const variant* v = nullptr;
    for (const auto& candidate : variants)
        if (candidate.name == mechanism) v = &candidate;
    if (v == nullptr) {
        ec = client_errc::sasl_mechanism_unsupported;
        return nullptr;
    }
    if (!fixed_nonce.empty() && !printable(fixed_nonce)) {
        ec = client_errc::sasl_bad_server_message;
        return nullptr;
    }
    std::string prepared_user, prepared_password;
    std::unique_ptr<sasl_mechanism> m;
    if (!(ec = saslprep(user, saslprep_kind::query, prepared_user)) &&
        !(ec = saslprep(password, saslprep_kind::stored, prepared_password)))
        m = std::make_unique<scram>(v->name, v->md, prepared_user, prepared_password, fixed_nonce);
    wipe(prepared_password);
    return m;
}

}  // namespace kwire::client::detail::sasl
