#include "kwire/client/config.hpp"

#include <gtest/gtest.h>

#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"

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
    EXPECT_TRUE(cfg.enable_idempotence);
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
    EXPECT_FALSE(quiet.enable_idempotence);
    // ... asking for both is a contradiction.
    producer_config loud;
    std::string what;
    EXPECT_EQ(apply_properties(loud, properties{{"acks", "1"}, {"enable.idempotence", "true"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("acks"), std::string::npos);
    producer_config too_many;
    EXPECT_EQ(apply_properties(too_many, properties{{"max.in.flight.requests.per.connection", "6"}}, &what),
              kwire::client::client_errc::invalid_config);
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
