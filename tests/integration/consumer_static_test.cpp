// Static membership (KIP-345): a second consumer with the same group.instance.id takes the
// instance over; the first is fenced -- FENCED_INSTANCE_ID on its next Heartbeat or commit -- and
// its next poll fails with it, as the Java client's poll throws FencedInstanceIdException. It
// never commits past what it acknowledged, and the new instance resumes there.
//
// Against the scripted cluster's coordinator (scripted_group.hpp): librdkafka 2.0.2's mock reads
// GroupInstanceId in JoinGroup/SyncGroup/Heartbeat and ignores it, so it never fences anyone.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/protocol/messages/leave_group.hpp"
#include "scripted_group.hpp"
#include "scripted_log.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::driver;
using kwire::test::run_for;
using kwire::test::run_until;

constexpr std::int16_t fenced_instance_id = 82;

TEST(ConsumerStatic, AReplacedInstanceIsFencedItsPollFailsAndItCommitsNothingMore) {
    kwire::test::scripted_cluster cluster(1);
    cluster.add_topic("st", 1);
    auto& log = *kwire::test::scripted_log::start(cluster, 1);
    auto& group = *kwire::test::scripted_group::start(cluster);
    for (int i = 0; i < 4; ++i) {
        std::vector<std::string> values;
        for (int k = 0; k < 10; ++k) values.push_back("v-" + std::to_string(i * 10 + k));
        log.append("st", 0, values);
    }

    boost::asio::io_context io;
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = cluster.addresses();
    cfg.group_id = "g-static";
    cfg.group_instance_id = "i1";
    cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
    cfg.session_timeout = 6000ms;
    cfg.heartbeat_interval = 100ms;
    cfg.fetch_max_wait = 100ms;
    cfg.retry_backoff = 20ms;
    cfg.request_timeout = 5000ms;

    // A: acknowledges the first ten records only, and keeps the next ten for later.
    kwire::consumer a(io.get_executor(), cfg);
    a.subscribe({"st"});
    driver da(a);
    std::vector<kwire::consumer_record> held;
    da.on = [&](const kwire::consumer_record& r) {
        if (r.offset < 10) r.ack();
        else if (r.offset < 20) held.push_back(r);  // ack() needs no view: a copy may outlive the poll
    };
    da.start();
    ASSERT_TRUE(run_until(io, [&] { return da.count() >= 40 || da.error; }, 20s)) << da.count();
    ASSERT_TRUE(run_until(io, [&] { return group.committed("g-static", "st", 0) == 10; }, 10s));
    const auto a_member = group.member_of_instance("g-static", "i1");
    ASSERT_FALSE(a_member.empty());

    // B: the same instance, restarted elsewhere.
    kwire::consumer b(io.get_executor(), cfg);
    b.subscribe({"st"});
    driver db(b);
    db.start();
    ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(da.error); }, 20s)) << "A is never told";
    EXPECT_EQ(da.error, kwire::kafka_error(fenced_instance_id)) << da.error.message();
    EXPECT_NE(group.member_of_instance("g-static", "i1"), a_member);

    // A's application finishes more records after the fact: nothing of it may be committed.
    for (const auto& r : held) r.ack();
    std::error_code again;
    a.poll(100ms, [&](std::error_code ec, kwire::record_batch) { again = ec; });
    ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(again); }, 10s));
    EXPECT_EQ(again, kwire::kafka_error(fenced_instance_id)) << "fatal: every later poll says so too";

    // B resumes where A's acknowledgements ended, and takes everything from there.
    ASSERT_TRUE(run_until(io, [&] { return db.count() >= 30 || db.error; }, 20s)) << db.count();
    ASSERT_FALSE(db.error) << db.error.message();
    EXPECT_EQ(std::get<2>(db.seen.front()), 10);
    EXPECT_EQ(b.assignment(), (std::vector<kwire::topic_partition>{{"st", 0}}));

    run_for(io, 300ms);  // time for any commit A might still try
    int refused = 0;
    for (const auto& c : group.commits()) {
        if (c.member_id != a_member) continue;
        if (c.error == 0) {
            for (const auto& [tp, off] : c.offsets) EXPECT_LE(off, 10) << "A committed past what it acknowledged";
        } else {
            EXPECT_EQ(c.error, fenced_instance_id);
            ++refused;
        }
    }
    EXPECT_LE(refused, 1) << "once fenced, A sends no commit (one may have been how it learned)";
    EXPECT_GE(group.committed("g-static", "st", 0), 10);

    // A static member closes without leaving: its instance keeps its place until the session ends.
    bool closed = false;
    b.close([&](std::error_code) { closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 10s));
    EXPECT_TRUE(group.answers(kwire::protocol::LeaveGroupRequest::api_key).empty());
    EXPECT_EQ(group.committed("g-static", "st", 0), 40) << "B's close committed what it acknowledged";
}

}  // namespace
