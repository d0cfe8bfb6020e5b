// Connections over TLS, against a real TLS implementation: stunnel terminates TLS in front of a
// one-broker mock cluster, with certificates the test makes with openssl. The address-mapping
// hook sends every connection (bootstrap and the broker the metadata advertises) to stunnel,
// while the certificate is checked against the name the client was given or the broker
// advertised. Also: mutual TLS, a wrong host name, an untrusted CA, either side speaking the
// wrong protocol, and names resolved by c-ares.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <fstream>
#include <thread>
#include <set>
#include <sstream>

#include "kwire/client/consumer.hpp"
#include "kwire/client/metadata.hpp"
#include "connection_fixture.hpp"
#include "producer_fixture.hpp"
#include "tls_peer.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::bv;
using kwire::test::metadata_with;
using kwire::test::run_until;
namespace kc = kwire::client;

class TlsTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!kwire::peers::tls_peers_available()) GTEST_SKIP() << "openssl or stunnel not installed";
    }
};

/// Every address goes to `port` on 127.0.0.1; the names asked for are remembered.
struct to_port {
    std::uint16_t port;
    std::shared_ptr<std::set<std::string>> asked = std::make_shared<std::set<std::string>>();
    kc::address_mapper mapper() const {
        return [port = port, asked = asked](const kc::broker_address& a) {
            asked->insert(a.host + ":" + std::to_string(a.port));
            return kc::broker_address{"127.0.0.1", port};
        };
    }
};

template <class Config> void tls_to(Config& cfg, const kwire::peers::test_certificates& certs, const to_port& via) {
    cfg.bootstrap_servers = {"kafka.test:9093"};
    cfg.security = kc::security_protocol::ssl;
    cfg.tls.ca_location = certs.ca();
    cfg.map_address = via.mapper();
    cfg.request_timeout = 5000ms;
    cfg.socket_connection_setup_timeout = 5000ms;
    cfg.reconnect_backoff = 20ms;
}

TEST_F(TlsTest, ProducesAndConsumesThroughTlsWithTheHostNameVerified) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("secure", 2);
    kwire::peers::test_certificates certs({"DNS:kafka.test", "IP:127.0.0.1"});
    kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front());
    to_port via{tunnel.port()};

    constexpr int n = 300;
    {
        boost::asio::io_context io;
        kwire::producer_config cfg;
        tls_to(cfg, certs, via);
        cfg.delivery_timeout = 20s;
        kwire::producer p(io.get_executor(), cfg);
        int acked = 0;
        std::error_code error;
        std::vector<std::string> values;
        for (int i = 0; i < n; ++i) values.push_back("secret-" + std::to_string(i));
        for (const auto& v : values)
            p.send({.topic = "secure", .key = bv(v), .value = bv(v)}, [&](std::error_code ec, kwire::delivery) {
                if (ec) error = ec;
                ++acked;
            });
        ASSERT_TRUE(run_until(io, [&] { return acked == n; }, 30s)) << acked;
        ASSERT_FALSE(error) << error.message();
    }
    {
        kwire::consumer_config cfg;
        tls_to(cfg, certs, via);
        cfg.fetch_max_wait = 100ms;
        std::vector<std::string> values;
        const auto ec = kwire::test::consume_n(
            cfg, {{"secure", 0, kwire::offset::beginning}, {"secure", 1, kwire::offset::beginning}}, n, &values);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(std::set<std::string>(values.begin(), values.end()).size(), static_cast<std::size_t>(n));
    }
    // The client dialled through the hook for the bootstrap name and for what the broker
    // advertised, and every byte went through stunnel.
    EXPECT_TRUE(via.asked->count("kafka.test:9093"));
    EXPECT_TRUE(via.asked->count(mc.broker_addresses().front())) << "the advertised broker went through the hook";
    EXPECT_NE(tunnel.log().find("accepted connection"), std::string::npos) << tunnel.log();
}

TEST_F(TlsTest, MutualTlsNeedsTheClientCertificate) {
    kwire::peers::mock_cluster mc(1);
    kwire::peers::test_certificates certs({"DNS:kafka.test", "IP:127.0.0.1"});
    kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front(), /*require_client_cert=*/true);
    to_port via{tunnel.port()};
    kc::connection_config cfg;
    tls_to(cfg, certs, via);
    cfg.request_timeout = 3000ms;
    EXPECT_TRUE(metadata_with(cfg)) << "no client certificate: the broker side refuses";

    cfg.tls.certificate_location = certs.client_cert();
    cfg.tls.key_location = certs.client_key();
    kwire::cluster_metadata md;
    EXPECT_FALSE(metadata_with(cfg, &md));
    EXPECT_EQ(md.brokers.size(), 1u);

    // The key encrypted, with its password; and the CA given as PEM text instead of a file.
    cfg.tls.key_location = certs.client_key_encrypted();
    cfg.tls.key_password = kwire::peers::test_certificates::client_key_password();
    cfg.tls.ca_location.clear();
    cfg.tls.ca_pem = kwire::peers::read_text_file(certs.ca());
    EXPECT_FALSE(metadata_with(cfg));

    cfg.tls.key_password = "wrong";
    EXPECT_EQ(metadata_with(cfg), kc::client_errc::tls_setup_failed);
}

TEST_F(TlsTest, ACertificateForAnotherHostIsRefused) {
    kwire::peers::mock_cluster mc(1);
    kwire::peers::test_certificates certs({"DNS:elsewhere.test"});
    kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front());
    to_port via{tunnel.port()};
    kc::connection_config cfg;
    tls_to(cfg, certs, via);
    const auto ec = metadata_with(cfg);
    ASSERT_TRUE(ec);
    EXPECT_NE(ec.message().find("certificate verify failed"), std::string::npos) << ec.message();

    // ssl.endpoint.identification.algorithm=none turns off the name check only.
    cfg.tls.verify_hostname = false;
    EXPECT_FALSE(metadata_with(cfg));
    cfg.tls.ca_location = certs.other_ca();
    const auto untrusted = metadata_with(cfg);
    ASSERT_TRUE(untrusted) << "the chain is still verified";
    EXPECT_NE(untrusted.message().find("certificate verify failed"), std::string::npos) << untrusted.message();
}

TEST_F(TlsTest, ANumericHostMustBeAnAddressOfTheCertificate) {
    // A broker given as an address is checked against the certificate's iPAddress names only: a
    // DNS name spelled like the address does not count, nor does another address. (OpenSSL does
    // this itself; on the mbedTLS backend kwire reads the addresses from the certificate.)
    kwire::peers::mock_cluster mc(1);
    const auto connect_to = [&](const kwire::peers::test_certificates& certs, bool verify_hostname) {
        kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front());
        kc::connection_config cfg;
        cfg.bootstrap_servers = {"127.0.0.1:" + std::to_string(tunnel.port())};
        cfg.security = kc::security_protocol::ssl;
        cfg.tls.ca_location = certs.ca();
        cfg.tls.verify_hostname = verify_hostname;
        cfg.request_timeout = 5000ms;
        return metadata_with(cfg);
    };
    kwire::peers::test_certificates wrong({"DNS:127.0.0.1", "IP:127.0.0.2", "IP:::1"});
    const auto ec = connect_to(wrong, true);
    ASSERT_TRUE(ec);
    EXPECT_NE(ec.message().find("certificate verify failed"), std::string::npos) << ec.message();
    EXPECT_FALSE(connect_to(wrong, false)) << "ssl.endpoint.identification.algorithm=none";
    kwire::peers::test_certificates right({"DNS:kafka.test", "IP:127.0.0.1"});
    EXPECT_FALSE(connect_to(right, true));
}

TEST_F(TlsTest, AnUntrustedCaIsRefused) {
    kwire::peers::mock_cluster mc(1);
    kwire::peers::test_certificates certs({"DNS:kafka.test", "IP:127.0.0.1"});
    kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front());
    to_port via{tunnel.port()};
    kc::connection_config cfg;
    tls_to(cfg, certs, via);
    cfg.tls.ca_location = certs.other_ca();
    const auto ec = metadata_with(cfg);
    ASSERT_TRUE(ec);
    EXPECT_NE(ec.message().find("certificate verify failed"), std::string::npos) << ec.message();
    cfg.tls.ca_location = certs.dir() + "/no-such-ca.pem";
    EXPECT_EQ(metadata_with(cfg), kc::client_errc::tls_setup_failed);
}

TEST_F(TlsTest, TlsAgainstAPlaintextListenerSaysSoAtOnce) {
    kwire::peers::mock_cluster mc(1);
    kwire::peers::test_certificates certs({"IP:127.0.0.1"});
    kc::connection_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.security = kc::security_protocol::ssl;
    cfg.tls.ca_location = certs.ca();
    cfg.request_timeout = 20000ms;
    cfg.socket_connection_setup_timeout = 20000ms;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(metadata_with(cfg), kc::client_errc::plaintext_on_tls);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "not a timeout";
}

TEST_F(TlsTest, PlaintextAgainstATlsListenerFailsAtOnce) {
    // OpenSSL (stunnel) answers a plaintext request with a reset, not an alert: the client must
    // fail at once instead of waiting for a response.
    kwire::peers::mock_cluster mc(1);
    kwire::peers::test_certificates certs({"IP:127.0.0.1"});
    kwire::peers::stunnel_front tunnel(certs, mc.broker_addresses().front());
    kc::connection_config cfg;
    cfg.bootstrap_servers = {"127.0.0.1:" + std::to_string(tunnel.port())};
    cfg.request_timeout = 20000ms;
    const auto start = std::chrono::steady_clock::now();
    const auto ec = metadata_with(cfg);
    EXPECT_TRUE(ec == kc::client_errc::tls_on_plaintext || ec == std::errc::connection_reset ||
                ec == kc::client_errc::connection_closed)
        << ec.message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "not a timeout";
}

TEST_F(TlsTest, ATlsAlertIsNotReadAsALength) {
    // A TLS listener that answers plaintext with an alert (as Java's does): its first bytes,
    // 15 03 03 00, are a 352 MB "length" to a naive client (KAFKA-4090).
    boost::asio::io_context server_io;
    boost::asio::ip::tcp::acceptor acceptor(server_io, {boost::asio::ip::address_v4::loopback(), 0});
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
        boost::system::error_code ec;
        auto sock = acceptor.accept(ec);
        if (ec) return;
        std::array<std::uint8_t, 64> in{};
        sock.read_some(boost::asio::buffer(in), ec);
        const std::uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50};
        boost::asio::write(sock, boost::asio::buffer(alert), ec);
        std::this_thread::sleep_for(500ms);
    });
    kc::connection_config cfg;
    cfg.bootstrap_servers = {"127.0.0.1:" + std::to_string(port)};
    cfg.request_timeout = 20000ms;
    const auto ec = metadata_with(cfg);
    server.join();
    EXPECT_EQ(ec, kc::client_errc::tls_on_plaintext) << ec.message();
}

// --- name resolution (c-ares) ------------------------------------------------------------------

TEST(NameResolution, BrokerNamesResolveFromTheHostsFile) {
    kwire::peers::mock_cluster mc(1);
    const auto port = mc.broker_addresses().front().substr(mc.broker_addresses().front().rfind(':') + 1);
    kc::connection_config cfg;
    cfg.bootstrap_servers = {"localhost:" + port};
    cfg.request_timeout = 5000ms;
    kwire::cluster_metadata md;
    EXPECT_FALSE(metadata_with(cfg, &md));
    EXPECT_EQ(md.brokers.size(), 1u);
}

TEST(NameResolution, AnUnknownNameFailsAsSuch) {
    kc::connection_config cfg;
    cfg.bootstrap_servers = {"no-such-broker.invalid:9092"};
    cfg.request_timeout = 5000ms;
    cfg.socket_connection_setup_timeout = 30000ms;
    const auto ec = metadata_with(cfg);
    // No DNS server reachable from a sandbox is the same answer: the name did not resolve.
    EXPECT_EQ(ec, kc::client_errc::name_resolution_failed) << ec.message();
}

}  // namespace
