// The idempotent sender's ordering rules, without sockets or timers: a stand-in batch goes
// through sealing, compression elsewhere finishing out of order, pipelining, out-of-order
// answers, retries, expiry and epoch bumps.
#include "producer/partition_queue.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace kwire::client::detail;
using steady = std::chrono::steady_clock;

namespace {

struct fake_batch {
    std::uint64_t order = 0;
    std::int32_t base_sequence = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    int attempts = 0;
    steady::time_point deadline = steady::time_point::max();
    std::size_t records = 1;
    bool compressing = false;  // its records are being compressed elsewhere
    bool maybe_written = false;

    std::size_t record_count() const noexcept { return records; }
    bool ready() const noexcept { return !compressing; }
    void set_producer_state(std::int64_t pid, std::int16_t epoch, std::int32_t seq) {
        producer_id = pid;
        producer_epoch = epoch;
        base_sequence = seq;
    }
};

using queue = partition_queue<fake_batch>;

std::unique_ptr<fake_batch> batch(std::size_t records, steady::time_point deadline = steady::time_point::max()) {
    auto b = std::make_unique<fake_batch>();
    b->records = records;
    b->deadline = deadline;
    return b;
}

/// As if the broker had acknowledged an earlier batch of the partition under the current id and
/// epoch: it knows the producer, so batches may be pipelined.
void known_to_the_broker(queue& q) {
    fake_batch earlier;
    earlier.base_sequence = 0;
    q.acknowledged(earlier);
}

const auto t0 = steady::now();
constexpr std::int16_t NOT_LEADER = 6, TIMED_OUT = 7, OUT_OF_ORDER = 45, DUPLICATE = 46, UNKNOWN_PID = 59,
                       TOO_LARGE = 10;

}  // namespace

TEST(PartitionQueue, SequencesFollowSealOrderAndWrapAtTwoToThe31) {
    queue q;
    q.set_next_sequence(0x7ffffffe);
    q.push_sealed(batch(1), 42, 0);
    q.push_sealed(batch(3), 42, 0);  // 0x7fffffff, 0, 1
    q.push_sealed(batch(1), 42, 0);
    ASSERT_EQ(q.sealed().size(), 3u);
    EXPECT_EQ(q.sealed()[0]->base_sequence, 0x7ffffffe);
    EXPECT_EQ(q.sealed()[1]->base_sequence, 0x7fffffff);
    EXPECT_EQ(q.sealed()[2]->base_sequence, 2);
    EXPECT_EQ(q.next_sequence(), 3);
}

TEST(PartitionQueue, PipelinesUpToTheInFlightLimitInOrderOnceABatchIsAcknowledged) {
    queue q;
    for (int i = 0; i < 8; ++i) q.push_sealed(batch(10), 1, 0);
    // Nothing acknowledged under this id and epoch yet: the broker may hold no state for the
    // producer and would take any sequence, so one batch at a time.
    ASSERT_TRUE(q.can_send(t0, 5));
    auto* first = q.send_front();
    EXPECT_FALSE(q.can_send(t0, 5));
    auto acked = q.take(first);
    q.acknowledged(*acked);
    EXPECT_TRUE(q.confirmed());
    std::vector<std::int32_t> sent;
    while (q.can_send(t0, 5)) sent.push_back(q.send_front()->base_sequence);
    EXPECT_EQ(sent, (std::vector<std::int32_t>{10, 20, 30, 40, 50}));
    EXPECT_FALSE(q.can_send(t0, 5));
    auto second = q.take(q.in_flight().front().get());  // answered
    EXPECT_TRUE(q.can_send(t0, 5));
}

// The case the rule exists for: the first batch of a new producer is lost (a retriable error, a
// dead connection) while the second, pipelined behind it, reaches a broker with no state for the
// producer -- which stores it, so the first would land behind it. Every new epoch starts over.
TEST(PartitionQueue, AFirstBatchIsNeverPipelinedUnderANewProducerIdOrEpoch) {
    queue q;
    for (int i = 0; i < 3; ++i) q.push_sealed(batch(1), 5, 0);
    auto* a = q.send_front();
    EXPECT_FALSE(q.can_send(t0, 5)) << "the second batch would be pipelined behind the first";
    q.requeue(q.take(a), t0);  // a retriable error
    ASSERT_TRUE(q.can_send(t0, 5));
    a = q.send_front();
    EXPECT_EQ(a->base_sequence, 0);
    EXPECT_FALSE(q.can_send(t0, 5));
    q.acknowledged(*q.take(a));
    EXPECT_TRUE(q.can_send(t0, 5));
    q.resequence(5, 1);  // an epoch bump: the broker knows nothing of epoch 1 yet
    EXPECT_FALSE(q.confirmed());
    q.send_front();
    EXPECT_FALSE(q.can_send(t0, 5));
}

// A batch whose answer was lost may be on the broker: an epoch bump would renumber it into a new
// batch and the broker would store it twice. The queue says so while it is at the front.
TEST(PartitionQueue, ABatchTheBrokerMayHoldMustBeResolvedBeforeAnEpochBump) {
    queue q;
    known_to_the_broker(q);
    for (int i = 0; i < 2; ++i) q.push_sealed(batch(1), 5, 0);
    EXPECT_FALSE(q.needs_resolving());
    auto* a = q.send_front();
    auto owned = q.take(a);
    owned->maybe_written = true;  // its connection died before the answer
    q.requeue(std::move(owned), t0);
    EXPECT_TRUE(q.needs_resolving());
    ASSERT_TRUE(q.can_send(t0, 5));
    a = q.send_front();  // sent again under its old numbers
    EXPECT_FALSE(q.needs_resolving()) << "the batch behind it was never sent";
    EXPECT_EQ(a->base_sequence, 0);
    EXPECT_EQ(a->producer_epoch, 0);
}

TEST(PartitionQueue, BatchesWithoutSequenceNumbersPipelineFromTheStart) {
    queue q;
    for (int i = 0; i < 3; ++i) q.push_sealed(batch(1), -1, -1);  // not idempotent
    q.send_front();
    EXPECT_TRUE(q.can_send(t0, 5));
}

TEST(PartitionQueue, OutOfOrderResponsesBehindAFailedBatchAreRetriedInOriginalOrderWithTheSameSequences) {
    queue q;
    known_to_the_broker(q);
    for (int i = 0; i < 3; ++i) q.push_sealed(batch(5), 7, 2);
    auto* a = q.send_front();  // seq 0
    auto* b = q.send_front();  // seq 5
    auto* c = q.send_front();  // seq 10

    // The broker answers in order: a hit NOT_LEADER, so b and c come back OUT_OF_ORDER.
    EXPECT_EQ(classify_produce_result(NOT_LEADER, false, true, q.first_outstanding(a)), batch_outcome::retry_after_metadata);
    q.requeue(q.take(a), t0 + std::chrono::milliseconds(100));
    EXPECT_FALSE(q.first_outstanding(b));  // a, sealed before it, is waiting to be resent
    EXPECT_EQ(classify_produce_result(OUT_OF_ORDER, false, true, q.first_outstanding(b)), batch_outcome::retry);
    q.requeue(q.take(b), t0);
    // Nothing is resent while c is still out there: it would overtake a.
    EXPECT_FALSE(q.can_send(t0 + std::chrono::seconds(1), 5));
    EXPECT_EQ(classify_produce_result(OUT_OF_ORDER, false, true, q.first_outstanding(c)), batch_outcome::retry);
    q.requeue(q.take(c), t0);

    EXPECT_FALSE(q.can_send(t0, 5));  // the backoff is the longest of the three
    ASSERT_TRUE(q.can_send(t0 + std::chrono::milliseconds(100), 5));
    std::vector<std::int32_t> resent;
    while (q.can_send(t0 + std::chrono::seconds(1), 5)) resent.push_back(q.send_front()->base_sequence);
    EXPECT_EQ(resent, (std::vector<std::int32_t>{0, 5, 10}));
    for (const auto& f : q.in_flight()) EXPECT_EQ(f->attempts, 2);
}

TEST(PartitionQueue, OutOfOrderWithNothingEarlierOutstandingIsARealGapAndRenumbersUnderANewEpoch) {
    queue q;
    for (int i = 0; i < 3; ++i) q.push_sealed(batch(4), 7, 2);
    q.send_front();
    auto owned = q.take(q.in_flight().front().get());  // delivered
    auto* b = q.send_front();                          // seq 4
    ASSERT_TRUE(q.first_outstanding(b));
    EXPECT_EQ(classify_produce_result(OUT_OF_ORDER, false, true, true), batch_outcome::bump_epoch_and_retry);
    q.requeue(q.take(b), t0);
    ASSERT_TRUE(q.in_flight().empty());
    q.resequence(7, 3);  // the producer bumped its epoch to 3
    ASSERT_EQ(q.sealed().size(), 2u);
    EXPECT_EQ(q.sealed()[0]->base_sequence, 0);
    EXPECT_EQ(q.sealed()[0]->producer_epoch, 3);
    EXPECT_EQ(q.sealed()[1]->base_sequence, 4);
    EXPECT_EQ(q.next_sequence(), 8);
}

TEST(PartitionQueue, ExpiryOfTheFirstBatchLeavesAGapThatTheEpochBumpCloses) {
    queue q;
    q.push_sealed(batch(2, t0 + std::chrono::seconds(1)), 9, 0);
    q.push_sealed(batch(2, t0 + std::chrono::seconds(5)), 9, 0);
    EXPECT_EQ(q.pop_expired(t0), nullptr);
    auto expired = q.pop_expired(t0 + std::chrono::seconds(2));
    ASSERT_NE(expired, nullptr);
    EXPECT_EQ(expired->base_sequence, 0);
    EXPECT_EQ(q.pop_expired(t0 + std::chrono::seconds(2)), nullptr);  // the next one is still in time
    // Sequence 2 would now be out of order on the broker: a new epoch numbers it 0.
    q.resequence(9, 1);
    EXPECT_EQ(q.sealed().front()->base_sequence, 0);
}

TEST(PartitionQueue, ClassifiesEveryKindOfAnswer) {
    EXPECT_EQ(classify_produce_result(0, false, true, true), batch_outcome::delivered);
    EXPECT_EQ(classify_produce_result(DUPLICATE, false, true, false), batch_outcome::delivered);
    EXPECT_EQ(classify_produce_result(UNKNOWN_PID, false, true, false), batch_outcome::bump_epoch_and_retry);
    EXPECT_EQ(classify_produce_result(TIMED_OUT, false, true, true), batch_outcome::retry);
    EXPECT_EQ(classify_produce_result(19, false, true, true), batch_outcome::retry);  // NOT_ENOUGH_REPLICAS
    EXPECT_EQ(classify_produce_result(NOT_LEADER, false, false, true), batch_outcome::retry_after_metadata);
    EXPECT_EQ(classify_produce_result(TOO_LARGE, false, true, true), batch_outcome::failed);
    EXPECT_EQ(classify_produce_result(0, true, true, true), batch_outcome::retry_after_metadata);  // transport
    // Without idempotence an out-of-order answer cannot happen; it is not retried blindly.
    EXPECT_EQ(classify_produce_result(OUT_OF_ORDER, false, false, true), batch_outcome::failed);
}

// With a compression executor, batches come back from compression in any order: a later batch
// that is ready never overtakes an earlier one still being compressed, before or after the
// earlier ones went out.
TEST(PartitionQueue, ABatchStillCompressingHoldsBackTheReadyBatchesSealedAfterIt) {
    queue q;
    known_to_the_broker(q);
    for (int i = 0; i < 4; ++i) {
        auto b = batch(5);
        b->compressing = true;
        q.push_sealed(std::move(b), 3, 0);
    }
    EXPECT_FALSE(q.can_send(t0, 5));
    q.sealed()[1]->compressing = false;  // batch 1 finished first
    q.sealed()[3]->compressing = false;
    EXPECT_FALSE(q.can_send(t0, 5)) << "batch 1 would overtake batch 0";
    q.sealed()[0]->compressing = false;
    std::vector<std::int32_t> sent;
    while (q.can_send(t0, 5)) sent.push_back(q.send_front()->base_sequence);
    EXPECT_EQ(sent, (std::vector<std::int32_t>{0, 5})) << "batch 2, still compressing, holds back batch 3";
    q.sealed()[0]->compressing = false;
    while (q.can_send(t0, 5)) sent.push_back(q.send_front()->base_sequence);
    EXPECT_EQ(sent, (std::vector<std::int32_t>{0, 5, 10, 15}));
}

TEST(PartitionQueue, AnEpochBumpRenumbersBatchesStillCompressingInTheirPlace) {
    queue q;
    q.push_sealed(batch(2), 4, 0);
    auto compressing = batch(3);
    compressing->compressing = true;
    q.push_sealed(std::move(compressing), 4, 0);
    q.push_sealed(batch(1), 4, 0);
    q.resequence(4, 1);
    ASSERT_EQ(q.sealed().size(), 3u);
    EXPECT_EQ(q.sealed()[1]->base_sequence, 2);
    EXPECT_EQ(q.sealed()[1]->producer_epoch, 1);
    EXPECT_TRUE(q.sealed()[1]->compressing);
    EXPECT_EQ(q.sealed()[2]->base_sequence, 5);
}

// A compression result is matched to its batch by seal order: one that expired (or failed)
// meanwhile is not found, and one whose compression failed is taken out.
TEST(PartitionQueue, CompressionResultsFindTheirBatchBySealOrderOrNothing) {
    queue q;
    for (int i = 0; i < 3; ++i) {
        auto b = batch(1, t0 + std::chrono::seconds(i + 1));
        b->compressing = true;
        q.push_sealed(std::move(b), 3, 0);
    }
    const auto first = q.sealed()[0]->order, second = q.sealed()[1]->order;
    auto expired = q.pop_expired(t0 + std::chrono::milliseconds(1500));  // still compressing: expires all the same
    ASSERT_NE(expired, nullptr);
    EXPECT_EQ(expired->order, first);
    EXPECT_EQ(q.find_sealed(first), nullptr);
    auto* b = q.find_sealed(second);
    ASSERT_NE(b, nullptr);
    auto failed = q.take_sealed(b);
    EXPECT_EQ(failed.get(), b);
    EXPECT_EQ(q.find_sealed(second), nullptr);
    EXPECT_EQ(q.take_sealed(b), nullptr);
    ASSERT_EQ(q.sealed().size(), 1u);
}
