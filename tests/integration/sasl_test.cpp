// SASL on real connections: the test proxy plays the broker side of SASL in front of the mock
// cluster (which has none) -- ApiVersions advertising SaslHandshake/SaslAuthenticate, the
// exchange itself, closing connections that skip it or outlive their session (KIP-368) -- and
// forwards everything else to the mock. The mechanisms on the broker side are Cyrus SASL's where
// it has them (an independent implementation), PLAIN checked here otherwise.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "kwire/client/consumer.hpp"
#include "kwire/client/metadata.hpp"
#include "connection_fixture.hpp"
#include "producer_fixture.hpp"
#include "support_proxy.hpp"
#include "support_sasl.hpp"
#include "tls_peer.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::bv;
using kwire::test::metadata_with;
using kwire::test::run_until;
using kwire::test::run_for;
namespace kc = kwire::client;

template <class Config> void sasl_to(Config& cfg, const kwire::test::kafka_proxy& proxy, const std::string& mechanism,
                                     const std::string& user, const std::string& password) {
    cfg.bootstrap_servers = proxy.addresses();
    cfg.security = kc::security_protocol::sasl_plaintext;
    cfg.sasl.mechanism = mechanism;
    cfg.sasl.username = user;
    cfg.sasl.password = password;
    cfg.request_timeout = 5000ms;
    cfg.reconnect_backoff = 20ms;
}

/// Produces n records through `cfg` and returns the first error (none: every send acknowledged).
std::error_code produce_all(const kwire::producer_config& cfg, const std::string& topic, int n) {
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), cfg);
    int acked = 0;
    std::error_code error;
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back("authenticated-" + std::to_string(i));
    for (const auto& v : values)
        p.send({.topic = topic, .value = bv(v), .partition = 0}, [&](std::error_code ec, kwire::delivery) {
            if (ec && !error) error = ec;
            ++acked;
        });
    if (!run_until(io, [&] { return acked == n; }, 30s)) return make_error_code(std::errc::timed_out);
    return error;
}

class SaslTest : public ::testing::TestWithParam<const char*> {
protected:
    kwire::peers::mock_cluster mc{1};
    kwire::test::kafka_proxy proxy{mc.broker_addresses()};
    void SetUp() override {
        mc.create_topic("t", 1);
        auto authority = kwire::test::make_sasl_authority({{"alice", "alice-secret"}, {"bj\xc3\xb6rn", "p\xc3\xa5ssword"}});
        if (!authority) GTEST_SKIP() << "no SASL server implementation available";
        const auto mechs = authority->mechanisms();
        if (std::find(mechs.begin(), mechs.end(), GetParam()) == mechs.end())
            GTEST_SKIP() << GetParam() << " not offered by the server side";
        proxy.require_sasl(std::move(authority));
    }
};

TEST_P(SaslTest, AuthenticatesThenProducesAndConsumes) {
    kwire::producer_config cfg;
    sasl_to(cfg, proxy, GetParam(), "alice", "alice-secret");
    cfg.delivery_timeout = 20s;
    const auto ec = produce_all(cfg, "t", 200);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_GE(proxy.sasl_successes(), 2) << "bootstrap and the leader connection each authenticate";
    EXPECT_EQ(proxy.sasl_failures(), 0);
    EXPECT_EQ(proxy.sasl_unauthenticated_requests(), 0);

    kwire::consumer_config ccfg;
    sasl_to(ccfg, proxy, GetParam(), "alice", "alice-secret");
    ccfg.fetch_max_wait = 100ms;
    std::vector<std::string> values;
    const auto consumed = kwire::test::consume_n(ccfg, {{"t", 0, kwire::offset::beginning}}, 200, &values);
    ASSERT_FALSE(consumed) << consumed.message();
    ASSERT_EQ(values.size(), 200u);
    EXPECT_EQ(values.front(), "authenticated-0");
    EXPECT_EQ(values.back(), "authenticated-199");
}

TEST_P(SaslTest, AWrongPasswordFailsWithTheBrokersErrorAndNoSecretInIt) {
    kc::connection_config cfg;
    sasl_to(cfg, proxy, GetParam(), "alice", "not-the-password");
    const auto ec = metadata_with(cfg);
    ASSERT_TRUE(ec);
    // SCRAM: the broker refuses the proof (58). PLAIN likewise.
    EXPECT_EQ(ec, kwire::kafka_error(58)) << ec.message();
    EXPECT_EQ(ec.message().find("not-the-password"), std::string::npos);
    EXPECT_GE(proxy.sasl_failures(), 1);
    EXPECT_EQ(proxy.sasl_unauthenticated_requests(), 0) << "nothing else was sent before authenticating";
}

TEST_P(SaslTest, NonAsciiCredentialsWork) {
    kc::connection_config cfg;
    sasl_to(cfg, proxy, GetParam(), "bj\xc3\xb6rn", "p\xc3\xa5ssword");
    const auto ec = metadata_with(cfg);
    EXPECT_FALSE(ec) << ec.message();
}

TEST_P(SaslTest, ReauthenticatesBeforeTheSessionExpires) {
    // A 1.5 s session: the client must re-authenticate on the same connection (KIP-368) at
    // 85-95% of it, after letting the requests in flight finish; a request after expiry would
    // make the broker close the connection.
    kwire::test::kafka_proxy short_lived{mc.broker_addresses()};
    short_lived.require_sasl(kwire::test::make_sasl_authority({{"alice", "alice-secret"}}), 1500);
    kwire::producer_config cfg;
    sasl_to(cfg, short_lived, GetParam(), "alice", "alice-secret");
    cfg.linger = 1ms;
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), cfg);
    int acked = 0, failed = 0;
    std::vector<std::string> values;
    for (int i = 0; i < 400; ++i) values.push_back("r" + std::to_string(i));
    // A steady trickle for ~4 s: every session expires at least twice on every connection.
    for (int i = 0; i < 400; ++i) {
        p.send({.topic = "t", .value = bv(values[static_cast<std::size_t>(i)]), .partition = 0},
               [&](std::error_code ec, kwire::delivery) { ++(ec ? failed : acked); });
        run_for(io, 10ms);
    }
    ASSERT_TRUE(run_until(io, [&] { return acked + failed == 400; }, 30s));
    EXPECT_EQ(failed, 0);
    const int connections = short_lived.accepted();
    EXPECT_GE(short_lived.sasl_successes(), connections + 2) << "re-authentications happened";
    EXPECT_EQ(short_lived.sasl_expired_closes(), 0) << "no request was sent on an expired session";
    EXPECT_EQ(short_lived.sasl_interleaved(), 0) << "no SASL request overtook requests in flight";
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, SaslTest, ::testing::Values("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"));

TEST(SaslConfig, SaslOverTls) {
    // security.protocol=sasl_ssl: stunnel (TLS) -> the SASL gateway -> the mock.
    if (!kwire::peers::tls_peers_available()) GTEST_SKIP() << "openssl or stunnel not installed";
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("t", 1);
    kwire::test::kafka_proxy proxy(mc.broker_addresses());
    auto authority = kwire::test::make_sasl_authority({{"alice", "alice-secret"}}, {"SCRAM-SHA-512"});
    if (!authority) GTEST_SKIP() << "Cyrus SASL has no SCRAM-SHA-512 here";
    proxy.require_sasl(std::move(authority));
    kwire::peers::test_certificates certs({"DNS:kafka.test", "IP:127.0.0.1"});
    kwire::peers::stunnel_front tunnel(certs, proxy.addresses().front());
    kwire::producer_config cfg;
    sasl_to(cfg, proxy, "SCRAM-SHA-512", "alice", "alice-secret");
    cfg.security = kc::security_protocol::sasl_ssl;
    cfg.bootstrap_servers = {"kafka.test:9093"};
    cfg.tls.ca_location = certs.ca();
    cfg.map_address = [port = tunnel.port()](const kc::broker_address&) { return kc::broker_address{"127.0.0.1", port}; };
    cfg.delivery_timeout = 20s;
    const auto ec = produce_all(cfg, "t", 100);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_GE(proxy.sasl_successes(), 2);
    EXPECT_EQ(proxy.sasl_unauthenticated_requests(), 0);
    EXPECT_NE(tunnel.log().find("accepted connection"), std::string::npos);
}

TEST(SaslConfig, AMechanismTheBrokerDoesNotEnableIsReportedAsSuch) {
    kwire::peers::mock_cluster mc(1);
    kwire::test::kafka_proxy proxy(mc.broker_addresses());
    auto authority = kwire::test::make_sasl_authority({{"alice", "alice-secret"}}, {"PLAIN"});
    if (!authority) GTEST_SKIP() << "no SASL server implementation available";
    proxy.require_sasl(std::move(authority));
    kc::connection_config cfg;
    sasl_to(cfg, proxy, "SCRAM-SHA-512", "alice", "alice-secret");
    EXPECT_EQ(metadata_with(cfg), kc::client_errc::sasl_mechanism_unsupported);
}

TEST(SaslConfig, OauthBearerTakesTheTokenFromTheCallback) {
    kwire::peers::mock_cluster mc(1);
    kwire::test::kafka_proxy proxy(mc.broker_addresses());
    auto authority = kwire::test::make_oauth_authority("token-123");
    proxy.require_sasl(std::move(authority));
    kc::connection_config cfg;
    sasl_to(cfg, proxy, "OAUTHBEARER", "", "");
    std::atomic<int> calls{0};
    std::vector<std::thread> fetchers;
    cfg.sasl.token_provider = [&calls, &fetchers](std::function<void(std::error_code, kc::oauth_token)> done) {
        ++calls;
        // Answer from another thread, as a token fetched over HTTP might.
        fetchers.emplace_back([done = std::move(done)] {
            kc::oauth_token t;
            t.value = "token-123";
            t.expiry = std::chrono::system_clock::now() + 1h;
            done({}, t);
        });
    };
    EXPECT_FALSE(metadata_with(cfg));
    for (auto& t : fetchers) t.join();
    EXPECT_GE(calls.load(), 1);
    cfg.sasl.token_provider = [](std::function<void(std::error_code, kc::oauth_token)> done) {
        kc::oauth_token t;
        t.value = "stale-token";
        done({}, t);
    };
    EXPECT_EQ(metadata_with(cfg), kwire::kafka_error(58));
    cfg.sasl.token_provider = nullptr;
    EXPECT_EQ(metadata_with(cfg), kc::client_errc::oauth_token_unavailable);
}

}  // namespace
