// `kwire consume` as a subprocess against librdkafka's mock cluster: what kcat wrote is printed
// exactly per the format, a group resumes where its previous run committed, and errors name the
// topic and the Kafka error.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "../require_codec.hpp"
#include "kcat.hpp"
#include "mock_cluster.hpp"
#include "subprocess.hpp"

namespace {

using namespace std::chrono_literals;

kwire::peers::process_result consume(std::vector<std::string> args) {
    args.insert(args.begin(), {KWIRE_BINARY_DIR "/bin/kwire", "consume"});
    return kwire::peers::run_process(args, {}, 60s);
}

TEST(CliConsume, HelpListsEveryOption) {
    const auto r = consume({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* o : {"-b", "-t", "-g", "-p", "-o", "-c", "-e", "-f", "--commit", "-X", "--config", "%k", "%h"})
        EXPECT_NE(r.out.find(o), std::string::npos) << o;
}

TEST(CliConsume, PrintsWhatKcatWroteInTheGivenFormat) {
    KWIRE_REQUIRE_CODEC(kwire::codec::compression::zstd);
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("fmt", 1);
    std::vector<kwire::peers::kcat_message> messages;
    std::string expected;
    for (int i = 0; i < 50; ++i) {
        messages.push_back({"k" + std::to_string(i), "value\t" + std::to_string(i)});
        expected += "0 " + std::to_string(i) + " k" + std::to_string(i) + ":value\t" + std::to_string(i) + "|h=x\n";
    }
    kwire::peers::kcat_produce(mc.bootstrap(), "fmt", 0, "zstd", messages, {{"h", "x"}});
    const auto r = consume({"-b", mc.bootstrap(), "-t", "fmt", "-e", "-f", "%p %o %k:%s|%h\\n"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected);
}

TEST(CliConsume, AGroupResumesWhereItsLastRunCommitted) {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("resume", 1);
    std::vector<kwire::peers::kcat_message> messages;
    for (int i = 0; i < 40; ++i) messages.push_back({"", "m" + std::to_string(i)});
    kwire::peers::kcat_produce(mc.bootstrap(), "resume", 0, "none", messages);
    for (const char* policy : {"interval:0", "manual", "on_poll"}) {
        SCOPED_TRACE(policy);
        const std::string group = std::string("g-") + policy;
        auto first = consume({"-b", mc.bootstrap(), "-t", "resume", "-g", group, "-o", "beginning", "-c", "15",
                              "--commit", policy, "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=100"});
        ASSERT_EQ(first.exit_code, 0) << first.err;
        EXPECT_EQ(first.out.substr(0, 3), "m0\n");
        auto second = consume({"-b", mc.bootstrap(), "-t", "resume", "-g", group, "-c", "5", "--commit", policy,
                               "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=100"});
        ASSERT_EQ(second.exit_code, 0) << second.err;
        // Every policy commits what was printed when the command ends.
        EXPECT_EQ(second.out, "m15\nm16\nm17\nm18\nm19\n");
    }
}

TEST(CliConsume, AnUnknownTopicExits1NamingTheError) {
    kwire::peers::mock_cluster mc(1);
    const auto r = consume({"-b", mc.bootstrap(), "-t", "no-such-topic", "-e", "-X", "allow.auto.create.topics=false"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no-such-topic"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
}

TEST(CliConsume, BadOptionsAreUsageErrors) {
    EXPECT_EQ(consume({"-b", "127.0.0.1:1"}).exit_code, 2);                           // no -t
    EXPECT_EQ(consume({"-b", "127.0.0.1:1", "-t", "x", "-o", "middle"}).exit_code, 2);
    EXPECT_EQ(consume({"-b", "127.0.0.1:1", "-t", "x", "--commit", "sometimes"}).exit_code, 2);
    EXPECT_EQ(consume({"-b", "127.0.0.1:1", "-t", "x", "-X", "auto.offset.reset=never"}).exit_code, 2);
}

}  // namespace
