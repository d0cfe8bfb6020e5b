// The rules broker (support_rules_broker.hpp) through real sockets: raw requests that pin each
// answer down, and kwire's own producer storing every record once, in order, with every codec
// and across a leadership move.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "../require_codec.hpp"
#include "blocking_connection.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/messages.hpp"
#include "support_rules_broker.hpp"

namespace {

using kwire::test::produce_fault;
using kwire::test::rules_cluster;
using kwire::test::scripted_request;
using namespace std::chrono_literals;
namespace kc = kwire::codec;
namespace kp = kwire::protocol;

constexpr std::int16_t produce_version = 9;
constexpr std::int64_t timestamp_base = 1700000000000;

/// A RecordBatch v2 of `values` (keys "k<value>") with this producer state.
std::vector<std::uint8_t> make_batch(std::int64_t pid, std::int16_t epoch, std::int32_t seq,
                                     const std::vector<std::string>& values) {
    std::vector<std::uint8_t> out;
    kc::batch_builder b;
    b.begin(out, {.producer_id = pid, .producer_epoch = epoch, .base_sequence = seq});
    std::int64_t ts = timestamp_base;
    for (const auto& v : values) {
        const std::string key = "k" + v;
        const kp::bytes_view k(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
        const kp::bytes_view val(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
        EXPECT_FALSE(b.append(ts++, std::optional<kp::bytes_view>(k), std::optional<kp::bytes_view>(val)));
    }
    EXPECT_FALSE(b.finish());
    return out;
}

/// `count` values "<prefix>0", "<prefix>1", ...
std::vector<std::string> values(const std::string& prefix, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
    return out;
}

struct partition_data {
    std::string topic;
    std::int32_t partition = 0;
    std::vector<std::uint8_t> batch;
};

kp::ProduceRequest produce_request(const std::vector<partition_data>& parts, std::int16_t acks = -1) {
    kp::ProduceRequest req;
    req.transactional_id.reset();
    req.acks = acks;
    req.timeout_ms = 5000;
    for (const auto& p : parts) {
        if (req.topic_data.empty() || req.topic_data.back().name != p.topic)
            req.topic_data.emplace_back().name = p.topic;
        auto& pd = req.topic_data.back().partition_data.emplace_back();
        pd.index = p.partition;
        pd.records = kp::bytes_view(p.batch);
    }
    return req;
}

/// One partition's answer to a one-partition Produce.
kp::ProduceResponse::PartitionProduceResponse produce(kwire::peers::blocking_connection& c, const std::string& topic,
                                                      std::int32_t partition, const std::vector<std::uint8_t>& batch) {
    const auto resp = c.call(produce_request({{topic, partition, batch}}), produce_version);
    EXPECT_EQ(resp.responses.size(), 1u);
    EXPECT_EQ(resp.responses.at(0).partition_responses.size(), 1u);
    return resp.responses.at(0).partition_responses.at(0);
}

std::int64_t init_producer_id(kwire::peers::blocking_connection& c, std::int64_t pid = -1, std::int16_t epoch = -1) {
    kp::InitProducerIdRequest req;
    req.transactional_id.reset();
    req.transaction_timeout_ms = 60000;
    req.producer_id = pid;
    req.producer_epoch = epoch;
    const auto resp = c.call(req, 4);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.producer_epoch, 0);
    return resp.producer_id;
}

class RulesBroker : public ::testing::Test {
protected:
    RulesBroker() { rules.add_topic("t", 4); }
    /// A connection to broker `node` (partition p's leader is p % 3 + 1).
    kwire::peers::blocking_connection connect(int node) {
        return kwire::peers::blocking_connection(rules.cluster().addresses().at(static_cast<std::size_t>(node - 1)));
    }
    std::vector<std::string> stored_values(const std::string& topic, int partition) {
        std::vector<std::string> out;
        for (const auto& b : rules.log(topic, partition))
            for (const auto& v : b.values) out.push_back(v.value_or("<null>"));
        return out;
    }
    rules_cluster rules{3};
};

TEST_F(RulesBroker, ALaterBatchOfAnUnknownProducerIsTakenAndItsFirstIsThenOutOfOrder) {
    auto c = connect(1);
    const auto pid = init_producer_id(c);
    const auto later = produce(c, "t", 0, make_batch(pid, 0, 5, values("b", 5)));
    EXPECT_EQ(later.error_code, 0);
    EXPECT_EQ(later.base_offset, 0);
    EXPECT_EQ(later.log_append_time_ms, -1);
    EXPECT_EQ(later.log_start_offset, 0);
    const auto first = produce(c, "t", 0, make_batch(pid, 0, 0, values("a", 5)));
    EXPECT_EQ(first.error_code, 45);
    EXPECT_EQ(first.base_offset, -1);
    EXPECT_EQ(first.log_start_offset, -1);
    const auto log = rules.log("t", 0);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].producer_id, pid);
    EXPECT_EQ(log[0].base_sequence, 5);
    EXPECT_EQ(log[0].keys.front(), "kb0");
    EXPECT_EQ(stored_values("t", 0), values("b", 5));
    EXPECT_EQ(rules.counters().out_of_order, 1);
}

TEST_F(RulesBroker, AResentBatchIsAnsweredWithTheOriginalOffsetAndStoredOnce) {
    auto c = connect(1);
    const auto pid = init_producer_id(c);
    const auto b0 = make_batch(pid, 0, 0, values("a", 3));
    ASSERT_EQ(produce(c, "t", 0, b0).base_offset, 0);
    ASSERT_EQ(produce(c, "t", 0, make_batch(pid, 0, 3, values("b", 2))).base_offset, 3);
    const auto again = produce(c, "t", 0, b0);
    EXPECT_EQ(again.error_code, 0);
    EXPECT_EQ(again.base_offset, 0);
    EXPECT_EQ(again.log_append_time_ms, timestamp_base + 2);  // Kafka answers the batch's max timestamp
    EXPECT_EQ(rules.log("t", 0).size(), 2u);
    EXPECT_EQ(rules.counters().duplicates, 1);
    EXPECT_EQ(rules.counters().appended_batches, 2);

    rules.set_duplicate_answer_error(true);  // a broker before 1.0
    const auto old_broker = produce(c, "t", 0, b0);
    EXPECT_EQ(old_broker.error_code, 46);
    EXPECT_EQ(rules.log("t", 0).size(), 2u);
}

TEST_F(RulesBroker, EachPartitionOfARequestIsJudgedOnItsOwn) {
    auto c = connect(1);  // leads partitions 0 and 3
    const auto pid = init_producer_id(c);
    ASSERT_EQ(produce(c, "t", 3, make_batch(pid, 0, 0, values("x", 2))).error_code, 0);
    const auto resp = c.call(produce_request({{"t", 0, make_batch(pid, 0, 0, values("a", 2))},
                                              {"t", 1, make_batch(pid, 0, 0, values("b", 2))},
                                              {"t", 3, make_batch(pid, 0, 7, values("c", 2))},
                                              {"t", 9, make_batch(pid, 0, 0, values("d", 2))},
                                              {"nope", 0, make_batch(pid, 0, 0, values("e", 2))}}),
                             produce_version);
    ASSERT_EQ(resp.responses.size(), 2u);
    const auto& parts = resp.responses[0].partition_responses;
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[0].error_code, 0);   // in sequence
    EXPECT_EQ(parts[1].error_code, 6);   // led by broker 2
    EXPECT_EQ(parts[2].error_code, 45);  // a gap after sequence 1
    EXPECT_EQ(parts[3].error_code, 3);   // no partition 9
    EXPECT_EQ(resp.responses[1].partition_responses.at(0).error_code, 3);
    EXPECT_EQ(stored_values("t", 0), values("a", 2));
    EXPECT_EQ(stored_values("t", 3), values("x", 2));
    EXPECT_TRUE(rules.log("t", 1).empty());
    EXPECT_EQ(rules.counters().not_leader, 1);
}

TEST_F(RulesBroker, LowerEpochIsInvalidAndABumpMustStartAtSequenceZero) {
    auto c = connect(1);
    const auto pid = init_producer_id(c);
    ASSERT_EQ(produce(c, "t", 0, make_batch(pid, 1, 0, values("a", 2))).error_code, 0);
    EXPECT_EQ(produce(c, "t", 0, make_batch(pid, 0, 2, values("b", 1))).error_code, 47);
    EXPECT_EQ(produce(c, "t", 0, make_batch(pid, 2, 2, values("c", 1))).error_code, 45);
    EXPECT_EQ(produce(c, "t", 0, make_batch(pid, 2, 0, values("d", 1))).error_code, 0);
    EXPECT_EQ(stored_values("t", 0), (std::vector<std::string>{"a0", "a1", "d0"}));
    EXPECT_EQ(rules.counters().invalid_epoch, 1);
    EXPECT_EQ(rules.counters().out_of_order, 1);
}

TEST_F(RulesBroker, NotABatchOfTheRightShapeIsAnInvalidRecord) {
    auto c = connect(1);
    auto two = make_batch(5000, 0, 0, values("a", 1));
    const auto second = make_batch(5000, 0, 1, values("b", 1));
    two.insert(two.end(), second.begin(), second.end());
    EXPECT_EQ(produce(c, "t", 0, two).error_code, 87);
    EXPECT_EQ(produce(c, "t", 0, make_batch(5000, 0, -1, values("a", 1))).error_code, 87);
    auto corrupt = make_batch(5000, 0, 0, values("a", 1));
    corrupt.back() ^= 0xff;
    EXPECT_EQ(produce(c, "t", 0, corrupt).error_code, 2);
    EXPECT_TRUE(rules.log("t", 0).empty());
    EXPECT_EQ(produce(c, "t", 0, make_batch(-1, -1, -1, values("plain", 2))).error_code, 0);  // not idempotent
    EXPECT_EQ(stored_values("t", 0), values("plain", 2));
}

TEST_F(RulesBroker, InitProducerIdAlwaysHandsOutAFreshIdAtEpochZero) {
    auto c = connect(2);
    const auto first = init_producer_id(c);
    const auto second = init_producer_id(c, first, 0);  // KIP-360: the client asks to bump
    const auto third = init_producer_id(c, second, 7);
    EXPECT_NE(first, second);
    EXPECT_NE(second, third);
    EXPECT_EQ(rules.counters().init_producer_ids, 3);
}

TEST_F(RulesBroker, AcksZeroGetsNoAnswerAndAnErrorClosesTheConnection) {
    auto c = connect(1);
    // Pipelined: the acks=0 Produce, then ApiVersions; the only answer is the latter's.
    std::vector<std::uint8_t> frames;
    ASSERT_FALSE(kp::encode_request(frames, produce_request({{"t", 0, make_batch(-1, -1, -1, values("z", 1))}}, 0),
                                    produce_version, 41, "raw"));
    ASSERT_FALSE(kp::encode_request(frames, kp::ApiVersionsRequest{}, 0, 42, "raw"));
    const auto body = c.roundtrip(frames);
    ASSERT_GE(body.size(), 4u);
    EXPECT_EQ(kp::load_be<std::int32_t>(body.data()), 42);
    EXPECT_EQ(stored_values("t", 0), values("z", 1));

    frames.clear();  // partition 1 is led by broker 2: an error, so broker 1 hangs up
    ASSERT_FALSE(kp::encode_request(frames, produce_request({{"t", 1, make_batch(-1, -1, -1, values("z", 1))}}, 0),
                                    produce_version, 43, "raw"));
    ASSERT_FALSE(kp::encode_request(frames, kp::ApiVersionsRequest{}, 0, 44, "raw"));
    EXPECT_THROW(c.roundtrip(frames), kwire::peers::connection_error);
}

TEST_F(RulesBroker, ProduceHookClosesBeforeOrAfterApplying) {
    std::atomic<int> calls{0};
    rules.produce_hook = [&](const scripted_request&) {
        const int n = calls++;
        return n == 0 ? produce_fault::close_before_apply
                      : n == 1 ? produce_fault::close_after_apply : produce_fault::none;
    };
    const auto batch = make_batch(6000, 0, 0, values("a", 2));
    {
        auto c = connect(1);
        EXPECT_THROW(produce(c, "t", 0, batch), kwire::peers::connection_error);
        EXPECT_TRUE(rules.log("t", 0).empty());
    }
    {
        auto c = connect(1);
        EXPECT_THROW(produce(c, "t", 0, batch), kwire::peers::connection_error);
        EXPECT_EQ(stored_values("t", 0), values("a", 2));
    }
    auto c = connect(1);
    const auto retried = produce(c, "t", 0, batch);  // the client's retry after the lost answer
    EXPECT_EQ(retried.error_code, 0);
    EXPECT_EQ(retried.base_offset, 0);
    EXPECT_EQ(rules.log("t", 0).size(), 1u);
    EXPECT_EQ(rules.counters().produce_requests, 3);
}

// --- kwire's producer ----------------------------------------------------------------------

kp::bytes_view bv(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(10ms);
    }
    return done();
}

struct sent {
    std::error_code ec;
    kwire::delivery d;
    int completions = 0;
};

/// Sends `vals` to `partition` of "t" and waits for every acknowledgement.
void send_all(boost::asio::io_context& io, kwire::producer& p, int partition, const std::vector<std::string>& vals) {
    std::vector<sent> results(vals.size());
    for (std::size_t i = 0; i < vals.size(); ++i)
        p.send({.topic = "t", .value = bv(vals[i]), .partition = partition},
               [&results, i](std::error_code ec, kwire::delivery d) {
                   results[i] = {ec, d, results[i].completions + 1};
               });
    ASSERT_TRUE(run_until(io, [&] {
        return std::all_of(results.begin(), results.end(), [](const sent& s) { return s.completions > 0; });
    }));
    for (std::size_t i = 0; i < vals.size(); ++i) {
        EXPECT_FALSE(results[i].ec) << i << ": " << results[i].ec.message();
        EXPECT_EQ(results[i].completions, 1) << i;
    }
}

class RulesBrokerProducer : public RulesBroker {
protected:
    kwire::producer_config config() {
        kwire::producer_config cfg;
        cfg.bootstrap_servers = rules.cluster().addresses();
        cfg.linger = 2ms;
        cfg.retry_backoff = 10ms;
        cfg.delivery_timeout = 20s;
        return cfg;
    }
    boost::asio::io_context io;
};

TEST_F(RulesBrokerProducer, KwireStoresEveryRecordOnceInOrderAndAtTheOffsetsItReports) {
    auto cfg = config();
    cfg.batch_size = 256;  // a few records a batch: many batches in flight per partition
    kwire::producer p(io.get_executor(), cfg);
    constexpr int n = 400;
    std::vector<sent> results(n);
    std::vector<std::string> vals = values("v", n);
    for (int i = 0; i < n; ++i)
        p.send({.topic = "t", .value = bv(vals[static_cast<std::size_t>(i)]), .partition = i % 4},
               [&results, i](std::error_code ec, kwire::delivery d) {
                   auto& r = results[static_cast<std::size_t>(i)];
                   r = {ec, d, r.completions + 1};
               });
    ASSERT_TRUE(run_until(io, [&] {
        return std::all_of(results.begin(), results.end(), [](const sent& s) { return s.completions > 0; });
    }));
    for (int part = 0; part < 4; ++part) {
        std::vector<std::string> expected;
        for (int i = part; i < n; i += 4) expected.push_back(vals[static_cast<std::size_t>(i)]);
        const auto stored = stored_values("t", part);
        EXPECT_EQ(stored, expected) << "partition " << part;
        for (int i = part; i < n; i += 4) {
            const auto& r = results[static_cast<std::size_t>(i)];
            ASSERT_FALSE(r.ec) << r.ec.message();
            ASSERT_EQ(r.completions, 1);
            ASSERT_GE(r.d.offset, 0);
            ASSERT_LT(r.d.offset, static_cast<std::int64_t>(stored.size()));
            EXPECT_EQ(stored[static_cast<std::size_t>(r.d.offset)], vals[static_cast<std::size_t>(i)]);
        }
    }
    const auto counts = rules.counters();
    EXPECT_EQ(counts.init_producer_ids, 1);
    EXPECT_EQ(counts.out_of_order + counts.invalid_epoch + counts.duplicates, 0);
    const auto log = rules.log("t", 0);
    EXPECT_GE(log.size(), 5u);  // several batches, so sequences continue across them
    std::int32_t next_sequence = 0;
    for (const auto& b : log) {
        EXPECT_GE(b.producer_id, 1000);  // idempotent, with the id the broker handed out
        EXPECT_EQ(b.base_sequence, next_sequence);
        next_sequence += static_cast<std::int32_t>(b.values.size());
    }
}

TEST_F(RulesBrokerProducer, AfterALeadershipMoveTheOldLeaderSaysNotLeaderAndKwireFollows) {
    kwire::producer p(io.get_executor(), config());
    send_all(io, p, 0, {"before"});
    rules.set_leader("t", 0, 2);

    auto old_leader = connect(1);
    EXPECT_EQ(produce(old_leader, "t", 0, make_batch(-1, -1, -1, {"stray"})).error_code, 6);
    kp::ListOffsetsRequest lo;
    lo.topics.push_back({"t", {{0, -1, -1, 1, {}}}, {}});
    EXPECT_EQ(old_leader.call(lo, 1).topics.at(0).partitions.at(0).error_code, 6);

    send_all(io, p, 0, {"after-1", "after-2"});
    EXPECT_EQ(stored_values("t", 0), (std::vector<std::string>{"before", "after-1", "after-2"}));
    bool at_new_leader = false;
    for (const auto& r : rules.cluster().requests(kp::ProduceRequest::api_key)) at_new_leader |= r.node == 2;
    EXPECT_TRUE(at_new_leader);
    EXPECT_GE(rules.counters().not_leader, 2);  // the stray batch and kwire's first try
    EXPECT_EQ(rules.counters().out_of_order, 0);
}

class RulesBrokerCodec : public RulesBrokerProducer, public ::testing::WithParamInterface<kc::compression> {};

TEST_P(RulesBrokerCodec, CompressedBatchesAreStoredAndDecoded) {
    KWIRE_REQUIRE_CODEC(GetParam());
    auto cfg = config();
    cfg.compression = GetParam();
    kwire::producer p(io.get_executor(), cfg);
    std::vector<std::string> vals;
    for (const auto& v : values("compressible-", 50)) vals.push_back(v + std::string(200, 'x'));
    send_all(io, p, 2, vals);
    EXPECT_EQ(stored_values("t", 2), vals);
    for (const auto& bytes : rules.data().batches("t", 2)) {
        kc::records_reader reader{kp::bytes_view(bytes)};
        ASSERT_TRUE(reader.next_batch());
        EXPECT_EQ(reader.batch().codec(), GetParam()) << "stored as sent, compressed";
    }
}

INSTANTIATE_TEST_SUITE_P(Codecs, RulesBrokerCodec,
                         ::testing::Values(kc::compression::gzip, kc::compression::snappy, kc::compression::lz4,
                                           kc::compression::zstd),
                         [](const auto& p) { return std::string(kc::compression_name(p.param)); });

}  // namespace
