// The SASL mechanisms without a server: RFC test vectors byte for byte, every way a server
// message can be wrong, SASLprep (RFC 4013 §3's examples), PLAIN and OAUTHBEARER messages.
#include "net/sasl.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "kwire/client/error.hpp"

using namespace kwire::client;
using namespace kwire::client::detail;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

// RFC 7677 §3
constexpr std::string_view sha256_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view sha256_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view sha256_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view sha256_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// A SCRAM-SHA-256 machine for the RFC 7677 vector, started.
std::unique_ptr<sasl_mechanism> started_rfc7677() {
    auto m = make_scram_for_test("SCRAM-SHA-256", "user", "pencil", sha256_nonce);
    EXPECT_NE(m, nullptr);
    if (m) {
        EXPECT_EQ(text(m->start().send), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    }
    return m;
}

// The RFC 7677 machine after the client-final went out.
std::unique_ptr<sasl_mechanism> awaiting_final_rfc7677() {
    auto m = started_rfc7677();
    if (m) {
        EXPECT_EQ(text(m->on_server_message(bytes(sha256_server_first)).send), sha256_client_final);
    }
    return m;
}

std::error_code server_first_error(std::string_view server_first) {
    auto m = started_rfc7677();
    const auto s = m->on_server_message(bytes(server_first));
    EXPECT_FALSE(s.done);
    EXPECT_TRUE(s.send.empty());
    return s.error;
}

std::error_code server_final_error(std::string_view server_final) {
    auto m = awaiting_final_rfc7677();
    const auto s = m->on_server_message(bytes(server_final));
    EXPECT_FALSE(s.done);
    return s.error;
}

std::string prep(std::string_view in, saslprep_kind kind = saslprep_kind::stored) {
    std::string out;
    const auto ec = saslprep(in, kind, out);
    return ec ? "<" + ec.message() + ">" : out;
}

}  // namespace

// --- SCRAM: the RFC vectors ---------------------------------------------------------------------

TEST(Scram, Rfc7677Sha256VectorByteForByte) {
    auto m = make_scram_for_test("SCRAM-SHA-256", "user", "pencil", sha256_nonce);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), "SCRAM-SHA-256");
    const auto first = m->start();
    EXPECT_FALSE(first.error);
    EXPECT_FALSE(first.done);
    EXPECT_EQ(text(first.send), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const auto final = m->on_server_message(bytes(sha256_server_first));
    EXPECT_FALSE(final.error);
    EXPECT_FALSE(final.done);
    EXPECT_EQ(text(final.send), sha256_client_final);
    const auto end = m->on_server_message(bytes(sha256_server_final));
    EXPECT_FALSE(end.error) << end.error.message();
    EXPECT_TRUE(end.done);
    EXPECT_TRUE(end.send.empty());
}

TEST(Scram, Rfc5802Sha1VectorByteForByte) {
    auto m = make_scram_for_test("SCRAM-SHA-1", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(text(m->start().send), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    const auto final =
        m->on_server_message(bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"));
    EXPECT_FALSE(final.error);
    EXPECT_EQ(text(final.send), "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    const auto end = m->on_server_message(bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
    EXPECT_FALSE(end.error) << end.error.message();
    EXPECT_TRUE(end.done);
}

TEST(Scram, ServerFinalExtensionsAreIgnored) {
    auto m = awaiting_final_rfc7677();
    EXPECT_TRUE(m->on_server_message(bytes(std::string(sha256_server_final) + ",x=future")).done);
}

TEST(Scram, ServerFirstExtensionsAfterTheIterationCountAreIgnored) {
    auto m = started_rfc7677();
    const auto s = m->on_server_message(bytes(std::string(sha256_server_first) + ",x=future,y=1"));
    EXPECT_FALSE(s.error);
    // The AuthMessage holds the whole server-first, so the proof differs from the RFC's.
    const std::string_view prefix = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=";
    EXPECT_TRUE(text(s.send).starts_with(prefix)) << text(s.send);
    EXPECT_NE(text(s.send), sha256_client_final);
}

// --- SCRAM: what the user configures ------------------------------------------------------------

TEST(Scram, OnlySha256AndSha512AreOffered) {
    std::error_code ec;
    for (const char* name : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
        auto m = make_sasl_mechanism({name, "user", "pencil", {}}, nullptr, ec);
        ASSERT_NE(m, nullptr) << name;
        EXPECT_FALSE(ec);
        EXPECT_EQ(m->name(), name);
    }
    for (const char* name : {"SCRAM-SHA-1", "scram-sha-256", "SCRAM-SHA-384", "GSSAPI", ""}) {
        EXPECT_EQ(make_sasl_mechanism({name, "user", "pencil", {}}, nullptr, ec), nullptr) << name;
        EXPECT_EQ(ec, client_errc::sasl_mechanism_unsupported) << name;
    }
}

TEST(Scram, ClientNonceIsRandomPrintableAndAtLeast24Bytes) {
    std::error_code ec;
    const std::regex first("n,,n=user,r=([A-Za-z0-9+/]{32})");
    std::string nonces[2];
    for (auto& nonce : nonces) {
        auto m = make_sasl_mechanism({"SCRAM-SHA-512", "user", "pencil", {}}, nullptr, ec);
        ASSERT_NE(m, nullptr);
        const std::string msg = text(m->start().send);
        std::smatch match;
        ASSERT_TRUE(std::regex_match(msg, match, first)) << msg;  // 32 base64 characters: 24 bytes
        nonce = match[1];
    }
    EXPECT_NE(nonces[0], nonces[1]);
}

TEST(Scram, UserNameCommaAndEqualsAreEscaped) {
    auto m = make_scram_for_test("SCRAM-SHA-256", "a,b=c=,", "pencil", sha256_nonce);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(text(m->start().send), "n,,n=a=2Cb=3Dc=3D=2C,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(Scram, UserNameIsPreparedBeforeEscaping) {
    // U+00AD is mapped to nothing, U+2168 (ROMAN NUMERAL NINE) to "IX"; then ',' is escaped.
    auto m = make_scram_for_test("SCRAM-SHA-256", "u\xC2\xAD,\xE2\x85\xA8", "pencil", sha256_nonce);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(text(m->start().send), "n,,n=u=2CIX,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(Scram, PasswordIsPreparedBeforeTheKeyDerivation) {
    // "pen<SOFT HYPHEN>cil" prepares to "pencil": the RFC 7677 exchange succeeds byte for byte.
    auto m = make_scram_for_test("SCRAM-SHA-256", "user", "pen\xC2\xAD" "cil", sha256_nonce);
    ASSERT_NE(m, nullptr);
    m->start();
    EXPECT_EQ(text(m->on_server_message(bytes(sha256_server_first)).send), sha256_client_final);
    EXPECT_TRUE(m->on_server_message(bytes(sha256_server_final)).done);
}

TEST(Scram, CredentialsThatCannotBePreparedAreRefusedUpFront) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "pencil"},          {"user", ""},       {"user", "pen\x07" "cil"}, {"us\ter", "pencil"},
        {"user", "\xC2\xAD"},    {"user", "\xFF"},   {"user", "\xD8\xA7" "1"},  {"user", "p\xC3"},
        {"user", "\xED\xA0\x80"}};  // empty, control, SASLprep to nothing, not UTF-8, bidi, truncated, surrogate
    for (const auto& [user, password] : cases) {
        std::error_code ec;
        for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
            EXPECT_EQ(make_sasl_mechanism({mech, user, password, {}}, nullptr, ec), nullptr) << user << "/" << password;
            EXPECT_EQ(ec, client_errc::sasl_invalid_credentials);
        }
        EXPECT_EQ(make_scram_for_test("SCRAM-SHA-256", user, password, sha256_nonce), nullptr);
    }
}

// --- SCRAM: a server-first that must be refused -------------------------------------------------

TEST(Scram, ServerNonceMustExtendTheClientNonce) {
    EXPECT_EQ(server_first_error("r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
              client_errc::sasl_nonce_mismatch);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),  // nothing added
              client_errc::sasl_nonce_mismatch);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbe,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),  // shorter
              client_errc::sasl_nonce_mismatch);
}

TEST(Scram, IterationCountsBelow4096AreRefused) {
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095"),
              client_errc::sasl_iterations_too_low);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1"),
              client_errc::sasl_iterations_too_low);
}

TEST(Scram, IterationCountsAboveTheCapAreRefusedWithoutDeriving) {
    const std::string over = std::to_string(scram_max_iterations + 1);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=" + over),
              client_errc::sasl_iterations_too_high);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4294967296"),
              client_errc::sasl_iterations_too_high);
    EXPECT_EQ(server_first_error("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999999999"),
              client_errc::sasl_iterations_too_high);
}

TEST(Scram, IterationCountAtTheCapIsAccepted) {
    const std::string at = std::to_string(scram_max_iterations);
    auto m = started_rfc7677();
    const auto s = m->on_server_message(bytes("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=" + at));
    EXPECT_FALSE(s.error);
    EXPECT_FALSE(s.send.empty());
}

TEST(Scram, MalformedServerFirstIsRefused) {
    const std::string_view cases[] = {
        "",
        "r=rOprNGfwEbeRWgbNEkqOxyz",                                      // no salt, no count
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",           // no count
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                              // no nonce
        "r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",                               // no salt
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",    // out of order
        "r=rOprNGfwEbeRWgbNEkqOxyz,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",    // out of order
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",     // base64 length
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7so*sUEjb6gQ==,i=4096",    // base64 alphabet
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7so=sUEjb6gQ==,i=4096",    // '=' inside
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096",    // non-zero bits under the padding
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096",                            // empty salt
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",        // empty count
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",   // non-numeric
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",   // negative
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",   // leading zero
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i= 4096",
        "m=must-understand,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  // mandatory extension
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",   // trailing comma
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x",  // extension without value
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,1=x",
        "r=rOprNGfwEbeRWgbNEkqOx\x7Fz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  // nonce not printable
        "r=rOprNGfwEbeRWgbNEkqOx z,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "R=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    };
    for (const auto c : cases) EXPECT_EQ(server_first_error(c), client_errc::sasl_bad_server_message) << c;
    const char nul[] = "r=rOprNGfwEbeRWgbNEkqOx\0z,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    EXPECT_EQ(server_first_error({nul, sizeof nul - 1}), client_errc::sasl_bad_server_message);
}

TEST(Scram, ServerErrorInEitherMessageFails) {
    EXPECT_EQ(server_first_error("e=unknown-user"), client_errc::sasl_authentication_rejected);
    EXPECT_EQ(server_final_error("e=invalid-proof"), client_errc::sasl_authentication_rejected);
    EXPECT_EQ(server_final_error("e=other-error,x=y"), client_errc::sasl_authentication_rejected);
}

// --- SCRAM: a server-final that must be refused -------------------------------------------------

TEST(Scram, EveryFlippedBitOfTheServerSignatureIsCaught) {
    const std::string good(sha256_server_final);
    // Flip the top bit of each base64 character's six (always a signature bit, never padding).
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 2; i < good.size() - 1; ++i) {
        std::string bad = good;
        bad[i] = alphabet[alphabet.find(bad[i]) ^ 32u];
        EXPECT_EQ(server_final_error(bad), client_errc::sasl_server_signature_mismatch) << bad;
    }
}

TEST(Scram, ServerFinalReplayedFromAnotherExchangeIsRefused) {
    // The RFC 5802 SHA-1 verifier is well-formed base64 but the wrong length for SHA-256, and a
    // SHA-256 signature from another exchange (another nonce) is the right length but wrong.
    EXPECT_EQ(server_final_error("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), client_errc::sasl_bad_server_message);
    EXPECT_EQ(server_final_error("v=" + std::string(43, 'A') + "="), client_errc::sasl_server_signature_mismatch);
}

TEST(Scram, MalformedServerFinalIsRefused) {
    const std::string_view cases[] = {
        "", "v=", "v", "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,", "m=x,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="};
    for (const auto c : cases) EXPECT_EQ(server_final_error(c), client_errc::sasl_bad_server_message) << c;
}

// --- SCRAM: calls out of order ------------------------------------------------------------------

TEST(Scram, ServerMessageBeforeStartFails) {
    auto m = make_scram_for_test("SCRAM-SHA-256", "user", "pencil", sha256_nonce);
    EXPECT_EQ(m->on_server_message(bytes(sha256_server_first)).error, client_errc::sasl_bad_server_message);
    EXPECT_EQ(m->start().error, client_errc::sasl_bad_server_message);  // failed for good
}

TEST(Scram, StartTwiceFails) {
    auto m = started_rfc7677();
    EXPECT_EQ(m->start().error, client_errc::sasl_bad_server_message);
}

TEST(Scram, ServerFirstTwiceFails) {
    auto m = awaiting_final_rfc7677();
    // The server-first again is not a valid server-final.
    EXPECT_EQ(m->on_server_message(bytes(sha256_server_first)).error, client_errc::sasl_bad_server_message);
}

TEST(Scram, MessageAfterDoneFails) {
    auto m = awaiting_final_rfc7677();
    EXPECT_TRUE(m->on_server_message(bytes(sha256_server_final)).done);
    EXPECT_EQ(m->on_server_message(bytes(sha256_server_final)).error, client_errc::sasl_bad_server_message);
    EXPECT_EQ(m->on_server_message({}).error, client_errc::sasl_bad_server_message);
}

TEST(Scram, AFailureIsFinal) {
    auto m = started_rfc7677();
    EXPECT_EQ(m->on_server_message(bytes("e=x")).error, client_errc::sasl_authentication_rejected);
    // Even the right messages now: the same error, nothing to send.
    const auto s = m->on_server_message(bytes(sha256_server_first));
    EXPECT_EQ(s.error, client_errc::sasl_authentication_rejected);
    EXPECT_TRUE(s.send.empty());
    EXPECT_FALSE(m->on_server_message(bytes(sha256_server_final)).done);
}

// --- Errors never carry a credential ------------------------------------------------------------

TEST(Sasl, NoErrorMessageContainsThePasswordOrTheUser) {
    const std::string user = "alice-the-user", password = "Tr0ub4dor&3-secret";
    std::vector<std::error_code> seen;
    const std::string_view server_firsts[] = {
        "e=x", "r=zz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
        "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=999999999", "garbage"};
    for (const auto sf : server_firsts) {
        auto m = make_scram_for_test("SCRAM-SHA-256", user, password, sha256_nonce);
        m->start();
        seen.push_back(m->on_server_message(bytes(sf)).error);
    }
    for (const std::string& sf : {std::string("e=x"), "v=" + std::string(43, 'A') + "=", std::string("junk")}) {
        auto m = make_scram_for_test("SCRAM-SHA-256", user, password, sha256_nonce);
        m->start();
        m->on_server_message(bytes("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
        seen.push_back(m->on_server_message(bytes(sf)).error);
    }
    std::error_code ec;
    make_sasl_mechanism({"SCRAM-SHA-256", user, password + "\x07", {}}, nullptr, ec);
    seen.push_back(ec);
    make_sasl_mechanism({"PLAIN", user, password + std::string(1, '\0'), {}}, nullptr, ec);
    seen.push_back(ec);
    auto plain = make_sasl_mechanism({"PLAIN", user, password, {}}, nullptr, ec);
    plain->start();
    seen.push_back(plain->on_server_message(bytes("no")).error);
    for (const auto& e : seen) {
        ASSERT_TRUE(e);
        EXPECT_EQ(e.message().find(password), std::string::npos) << e.message();
        EXPECT_EQ(e.message().find("Tr0ub"), std::string::npos) << e.message();
        EXPECT_EQ(e.message().find(user), std::string::npos) << e.message();
    }
}

// --- SASLprep (RFC 4013) ------------------------------------------------------------------------

TEST(Saslprep, Rfc4013Section3Examples) {
    EXPECT_EQ(prep("I\xC2\xADX"), "IX");      // 1. SOFT HYPHEN mapped to nothing
    EXPECT_EQ(prep("user"), "user");          // 2. no transformation
    EXPECT_EQ(prep("USER"), "USER");          // 3. case preserved
    EXPECT_EQ(prep("\xC2\xAA"), "a");         // 4. U+00AA, NFKC
    EXPECT_EQ(prep("\xE2\x85\xA8"), "IX");    // 5. U+2168, NFKC
    const std::string prohibited = "<" + make_error_code(client_errc::sasl_invalid_credentials).message() + ">";
    EXPECT_EQ(prep("\x07"), prohibited);            // 6. prohibited character
    EXPECT_EQ(prep("\xD8\xA7" "1"), prohibited);    // 7. bidi: RandALCat first, not last
}

TEST(Saslprep, AsciiFastPathProhibitsOnlyControlCharacters) {
    EXPECT_EQ(prep(" !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"), " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~");
    for (int c = 0; c < 0x20; ++c) EXPECT_EQ(prep("a" + std::string(1, static_cast<char>(c)) + "b")[0], '<') << c;
    EXPECT_EQ(prep("a\x7F" "b")[0], '<');
}

TEST(Saslprep, NonAsciiSpacesBecomeSpacesAndZeroWidthCharactersVanish) {
    EXPECT_EQ(prep("a\xC2\xA0" "b"), "a b");         // NO-BREAK SPACE (C.1.2)
    EXPECT_EQ(prep("a\xE2\x80\x83" "b"), "a b");     // EM SPACE
    EXPECT_EQ(prep("a\xEF\xBB\xBF" "b"), "ab");      // ZERO WIDTH NO-BREAK SPACE (B.1)
    EXPECT_EQ(prep("a\xE2\x80\x8B" "b"), "a b");     // ZERO WIDTH SPACE is in C.1.2 and B.1: space first
    EXPECT_EQ(prep("\xC3\xA4"), "\xC3\xA4");         // U+00E4, already NFC/NFKC
    EXPECT_EQ(prep("a\xCC\x88"), "\xC3\xA4");        // a + COMBINING DIAERESIS composes
}

TEST(Saslprep, UnassignedCodePointsOnlyInQueries) {
    // U+0221 was unassigned in Unicode 3.2, the version stringprep is fixed to.
    EXPECT_EQ(prep("a\xC8\xA1", saslprep_kind::query), "a\xC8\xA1");
    EXPECT_EQ(prep("a\xC8\xA1", saslprep_kind::stored)[0], '<');
}

TEST(Saslprep, ProhibitedNonAsciiAndMalformedInputFail) {
    const std::string_view cases[] = {
        "a\xEE\x80\x80",      // U+E000 private use (C.3)
        "a\xEF\xBF\xBE",      // U+FFFE non-character (C.4)
        "a\xC2\x85",          // U+0085 non-ASCII control (C.2.2)
        "\xD8\xA7" "a\xD8\xA7",  // RandALCat and LCat together
        "\xC3\xA4\x80",       // stray continuation byte
        "\xC0\xAF",           // overlong '/'
        "\xF4\x90\x80\x80",   // above U+10FFFF
        "\xC2\xAD",           // nothing left
        "",
    };
    for (const auto c : cases) EXPECT_EQ(prep(c)[0], '<') << c;
    const char nul[] = "\xC3\xA4\0x";
    EXPECT_EQ(prep({nul, sizeof nul - 1})[0], '<');
}

TEST(Saslprep, RightToLeftStringsFollowTheBidiRule) {
    EXPECT_EQ(prep("\xD8\xA7\xD8\xA8"), "\xD8\xA7\xD8\xA8");       // all RandALCat
    EXPECT_EQ(prep("\xD8\xA7" "1" "\xD8\xA8"), "\xD8\xA7" "1" "\xD8\xA8");  // first and last RandALCat
}

// --- PLAIN -------------------------------------------------------------------------------------

TEST(Plain, MessageIsEmptyAuthzidUserAndPassword) {
    std::error_code ec;
    auto m = make_sasl_mechanism({"PLAIN", "user", "pencil", {}}, nullptr, ec);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), "PLAIN");
    const auto s = m->start();
    EXPECT_FALSE(s.error);
    EXPECT_FALSE(s.done);
    EXPECT_EQ(s.send, bytes(std::string_view("\0user\0pencil", 12)));
    const auto end = m->on_server_message({});
    EXPECT_FALSE(end.error);
    EXPECT_TRUE(end.done);
    EXPECT_TRUE(end.send.empty());
}

TEST(Plain, CredentialsGoAsConfiguredWithoutSaslprep) {
    // Kafka's broker compares PLAIN credentials as they are, so neither SASLprep mapping applies.
    std::error_code ec;
    auto m = make_sasl_mechanism({"PLAIN", "I\xC2\xADX", "a\xC2\xA0" "b", {}}, nullptr, ec);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(text(m->start().send), std::string("\0I\xC2\xADX\0a\xC2\xA0" "b", 10));
}

TEST(Plain, ANonEmptyServerAnswerOrAnAnswerOutOfPlaceFails) {
    std::error_code ec;
    auto m = make_sasl_mechanism({"PLAIN", "user", "pencil", {}}, nullptr, ec);
    m->start();
    EXPECT_EQ(m->on_server_message(bytes("x")).error, client_errc::sasl_bad_server_message);
    EXPECT_EQ(m->on_server_message({}).error, client_errc::sasl_bad_server_message);  // stays failed

    auto early = make_sasl_mechanism({"PLAIN", "user", "pencil", {}}, nullptr, ec);
    EXPECT_EQ(early->on_server_message({}).error, client_errc::sasl_bad_server_message);

    auto twice = make_sasl_mechanism({"PLAIN", "user", "pencil", {}}, nullptr, ec);
    twice->start();
    EXPECT_EQ(twice->start().error, client_errc::sasl_bad_server_message);

    auto after = make_sasl_mechanism({"PLAIN", "user", "pencil", {}}, nullptr, ec);
    after->start();
    EXPECT_TRUE(after->on_server_message({}).done);
    EXPECT_EQ(after->on_server_message({}).error, client_errc::sasl_bad_server_message);
}

TEST(Plain, EmptyOrNulOrNonUtf8CredentialsAreRefused) {
    const std::pair<std::string, std::string> cases[] = {
        {"", "pencil"}, {"user", ""}, {std::string("us\0er", 5), "pencil"}, {"user", std::string("pen\0cil", 7)},
        {"user", "\xFF"}};
    for (const auto& [user, password] : cases) {
        std::error_code ec;
        EXPECT_EQ(make_sasl_mechanism({"PLAIN", user, password, {}}, nullptr, ec), nullptr);
        EXPECT_EQ(ec, client_errc::sasl_invalid_credentials);
    }
}

// --- OAUTHBEARER -------------------------------------------------------------------------------

TEST(OAuthBearer, InitialResponseWithoutExtensions) {
    std::error_code ec;
    const oauth_token token{"eyJhbGciOi.eyJzdWIiOi.c2ln-_~+/==", {}, {}};
    auto m = make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->name(), "OAUTHBEARER");
    EXPECT_EQ(text(m->start().send), "n,,\x01" "auth=Bearer eyJhbGciOi.eyJzdWIiOi.c2ln-_~+/==\x01\x01");
    const auto end = m->on_server_message({});
    EXPECT_FALSE(end.error);
    EXPECT_TRUE(end.done);
}

TEST(OAuthBearer, InitialResponseWithExtensionsInKeyOrder) {
    std::error_code ec;
    const oauth_token token{"abc", {}, {{"traceId", "x y\tz"}, {"logicalCluster", "lkc-123"}}};
    auto m = make_sasl_mechanism({"OAUTHBEARER", "ignored", "ignored", {}}, &token, ec);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(text(m->start().send),
              "n,,\x01" "auth=Bearer abc\x01" "logicalCluster=lkc-123\x01" "traceId=x y\tz\x01\x01");
}

TEST(OAuthBearer, ServerErrorIsAnsweredWithControlAThenFails) {
    std::error_code ec;
    const oauth_token token{"abc", {}, {}};
    auto m = make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec);
    m->start();
    const auto reply = m->on_server_message(bytes(R"({"status":"invalid_token"})"));
    EXPECT_FALSE(reply.error);
    EXPECT_FALSE(reply.done);
    EXPECT_EQ(reply.send, std::vector<std::uint8_t>{0x01});
    // Kafka's broker answers the ^A with a SaslAuthenticate error; anything else ends it here.
    EXPECT_EQ(m->on_server_message({}).error, client_errc::sasl_authentication_rejected);
    EXPECT_EQ(m->on_server_message({}).error, client_errc::sasl_authentication_rejected);
}

TEST(OAuthBearer, MissingTokenIsUnavailable) {
    std::error_code ec;
    EXPECT_EQ(make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, nullptr, ec), nullptr);
    EXPECT_EQ(ec, client_errc::oauth_token_unavailable);
    const oauth_token empty{};
    EXPECT_EQ(make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &empty, ec), nullptr);
    EXPECT_EQ(ec, client_errc::oauth_token_unavailable);
}

TEST(OAuthBearer, TokensAndExtensionsOutsideTheGrammarAreRefused) {
    const oauth_token cases[] = {
        {"a b", {}, {}},       {"a\x01" "b", {}, {}},     {"=abc", {}, {}},  {"ab=c", {}, {}},
        {"a,b", {}, {}},       {"abc", {}, {{"auth", "x"}}}, {"abc", {}, {{"", "x"}}},
        {"abc", {}, {{"k1", "x"}}}, {"abc", {}, {{"k", ""}}}, {"abc", {}, {{"k", "a\x01" "b"}}},
        {"abc", {}, {{"k", "\xC3\xA4"}}}, {"abc", {}, {{"k=", "x"}}}};
    for (const auto& token : cases) {
        std::error_code ec;
        EXPECT_EQ(make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec), nullptr) << token.value;
        EXPECT_EQ(ec, client_errc::sasl_invalid_credentials) << token.value;
    }
}

TEST(OAuthBearer, CallsOutOfOrderFail) {
    std::error_code ec;
    const oauth_token token{"abc", {}, {}};
    auto early = make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec);
    EXPECT_EQ(early->on_server_message({}).error, client_errc::sasl_bad_server_message);
    auto twice = make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec);
    twice->start();
    EXPECT_EQ(twice->start().error, client_errc::sasl_bad_server_message);
    auto after = make_sasl_mechanism({"OAUTHBEARER", {}, {}, {}}, &token, ec);
    after->start();
    EXPECT_TRUE(after->on_server_message({}).done);
    EXPECT_EQ(after->on_server_message({}).error, client_errc::sasl_bad_server_message);
}
