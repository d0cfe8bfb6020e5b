// Client configuration: a typed struct per client, and parsing from the property names Kafka
// users already know (the C and Java clients: `bootstrap.servers`, `acks`, `linger.ms`, ...).
// An unknown property or an invalid value is an error naming the property, never ignored.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/log.hpp"
#include "kwire/client/partitioner.hpp"
#include "kwire/client/statistics.hpp"
#include "kwire/codec/compression.hpp"

namespace kwire::client {

using std::chrono::milliseconds;

class metrics_registry;  // kwire/client/metrics.hpp

/// `acks`: how many replicas must have the record before the broker acknowledges it.
enum class acks : std::int16_t { none = 0, leader = 1, all = -1 };

/// What send() does when buffer.memory is exhausted.
enum class buffer_full_policy { wait, fail };

/// security.protocol: whether connections use TLS, and whether they authenticate with SASL.
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };

/// TLS settings (ssl.*). TLS 1.2 is the minimum; the broker's certificate is always verified.
struct tls_config {
    std::string ca_location;           ///< ssl.ca.location: a PEM file or a directory; empty: the system store
    std::string ca_pem;                ///< ssl.ca.pem: CA certificates as PEM text
    std::string certificate_location;  ///< ssl.certificate.location: client certificate (mutual TLS)
    std::string key_location;          ///< ssl.key.location: the client certificate's private key
    std::string key_password;          ///< ssl.key.password
    /// ssl.endpoint.identification.algorithm: "https" (default) checks that the certificate names
    /// the broker's host; "none" turns only that check off, never the chain verification.
    bool verify_hostname = true;
};

/// A token for SASL/OAUTHBEARER (RFC 7628), as a user callback supplies it.
struct oauth_token {
    std::string value;                                  ///< the bearer token (e.g. a JWT)
    std::chrono::system_clock::time_point expiry{};     ///< when it stops being valid (for re-authentication)
    std::map<std::string, std::string> extensions;      ///< SASL extensions (KIP-342), sent as key=value
};

/// Supplies an OAUTHBEARER token without blocking: call `done` once, on any thread, with a token or
/// an error. kwire calls it before each (re-)authentication.
using oauth_token_provider =
    std::function<void(std::function<void(std::error_code, oauth_token)> done)>;

/// SASL settings (sasl.*), used when security.protocol is sasl_plaintext or sasl_ssl.
struct sasl_config {
    std::string mechanism = "PLAIN";   ///< sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
    std::string username;              ///< sasl.username
    std::string password;              ///< sasl.password
    oauth_token_provider token_provider;  ///< OAUTHBEARER only
};

/// Where to dial a broker: the host and port a broker advertises (or a bootstrap entry) go in,
/// the address to connect to comes out. For port-forwards and tunnels. TLS still verifies the
/// certificate against the advertised host name.
struct broker_address {
    std::string host;
    std::uint16_t port = 0;
};
using address_mapper = std::function<broker_address(const broker_address& advertised)>;

/// Settings every client shares: where the cluster is and how to talk to it.
struct connection_config {
    std::vector<std::string> bootstrap_servers;  ///< "host:port" entries
    std::string client_id = "kwire";
    milliseconds request_timeout{30000};          ///< per request (request.timeout.ms)
    milliseconds metadata_max_age{300000};        ///< refresh metadata at least this often
    milliseconds reconnect_backoff{50};           ///< first reconnect delay, doubled per failure
    milliseconds reconnect_backoff_max{1000};     ///< with +-20% jitter
    milliseconds socket_connection_setup_timeout{10000};
    std::uint32_t max_response_bytes = 100 * 1024 * 1024;  ///< largest frame accepted from a broker
    /// allow.auto.create.topics: whether kwire may create a topic it is asked to use. true (as the
    /// Java and C producers): Metadata asks the broker to auto-create, and the producer creates a
    /// topic the broker did not with CreateTopics (topic.creation.default.*). false: nothing
    /// creates a topic; sends to a missing one fail with UNKNOWN_TOPIC_OR_PARTITION. Production
    /// deployments should set false. See README, "Automatic topic creation".
    bool allow_auto_create_topics = true;

    security_protocol security = security_protocol::plaintext;  ///< security.protocol
    tls_config tls;
    sasl_config sasl;
    address_mapper map_address;  ///< empty: dial what the broker advertises
    /// client.dns.lookup: use_all_dns_ips (default) tries every address a name resolves to, in
    /// order; resolve_canonical_bootstrap_servers_only is accepted and behaves the same.
    bool use_all_dns_ips = true;

    /// Logging (kwire/client/log.hpp): off unless a handler is set. Properties: log_level, debug.
    log_config log;
    /// Where the client records its metrics (kwire/client/metrics.hpp); one registry may serve
    /// several clients (the client_id label tells them apart). Empty (the default): the client
    /// records into one of its own when statistics or metrics push (enable.metrics.push, on by
    /// default) read it, else records nothing.
    std::shared_ptr<metrics_registry> metrics;
    /// statistics.interval.ms: how often on_statistics gets the statistics JSON
    /// (kwire/client/statistics.hpp); 0 (the default): never.
    milliseconds statistics_interval{0};
    statistics_handler on_statistics;
    /// enable.metrics.push (KIP-714): push this client's metrics to the cluster when a broker
    /// asks for them (GetTelemetrySubscriptions); brokers that do not speak KIP-714 see nothing.
    /// On (the default, as in the Java and C clients), a client given no `metrics` registry
    /// records into one of its own, for the pushes.
    bool enable_metrics_push = true;
};

struct producer_config : connection_config {
    acks required_acks = acks::all;
    milliseconds linger{5};                       ///< linger.ms
    std::uint32_t batch_size = 1024 * 1024;       ///< batch.size: bytes per partition batch
    std::uint32_t max_request_size = 1024 * 1024; ///< max.request.size
    codec::compression compression = codec::compression::none;
    std::optional<int> compression_level;
    std::uint64_t buffer_memory = 32ull * 1024 * 1024;  ///< bytes of records not yet acknowledged
    buffer_full_policy on_buffer_full = buffer_full_policy::fail;
    /// enable.idempotence. Unset (the default), as in the Java client: on, unless acks is weakened
    /// or more than 5 requests may be in flight, which quietly turns it off. Set true, either of
    /// those is a configuration error; set false, it is off. idempotent() says which applies.
    std::optional<bool> enable_idempotence;
    int max_in_flight_per_connection = 5;         ///< max.in.flight.requests.per.connection
    milliseconds delivery_timeout{120000};        ///< delivery.timeout.ms: send to ack or error
    milliseconds retry_backoff{100};              ///< retry.backoff.ms
    milliseconds retry_backoff_max{1000};         ///< retry.backoff.max.ms
    /// topic.creation.default.partitions / .replication.factor: for a topic the producer creates
    /// (allow.auto.create.topics=true, the broker does not auto-create); -1: the broker's defaults.
    std::int32_t topic_creation_partitions = -1;
    std::int16_t topic_creation_replication_factor = -1;
    partitioner_fn partitioner;                   ///< empty: murmur2 for keys, uniform sticky for null keys
    /// Where sealed batches are compressed (e.g. a boost::asio::thread_pool's executor): one job
    /// per batch, its result handed back to the producer's executor. Empty (the default): on the
    /// producer's executor, as records are appended (lz4) or when the batch is sealed. No
    /// property name: it is an object. See producer.hpp.
    boost::asio::any_io_executor compression_executor{};

    /// transactional.id: makes the producer transactional (init_transactions, begin_transaction,
    /// ...; see producer.hpp). Empty (the default): not transactional. It implies idempotence:
    /// with enable.idempotence=false, acks other than all, or more than 5 requests in flight it
    /// is a configuration error, as in the Java client.
    std::string transactional_id;
    /// transaction.timeout.ms: how long the coordinator lets a transaction stay open before it
    /// aborts it (and fences this producer); at most the broker's transaction.max.timeout.ms.
    milliseconds transaction_timeout{60000};

    bool transactional() const noexcept { return !transactional_id.empty(); }
    /// Whether the producer numbers its batches (enable.idempotence, resolved as described there;
    /// always when transactional).
    bool idempotent() const noexcept {
        if (transactional()) return true;
        return enable_idempotence.value_or(required_acks == acks::all && max_in_flight_per_connection <= 5);
    }
};

/// Property name -> value, as given by `-X name=value` or a properties file.
using properties = std::map<std::string, std::string, std::less<>>;

/// Applies properties onto `cfg`, then validates it as validate() does. On error returns
/// client_errc::invalid_config and, if `what` is given, a message naming the property and what is
/// wrong with it: "linger.ms=soon: expected an integer", "unknown property 'lingr.ms' (did you
/// mean 'linger.ms'?)", "enable.idempotence=true requires acks=all (got acks=1)".
std::error_code apply_properties(producer_config& cfg, const properties& props, std::string* what = nullptr);
std::error_code apply_properties(connection_config& cfg, const properties& props, std::string* what = nullptr);

/// Checks a configuration however it was built: every value in its range and no two settings
/// contradicting each other, with the same messages as apply_properties(). The clients'
/// constructors run it and throw std::system_error with the message. bootstrap.servers may still
/// be empty here (the constructors require it).
std::error_code validate(const producer_config& cfg, std::string* what = nullptr);
std::error_code validate(const connection_config& cfg, std::string* what = nullptr);

/// Parses "none|gzip|snappy|lz4|zstd".
std::optional<codec::compression> parse_compression(std::string_view name) noexcept;

}  // namespace kwire::client
