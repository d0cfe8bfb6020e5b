#include "kwire/client/config.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <functional>

#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/producer.hpp"

using kwire::client::apply_properties;
using kwire::client::producer_config;
using kwire::client::properties;

TEST(Config, PropertyNamesMapOntoTheTypedConfig) {
    producer_config cfg;
    std::string what;
    ASSERT_FALSE(apply_properties(cfg,
                                  properties{{"bootstrap.servers", "a:9092, b:9093"},
                                             {"acks", "all"},
                                             {"linger.ms", "20"},
                                             {"batch.size", "65536"},
                                             {"compression.type", "zstd"},
                                             {"delivery.timeout.ms", "5000"},
                                             {"client.id", "svc"},
                                             {"allow.auto.create.topics", "false"}},
                                  &what))
        << what;
    EXPECT_EQ(cfg.bootstrap_servers, (std::vector<std::string>{"a:9092", "b:9093"}));
    EXPECT_EQ(cfg.required_acks, kwire::client::acks::all);
    EXPECT_EQ(cfg.linger, std::chrono::milliseconds(20));
    EXPECT_EQ(cfg.batch_size, 65536u);
    EXPECT_EQ(cfg.compression, kwire::codec::compression::zstd);
    EXPECT_EQ(cfg.delivery_timeout, std::chrono::milliseconds(5000));
    EXPECT_EQ(cfg.client_id, "svc");
    EXPECT_FALSE(cfg.allow_auto_create_topics);
    EXPECT_TRUE(cfg.idempotent());
}

TEST(Config, UnknownOrInvalidPropertiesAreErrorsNamingTheProperty) {
    producer_config cfg;
    std::string what;
    EXPECT_EQ(apply_properties(cfg, properties{{"lingr.ms", "5"}}, &what), kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("lingr.ms"), std::string::npos);
    EXPECT_NE(what.find("unknown"), std::string::npos);
    EXPECT_EQ(apply_properties(cfg, properties{{"linger.ms", "soon"}}, &what), kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("linger.ms"), std::string::npos);
    EXPECT_EQ(apply_properties(cfg, properties{{"compression.type", "brotli"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_EQ(apply_properties(cfg, properties{{"acks", "2"}}, &what), kwire::client::client_errc::invalid_config);
}

TEST(Config, IdempotenceFollowsJavasRules) {
    // Weakening acks without asking for idempotence turns it off quietly ...
    producer_config quiet;
    ASSERT_FALSE(apply_properties(quiet, properties{{"acks", "1"}}));
    EXPECT_FALSE(quiet.idempotent());
    // ... asking for both is a contradiction.
    producer_config loud;
    std::string what;
    EXPECT_EQ(apply_properties(loud, properties{{"acks", "1"}, {"enable.idempotence", "true"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("acks"), std::string::npos);
    // The same for more than five requests in flight: an error with idempotence asked for, and
    // idempotence quietly off without (Java's ProducerConfig does both).
    producer_config too_many;
    EXPECT_EQ(apply_properties(too_many,
                               properties{{"max.in.flight.requests.per.connection", "6"}, {"enable.idempotence", "true"}},
                               &what),
              kwire::client::client_errc::invalid_config);
    producer_config many;
    ASSERT_FALSE(apply_properties(many, properties{{"max.in.flight.requests.per.connection", "6"}}));
    EXPECT_FALSE(many.idempotent());
}

TEST(Config, ConsumerGroupProtocolProperties) {
    kwire::client::consumer_config cfg;
    std::string what;
    ASSERT_FALSE(apply_properties(cfg, properties{{"group.protocol", "consumer"}, {"group.remote.assignor", "uniform"}},
                                  &what))
        << what;
    EXPECT_EQ(cfg.group_protocol, kwire::client::group_protocol_kind::consumer);
    EXPECT_EQ(cfg.group_remote_assignor, "uniform");
    ASSERT_FALSE(apply_properties(cfg, properties{{"group.protocol", "classic"}, {"group.remote.assignor", ""}}, &what));
    EXPECT_EQ(cfg.group_protocol, kwire::client::group_protocol_kind::classic);
    EXPECT_FALSE(cfg.group_remote_assignor);
    EXPECT_TRUE(apply_properties(cfg, properties{{"group.protocol", "eager"}}, &what));
    EXPECT_NE(what.find("group.protocol"), std::string::npos) << what;
}

// --- one setting, one meaning: every row applied as properties and as struct fields ----------

namespace {

using kwire::client::consumer_config;
using kwire::client::acks;

/// One setting given both ways: `props` through apply_properties(), `set` on a default struct
/// then validate() (what the constructors run). Both must reach the same outcome: no error and
/// `holds` true of the result, or the error message `error`, word for word.
template <class Config>
struct both_ways {
    const char* name;
    properties props;
    std::function<void(Config&)> set;
    std::string error;                              ///< empty: accepted
    std::function<bool(const Config&)> holds = {};  ///< when accepted
};

template <class Config>
void check_both_ways(const both_ways<Config>& row) {
    SCOPED_TRACE(row.name);
    Config by_property;
    std::string property_what;
    const auto property_ec = apply_properties(by_property, row.props, &property_what);
    Config by_struct;
    row.set(by_struct);
    std::string struct_what;
    const auto struct_ec = validate(by_struct, &struct_what);
    if (row.error.empty()) {
        EXPECT_FALSE(property_ec) << property_what;
        EXPECT_FALSE(struct_ec) << struct_what;
        ASSERT_TRUE(row.holds);
        EXPECT_TRUE(row.holds(by_property));
        EXPECT_TRUE(row.holds(by_struct));
    } else {
        EXPECT_EQ(property_ec, kwire::client::client_errc::invalid_config);
        EXPECT_EQ(struct_ec, kwire::client::client_errc::invalid_config);
        EXPECT_EQ(property_what, row.error);
        EXPECT_EQ(struct_what, row.error);
    }
}

}  // namespace

TEST(Config, EverySettingMeansTheSameAsPropertyAndAsStructField) {
    using P = producer_config;
    const std::vector<both_ways<P>> producer_rows = {
        {"acks=1 alone turns default idempotence off", {{"acks", "1"}},
         [](P& c) { c.required_acks = acks::leader; }, "",
         [](const P& c) { return c.required_acks == acks::leader && !c.idempotent(); }},
        {"acks=0 alone turns default idempotence off", {{"acks", "0"}},
         [](P& c) { c.required_acks = acks::none; }, "",
         [](const P& c) { return c.required_acks == acks::none && !c.idempotent(); }},
        {"acks=all keeps default idempotence on", {{"acks", "all"}},
         [](P& c) { c.required_acks = acks::all; }, "",
         [](const P& c) { return c.idempotent(); }},
        {"enable.idempotence=false with acks=all", {{"enable.idempotence", "false"}, {"acks", "all"}},
         [](P& c) { c.enable_idempotence = false; }, "",
         [](const P& c) { return !c.idempotent(); }},
        {"enable.idempotence=false allows acks=1", {{"enable.idempotence", "false"}, {"acks", "1"}},
         [](P& c) { c.enable_idempotence = false; c.required_acks = acks::leader; }, "",
         [](const P& c) { return !c.idempotent() && c.required_acks == acks::leader; }},
        {"six in flight alone turns default idempotence off", {{"max.in.flight.requests.per.connection", "6"}},
         [](P& c) { c.max_in_flight_per_connection = 6; }, "",
         [](const P& c) { return !c.idempotent() && c.max_in_flight_per_connection == 6; }},
        {"enable.idempotence=true with acks=1", {{"enable.idempotence", "true"}, {"acks", "1"}},
         [](P& c) { c.enable_idempotence = true; c.required_acks = acks::leader; },
         "enable.idempotence=true requires acks=all (got acks=1)"},
        {"enable.idempotence=true with acks=0", {{"enable.idempotence", "true"}, {"acks", "0"}},
         [](P& c) { c.enable_idempotence = true; c.required_acks = acks::none; },
         "enable.idempotence=true requires acks=all (got acks=0)"},
        {"enable.idempotence=true with six in flight",
         {{"enable.idempotence", "true"}, {"max.in.flight.requests.per.connection", "6"}},
         [](P& c) { c.enable_idempotence = true; c.max_in_flight_per_connection = 6; },
         "enable.idempotence=true requires max.in.flight.requests.per.connection at most 5 (got 6)"},
        {"transactional.id implies idempotence", {{"transactional.id", "tx-1"}, {"transaction.timeout.ms", "30000"}},
         [](P& c) { c.transactional_id = "tx-1"; c.transaction_timeout = std::chrono::seconds(30); }, "",
         [](const P& c) { return c.transactional() && c.idempotent() && c.transaction_timeout.count() == 30000; }},
        {"transactional.id with enable.idempotence=false", {{"transactional.id", "tx-1"}, {"enable.idempotence", "false"}},
         [](P& c) { c.transactional_id = "tx-1"; c.enable_idempotence = false; },
         "transactional.id requires idempotence (got enable.idempotence=false)"},
        {"transactional.id with acks=1", {{"transactional.id", "tx-1"}, {"acks", "1"}},
         [](P& c) { c.transactional_id = "tx-1"; c.required_acks = acks::leader; },
         "transactional.id requires acks=all (got acks=1)"},
        {"transactional.id with six in flight",
         {{"transactional.id", "tx-1"}, {"max.in.flight.requests.per.connection", "6"}},
         [](P& c) { c.transactional_id = "tx-1"; c.max_in_flight_per_connection = 6; },
         "transactional.id requires max.in.flight.requests.per.connection at most 5 (got 6)"},
        {"transaction.timeout.ms=0", {{"transaction.timeout.ms", "0"}}, [](P& c) { c.transaction_timeout = {}; },
         "transaction.timeout.ms=0: out of range [1, 1099511627776]"},
        {"batch.size=0", {{"batch.size", "0"}}, [](P& c) { c.batch_size = 0; },
         "batch.size=0: out of range [1, 2147483647]"},
        {"max.request.size=100", {{"max.request.size", "100"}}, [](P& c) { c.max_request_size = 100; },
         "max.request.size=100: out of range [1024, 2147483647]"},
        {"linger.ms=-1", {{"linger.ms", "-1"}}, [](P& c) { c.linger = std::chrono::milliseconds(-1); },
         "linger.ms=-1: out of range [0, 1099511627776]"},
        {"request.timeout.ms=0", {{"request.timeout.ms", "0"}}, [](P& c) { c.request_timeout = {}; },
         "request.timeout.ms=0: out of range [1, 1099511627776]"},
        {"max.in.flight.requests.per.connection=0", {{"max.in.flight.requests.per.connection", "0"}},
         [](P& c) { c.max_in_flight_per_connection = 0; },
         "max.in.flight.requests.per.connection=0: out of range [1, 1000000]"},
        {"compression.level=23", {{"compression.level", "23"}}, [](P& c) { c.compression_level = 23; },
         "compression.level=23: out of range [-131072, 22]"},
        {"topic.creation.default.partitions=0", {{"topic.creation.default.partitions", "0"}},
         [](P& c) { c.topic_creation_partitions = 0; }, "topic.creation.default.partitions=0: expected -1 or at least 1"},
        {"topic.creation.default.replication.factor=-2", {{"topic.creation.default.replication.factor", "-2"}},
         [](P& c) { c.topic_creation_replication_factor = -2; },
         "topic.creation.default.replication.factor=-2: out of range [-1, 32767]"},
        {"receive.message.max.bytes=10", {{"receive.message.max.bytes", "10"}},
         [](P& c) { c.max_response_bytes = 10; }, "receive.message.max.bytes=10: out of range [1024, 2147483647]"},
        {"sasl.mechanism=GSSAPI", {{"sasl.mechanism", "GSSAPI"}}, [](P& c) { c.sasl.mechanism = "GSSAPI"; },
         "sasl.mechanism=GSSAPI: expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"},
        {"retry.backoff.max.ms=250", {{"retry.backoff.max.ms", "250"}},
         [](P& c) { c.retry_backoff_max = std::chrono::milliseconds(250); }, "",
         [](const P& c) { return c.retry_backoff_max == std::chrono::milliseconds(250); }},
    };
    for (const auto& row : producer_rows) check_both_ways(row);

    using K = consumer_config;
    const std::vector<both_ways<K>> consumer_rows = {
        {"heartbeat.interval.ms equal to session.timeout.ms",
         {{"session.timeout.ms", "5000"}, {"heartbeat.interval.ms", "5000"}},
         [](K& c) { c.session_timeout = c.heartbeat_interval = std::chrono::milliseconds(5000); },
         "heartbeat.interval.ms=5000 must be below session.timeout.ms (got session.timeout.ms=5000)"},
        {"max.poll.records=0", {{"max.poll.records", "0"}}, [](K& c) { c.max_poll_records = 0; },
         "max.poll.records=0: out of range [1, 1073741824]"},
        {"fetch.min.bytes=0", {{"fetch.min.bytes", "0"}}, [](K& c) { c.fetch_min_bytes = 0; },
         "fetch.min.bytes=0: out of range [1, 2147483647]"},
        {"session.timeout.ms=10000", {{"session.timeout.ms", "10000"}},
         [](K& c) { c.session_timeout = std::chrono::milliseconds(10000); }, "",
         [](const K& c) { return c.session_timeout == std::chrono::milliseconds(10000); }},
        {"retry.backoff.max.ms=250", {{"retry.backoff.max.ms", "250"}},
         [](K& c) { c.retry_backoff_max = std::chrono::milliseconds(250); }, "",
         [](const K& c) { return c.retry_backoff_max == std::chrono::milliseconds(250); }},
    };
    for (const auto& row : consumer_rows) check_both_ways(row);
}

TEST(Config, TheConstructorsRejectWhatValidateRejectsWithItsMessage) {
    boost::asio::io_context io;
    producer_config p;
    p.bootstrap_servers = {"127.0.0.1:1"};
    p.enable_idempotence = true;
    p.required_acks = acks::leader;
    try {
        kwire::producer producer(io.get_executor(), p);
        ADD_FAILURE() << "a producer with enable.idempotence=true and acks=1 was built";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), kwire::client::client_errc::invalid_config);
        EXPECT_NE(std::string(e.what()).find("enable.idempotence=true requires acks=all (got acks=1)"), std::string::npos)
            << e.what();
    }
    // What the old constructor refused by struct but properties allowed: acks=1 with idempotence
    // left at its default builds a producer that is not idempotent.
    p.enable_idempotence.reset();
    kwire::producer weak(io.get_executor(), p);
    EXPECT_FALSE(weak.config().idempotent());

    consumer_config k;
    k.bootstrap_servers = {"127.0.0.1:1"};
    k.heartbeat_interval = k.session_timeout;
    try {
        kwire::consumer consumer(io.get_executor(), k);
        ADD_FAILURE() << "a consumer with heartbeat.interval.ms = session.timeout.ms was built";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), kwire::client::client_errc::invalid_config);
        EXPECT_NE(std::string(e.what()).find("must be below session.timeout.ms"), std::string::npos) << e.what();
    }
}

TEST(Config, UnknownAndContradictoryPropertiesSayWhichAndWhy) {
    producer_config cfg;
    std::string what;
    EXPECT_EQ(apply_properties(cfg, properties{{"lingr.ms", "5"}}, &what), kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "unknown property 'lingr.ms' (did you mean 'linger.ms'?)");
    EXPECT_EQ(apply_properties(cfg, properties{{"no.such.thing", "5"}}, &what), kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "unknown property 'no.such.thing'");
    // A consumer property is unknown to a producer.
    EXPECT_EQ(apply_properties(cfg, properties{{"group.id", "g"}}, &what), kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "unknown property 'group.id'");

    // enable.auto.commit (properties only: no struct field) against the policy kwire.commit names.
    consumer_config k;
    EXPECT_EQ(apply_properties(k, properties{{"enable.auto.commit", "false"}, {"kwire.commit", "on_poll"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "enable.auto.commit=false contradicts kwire.commit=on_poll");
    EXPECT_EQ(apply_properties(k, properties{{"enable.auto.commit", "true"}, {"kwire.commit", "manual"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "enable.auto.commit=true contradicts kwire.commit=manual");
    consumer_config agree;
    ASSERT_FALSE(apply_properties(agree, properties{{"enable.auto.commit", "false"}, {"kwire.commit", "manual"}}, &what))
        << what;
    EXPECT_EQ(agree.commit, kwire::client::commit_policy::manual());
}

TEST(Config, StatisticsIntervalIsAConnectionProperty) {
    kwire::client::producer_config p;
    EXPECT_FALSE(kwire::client::apply_properties(p, {{"statistics.interval.ms", "1500"}}));
    EXPECT_EQ(p.statistics_interval.count(), 1500);
    kwire::client::connection_config c;
    EXPECT_FALSE(kwire::client::apply_properties(c, {{"statistics.interval.ms", "0"}}));
    EXPECT_EQ(c.statistics_interval.count(), 0);
    std::string what;
    EXPECT_EQ(kwire::client::apply_properties(c, {{"statistics.interval.ms", "-5"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("statistics.interval.ms"), std::string::npos) << what;
}
