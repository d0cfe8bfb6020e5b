// kwire's SASL mechanisms against an independent server: Cyrus SASL (libsasl2), in-process, as
// the SERVER. Passwords live in a sasldb file in a temporary directory (sasl_setpass writes the
// plaintext for PLAIN and salted SCRAM secrets for every SCRAM mechanism); the mechanism's
// messages go to sasl_server_start/sasl_server_step and the server's answers back, exactly as a
// broker's SaslAuthenticate responses would.
#include <sasl/sasl.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "net/sasl.hpp"
#include "kwire/client/error.hpp"

using namespace kwire::client;
using namespace kwire::client::detail;

namespace {

std::string sasldb_path;               // the temporary sasldb file
std::string scram_iterations = "4096";  // what Cyrus uses for the secrets sasl_setpass writes

int get_option(void*, const char*, const char* option, const char** result, unsigned* len) {
    const std::string* value = nullptr;
    if (std::strcmp(option, "sasldb_path") == 0) value = &sasldb_path;
    else if (std::strcmp(option, "scram_iteration_counter") == 0) value = &scram_iterations;
    static const std::string auxprop = "auxprop", sasldb = "sasldb";
    if (std::strcmp(option, "pwcheck_method") == 0) value = &auxprop;
    else if (std::strcmp(option, "auxprop_plugin") == 0) value = &sasldb;
    if (value == nullptr) return SASL_FAIL;
    *result = value->c_str();
    if (len != nullptr) *len = static_cast<unsigned>(value->size());
    return SASL_OK;
}

int quiet_log(void*, int, const char*) { return SASL_OK; }

// Cyrus's callback table stores every callback as int (*)(void).
template <typename F>
int (*erase(F* f))(void) {
    return reinterpret_cast<int (*)(void)>(reinterpret_cast<void*>(f));
}

struct server_conn {
    sasl_conn_t* conn = nullptr;
    server_conn() {
        const int rc = sasl_server_new("kafka", "localhost", nullptr, nullptr, nullptr, nullptr,
                                       SASL_SUCCESS_DATA,  // the server-final rides on the last answer
                                       &conn);
        EXPECT_EQ(rc, SASL_OK) << sasl_errstring(rc, nullptr, nullptr);
    }
    ~server_conn() { sasl_dispose(&conn); }
    server_conn(const server_conn&) = delete;
    server_conn& operator=(const server_conn&) = delete;
};

struct outcome {
    int server = SASL_CONTINUE;  // Cyrus's last result: SASL_OK means it authenticated the user
    std::string server_user;     // whom it authenticated
    std::error_code client;      // the mechanism's error, if any
    bool client_done = false;    // the mechanism reported done
};

std::span<const std::uint8_t> view(const char* p, unsigned n) {
    return {reinterpret_cast<const std::uint8_t*>(p), n};
}
const char* chars(const std::vector<std::uint8_t>& b) { return reinterpret_cast<const char*>(b.data()); }

/// Runs the exchange the way the broker connection does, with Cyrus answering.
outcome exchange(sasl_mechanism& m) {
    outcome o;
    server_conn s;
    auto step = m.start();
    if (step.error) {
        o.client = step.error;
        return o;
    }
    const char* out = nullptr;
    unsigned out_len = 0;
    const std::string mech(m.name());
    int rc = sasl_server_start(s.conn, mech.c_str(), chars(step.send), static_cast<unsigned>(step.send.size()), &out,
                               &out_len);
    for (;;) {
        o.server = rc;
        if (rc != SASL_OK && rc != SASL_CONTINUE) return o;  // Cyrus refused: the broker's error
        step = m.on_server_message(view(out, out_len));
        o.client = step.error;
        o.client_done = step.done;
        if (rc == SASL_OK) break;
        if (step.error || step.done) return o;
        rc = sasl_server_step(s.conn, chars(step.send), static_cast<unsigned>(step.send.size()), &out, &out_len);
    }
    const void* user = nullptr;
    if (sasl_getprop(s.conn, SASL_USERNAME, &user) == SASL_OK && user != nullptr)
        o.server_user = static_cast<const char*>(user);
    return o;
}

void set_password(const std::string& user, const std::string& password) {
    server_conn s;
    const int rc = sasl_setpass(s.conn, user.c_str(), password.c_str(), static_cast<unsigned>(password.size()),
                                nullptr, 0, SASL_SET_CREATE);
    ASSERT_EQ(rc, SASL_OK) << sasl_errdetail(s.conn);
}

std::unique_ptr<sasl_mechanism> client(const std::string& mechanism, const std::string& user,
                                       const std::string& password) {
    std::error_code ec;
    auto m = make_sasl_mechanism({mechanism, user, password, {}}, nullptr, ec);
    EXPECT_FALSE(ec) << ec.message();
    return m;
}

// Cyrus's server library is initialised once per process.
class cyrus_environment : public ::testing::Environment {
public:
    void SetUp() override {
        std::string dir = (std::filesystem::temp_directory_path() / "kwire-sasl-XXXXXX").string();
        ASSERT_NE(mkdtemp(dir.data()), nullptr);
        sasldb_path = dir + "/sasldb2";
        static const sasl_callback_t callbacks[] = {
            {SASL_CB_GETOPT, erase(&get_option), nullptr},
            {SASL_CB_LOG, erase(&quiet_log), nullptr},
            {SASL_CB_LIST_END, nullptr, nullptr},
        };
        ASSERT_EQ(sasl_server_init(callbacks, "kwire-sasl-test"), SASL_OK);
    }
    void TearDown() override {
        sasl_server_done();
        std::filesystem::remove_all(std::filesystem::path(sasldb_path).parent_path());
    }
};
[[maybe_unused]] ::testing::Environment* const cyrus = ::testing::AddGlobalTestEnvironment(new cyrus_environment);

class CyrusServer : public ::testing::TestWithParam<std::string> {
protected:
    void TearDown() override { scram_iterations = "4096"; }
    const std::string& mechanism() const { return GetParam(); }
    /// Stores `stored` as the user's password in Cyrus, then runs kwire configured with `configured`.
    outcome authenticate(const std::string& u, const std::string& stored, const std::string& configured) const {
        set_password(u, stored);
        auto m = client(mechanism(), u, configured);
        return m ? exchange(*m) : outcome{};
    }
    // A user name per test and mechanism, so the tests share one sasldb without meeting.
    std::string user(std::string_view base) const {
        std::string u(base);
        u += '-';
        u += ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (auto& c : u)
            if (c == '/') c = '_';
        return u;
    }
};

void expect_authenticated(const outcome& o, const std::string& u) {
    EXPECT_EQ(o.server, SASL_OK) << sasl_errstring(o.server, nullptr, nullptr);
    EXPECT_FALSE(o.client) << o.client.message();
    EXPECT_TRUE(o.client_done);
    EXPECT_EQ(o.server_user, u);
}

// The SCRAM mechanisms only.
class CyrusScram : public CyrusServer {};

std::string param_name(const ::testing::TestParamInfo<std::string>& p) {
    std::string n = p.param;
    for (auto& c : n)
        if (c == '-') c = '_';
    return n;
}

}  // namespace

TEST_P(CyrusServer, CyrusOffersTheMechanism) {
    server_conn s;
    const char* list = nullptr;
    unsigned len = 0;
    int count = 0;
    ASSERT_EQ(sasl_listmech(s.conn, nullptr, " ", " ", " ", &list, &len, &count), SASL_OK);
    EXPECT_NE(std::string(list, len).find(" " + mechanism() + " "), std::string::npos) << list;
}

TEST_P(CyrusServer, RightPasswordAuthenticatesBothWays) {
    const auto u = user("alice");
    expect_authenticated(authenticate(u, "pencil", "pencil"), u);
}

TEST_P(CyrusServer, WrongPasswordIsRefusedByTheServer) {
    const auto o = authenticate(user("bob"), "pencil", "pencim");
    EXPECT_EQ(o.server, SASL_BADAUTH) << sasl_errstring(o.server, nullptr, nullptr);
    EXPECT_FALSE(o.client_done);
}

TEST_P(CyrusServer, UnknownUserIsRefusedByTheServer) {
    auto m = client(mechanism(), user("nobody"), "pencil");
    const auto o = exchange(*m);
    EXPECT_NE(o.server, SASL_OK);
    EXPECT_NE(o.server, SASL_CONTINUE);
    EXPECT_FALSE(o.client_done);
}

TEST_P(CyrusServer, NonAsciiPassword) {
    // "pässwörd-€-日本" in NFC: SASLprep leaves it as it is, so every mechanism sends the same bytes.
    const std::string password = "p\xC3\xA4ssw\xC3\xB6rd-\xE2\x82\xAC-\xE6\x97\xA5\xE6\x9C\xAC";
    const auto u = user("carol");
    expect_authenticated(authenticate(u, password, password), u);
}

TEST_P(CyrusServer, NonAsciiUserName) {
    const auto u = user("j\xC3\xBCrgen");
    expect_authenticated(authenticate(u, "pencil", "pencil"), u);
}

TEST_P(CyrusServer, UserNameWithCommaAndEquals) {
    const auto u = user("d,a=ve");
    expect_authenticated(authenticate(u, "pencil", "pencil"), u);
}

// Cyrus keeps the password as given; kwire's SCRAM prepares "pa<SOFT HYPHEN>ss<ROMAN NINE>" to
// "passIX" before deriving keys, so it authenticates against the prepared form (RFC 5802 §2.2).
TEST_P(CyrusScram, PasswordIsPreparedWithSaslprep) {
    const auto u = user("erin");
    expect_authenticated(authenticate(u, "passIX", "pa\xC2\xADss\xE2\x85\xA8"), u);
}

TEST_P(CyrusScram, MoreIterationsThanTheMinimum) {
    scram_iterations = "15000";
    const auto u = user("frank");
    expect_authenticated(authenticate(u, "pencil", "pencil"), u);
}

TEST_P(CyrusScram, AServerAskingForTooManyIterationsIsRefused) {
    scram_iterations = std::to_string(scram_max_iterations + 1);
    const auto o = authenticate(user("grace"), "pencil", "pencil");
    EXPECT_EQ(o.client, client_errc::sasl_iterations_too_high);
    EXPECT_EQ(o.server, SASL_CONTINUE);  // the client gave up before sending a proof
    EXPECT_FALSE(o.client_done);
}

// The client checks the server's signature against its own exchange: the server-final of another
// exchange (same user and password, other nonces) does not prove anything and is refused.
TEST_P(CyrusScram, AServerFinalFromAnotherExchangeIsRefused) {
    const auto u = user("heidi");
    set_password(u, "pencil");
    auto a = client(mechanism(), u, "pencil");
    auto b = client(mechanism(), u, "pencil");
    server_conn sa, sb;
    const std::string mech(mechanism());
    std::vector<std::uint8_t> finals[2];
    sasl_mechanism* machines[2] = {a.get(), b.get()};
    server_conn* servers[2] = {&sa, &sb};
    for (int i = 0; i < 2; ++i) {
        const auto first = machines[i]->start();
        const char* out = nullptr;
        unsigned out_len = 0;
        ASSERT_EQ(sasl_server_start(servers[i]->conn, mech.c_str(), chars(first.send),
                                    static_cast<unsigned>(first.send.size()), &out, &out_len),
                  SASL_CONTINUE);
        const auto final = machines[i]->on_server_message(view(out, out_len));
        ASSERT_FALSE(final.error);
        ASSERT_EQ(sasl_server_step(servers[i]->conn, chars(final.send), static_cast<unsigned>(final.send.size()), &out,
                                   &out_len),
                  SASL_OK);  // Cyrus accepts both proofs
        finals[i].assign(out, out + out_len);
    }
    EXPECT_EQ(a->on_server_message(finals[1]).error, client_errc::sasl_server_signature_mismatch);
    EXPECT_TRUE(b->on_server_message(finals[1]).done);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, CyrusServer, ::testing::Values("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Mechanisms, CyrusScram, ::testing::Values("SCRAM-SHA-256", "SCRAM-SHA-512"), param_name);
