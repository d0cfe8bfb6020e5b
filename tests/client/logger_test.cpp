// The logger: levels and debug contexts, nothing formatted when off, the rate limit for repeated
// messages, the `log_level` and `debug` properties, and connection failures in words.
#include "observe/logger.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include <string>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/error.hpp"
#include "net/connection_errors.hpp"

using namespace kwire::client;
using detail::logger;

namespace {

struct captured {
    std::vector<std::string> lines;
    log_handler handler() {
        return [this](const log_record& r) {
            lines.push_back(std::string(to_string(r.level)) + " " + std::string(to_string(r.context)) + " " +
                            std::string(r.client_id) + ": " + std::string(r.message));
        };
    }
};

log_config config(captured& c, log_level level, log_contexts debug = 0) {
    log_config cfg;
    cfg.handler = c.handler();
    cfg.level = level;
    cfg.debug = debug;
    return cfg;
}

}  // namespace

TEST(Logger, LevelsAndDebugContexts) {
    captured c;
    logger lg(config(c, log_level::warn, log_context_bit(log_context::broker)), "app");
    EXPECT_TRUE(lg.enabled(log_level::error, log_context::group));
    EXPECT_TRUE(lg.enabled(log_level::warn, log_context::metadata));
    EXPECT_FALSE(lg.enabled(log_level::info, log_context::broker));
    EXPECT_TRUE(lg.enabled(log_level::debug, log_context::broker));    // named in debug
    EXPECT_FALSE(lg.enabled(log_level::debug, log_context::metadata));  // not named
    KWIRE_LOG(&lg, log_level::warn, log_context::broker, std::string("down"));
    ASSERT_EQ(c.lines, (std::vector<std::string>{"WARN broker app: down"}));
}

TEST(Logger, DebugLevelWithoutContextsMeansEveryContext) {
    captured c;
    logger lg(config(c, log_level::debug), "app");
    EXPECT_TRUE(lg.enabled(log_level::debug, log_context::security));
    EXPECT_TRUE(lg.enabled(log_level::info, log_context::group));
}

TEST(Logger, NoHandlerMeansOffAndTheMessageIsNeverFormatted) {
    logger lg(log_config{}, "app");
    int formatted = 0;
    const auto message = [&] {
        ++formatted;
        return std::string("expensive");
    };
    KWIRE_LOG(&lg, log_level::error, log_context::broker, message());
    KWIRE_LOG(static_cast<logger*>(nullptr), log_level::error, log_context::broker, message());
    captured c;
    logger quiet(config(c, log_level::error), "app");
    KWIRE_LOG(&quiet, log_level::info, log_context::broker, message());
    KWIRE_LOG_LIMITED(&quiet, log_level::warn, log_context::broker, message(), message());
    EXPECT_EQ(formatted, 0);
    EXPECT_TRUE(c.lines.empty());
}

TEST(Logger, RepeatedMessagesAreRateLimitedWithASuppressedCount) {
    captured c;
    auto cfg = config(c, log_level::warn);
    cfg.repeat_interval = std::chrono::seconds(10);
    logger lg(cfg, "app");
    const auto t0 = logger::clock::now();
    lg.write_limited(log_level::warn, log_context::broker, "conn a", "connection to a refused", t0);
    for (int i = 1; i <= 5; ++i)
        lg.write_limited(log_level::warn, log_context::broker, "conn a", "connection to a refused",
                         t0 + std::chrono::seconds(i));
    // Another key is not held back by the first.
    lg.write_limited(log_level::warn, log_context::broker, "conn b", "connection to b refused", t0 + std::chrono::seconds(1));
    lg.write_limited(log_level::warn, log_context::broker, "conn a", "connection to a refused",
                     t0 + std::chrono::seconds(11));
    lg.write_limited(log_level::warn, log_context::broker, "conn a", "connection to a refused",
                     t0 + std::chrono::seconds(30));
    EXPECT_EQ(c.lines, (std::vector<std::string>{
                           "WARN broker app: connection to a refused",
                           "WARN broker app: connection to b refused",
                           "WARN broker app: connection to a refused (5 similar messages suppressed)",
                           "WARN broker app: connection to a refused",
                       }));
}

TEST(Logger, DebugListParsesNamesAliasesAndAll) {
    EXPECT_EQ(parse_log_contexts("broker,metadata"),
              log_context_bit(log_context::broker) | log_context_bit(log_context::metadata));
    EXPECT_EQ(parse_log_contexts(" cgrp , protocol"),
              log_context_bit(log_context::group) | log_context_bit(log_context::broker));
    EXPECT_EQ(parse_log_contexts("all"), all_log_contexts);
    EXPECT_EQ(parse_log_contexts(""), log_contexts{0});
    std::string bad;
    EXPECT_FALSE(parse_log_contexts("broker,brokre", &bad));
    EXPECT_EQ(bad, "brokre");
}

TEST(Logger, LogLevelAndDebugAreProperties) {
    connection_config cfg;
    std::string what;
    ASSERT_FALSE(apply_properties(cfg, properties{{"log_level", "7"}, {"debug", "broker,security"}}, &what)) << what;
    EXPECT_EQ(cfg.log.level, log_level::debug);
    EXPECT_EQ(cfg.log.debug, log_context_bit(log_context::broker) | log_context_bit(log_context::security));
    ASSERT_FALSE(apply_properties(cfg, properties{{"log_level", "4"}}, &what)) << what;
    EXPECT_EQ(cfg.log.level, log_level::warn);
    ASSERT_FALSE(apply_properties(cfg, properties{{"log_level", "info"}}, &what)) << what;
    EXPECT_EQ(cfg.log.level, log_level::info);
    EXPECT_EQ(apply_properties(cfg, properties{{"log_level", "9"}}, &what), client_errc::invalid_config);
    EXPECT_NE(what.find("log_level=9"), std::string::npos) << what;
    EXPECT_EQ(apply_properties(cfg, properties{{"debug", "brokers"}}, &what), client_errc::invalid_config);
    EXPECT_NE(what.find("unknown context 'brokers'"), std::string::npos) << what;
    producer_config p;
    ASSERT_FALSE(apply_properties(p, properties{{"debug", "all"}}, &what)) << what;  // every client has them
    EXPECT_EQ(p.log.debug, all_log_contexts);
}

TEST(ConnectionErrors, SayWhatFailedWhereInWords) {
    using detail::connection_stage;
    using detail::describe_connection_failure;
    const auto asio = [](boost::asio::error::basic_errors e) { return std::error_code(boost::system::error_code(e)); };
    EXPECT_EQ(describe_connection_failure(connection_stage::connecting, "127.0.0.1", "127.0.0.1:1",
                                          asio(boost::asio::error::connection_refused)),
              "connection to 127.0.0.1:1 refused");
    EXPECT_EQ(describe_connection_failure(connection_stage::connecting, "broker.example", "broker.example:9092",
                                          make_error_code(client_errc::name_resolution_failed)),
              "host broker.example does not resolve");
    EXPECT_EQ(describe_connection_failure(connection_stage::connecting, "b", "b:1",
                                          make_error_code(client_errc::request_timed_out)),
              "connection to b:1 timed out");
    EXPECT_EQ(describe_connection_failure(connection_stage::established, "b", "b:1",
                                          make_error_code(client_errc::connection_closed)),
              "connection to b:1 closed by the broker");
    const auto tls = describe_connection_failure(connection_stage::tls_handshake, "b", "b:1",
                                                 make_error_code(client_errc::plaintext_on_tls));
    EXPECT_EQ(tls.rfind("TLS handshake with b:1 failed: ", 0), 0u) << tls;
    const auto sasl = describe_connection_failure(connection_stage::authenticating, "b", "b:1",
                                                  make_error_code(client_errc::sasl_authentication_rejected));
    EXPECT_EQ(sasl.rfind("SASL authentication with b:1 failed: ", 0), 0u) << sasl;
    EXPECT_EQ(detail::connection_log_context(connection_stage::authenticating), log_context::security);
    EXPECT_EQ(detail::connection_log_context(connection_stage::connecting), log_context::broker);
}
