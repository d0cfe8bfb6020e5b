// Exactly once across crashes (issue 13): a consume-transform-produce service (ctp_service.cpp,
// kwire's consumer and transactional producer) runs against the rules cluster -- Kafka's
// transaction coordinator, a classic group coordinator, offsets with KIP-447's rules -- and is
// SIGKILLed and restarted again and again: at random moments, and right after it announced a
// transaction (between its records and its commit). Each new instance's init_transactions
// fences the dead one and the coordinator aborts its open transaction. Then the service runs to
// the end of the input. The output, read committed (by kwire's consumer and by kcat), must hold
// every input record exactly once, on the input's partition, and the group's committed offsets
// must be the input's end offsets.
//
// Variants: transactions v2 and v1, v2 through the chaos proxy (connections cut at random bytes
// while the service is killed), and v2 with rebalances every 100 ms (a transaction's offsets for
// a generation the group left behind fail abortably: the service aborts and rewinds). KWIRE_CHAOS_SEED replays the kills' schedule (printed);
// KWIRE_CHAOS_SECONDS adds kills (three per second of chaos, at least ten).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kcat.hpp"
#include "kwire/client/consumer.hpp"
#include "support_chaos_env.hpp"
#include "support_chaos_proxy.hpp"
#include "support_process_group.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

const std::string service_binary = KWIRE_BINARY_DIR "/bin/kwire-ctp-service";
const std::string input = "in", output = "out", group = "ctp", transactional_id = "ctp-1";
constexpr int partitions = 4;
#if defined(__SANITIZE_ADDRESS__)
constexpr int records_per_partition = 150;  // ASan: each restart costs several times more
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int records_per_partition = 150;
#else
constexpr int records_per_partition = 500;
#endif
#else
constexpr int records_per_partition = 500;
#endif

struct ctp_scenario {
    std::string name;
    bool v2 = true;
    bool through_proxy = false;
    bool rebalances = false;  ///< the group coordinator starts a rebalance every 100 ms
};

/// What the kills did, for the report.
struct kill_log {
    int kills = 0;
    int open_at_kill = 0;  ///< the killed instance's last line was "begin": records sent, no commit
    int exits = 0;         ///< instances that ended on their own (a fatal error)
    int aborted = 0;       ///< transactions the service aborted itself (abortable errors)
    std::string last_exit;
};

/// The input values of partition p, in offset order.
std::vector<std::string> input_values(int p) {
    std::vector<std::string> out;
    for (int i = 0; i < records_per_partition; ++i) out.push_back("v" + std::to_string(p) + "-" + std::to_string(i));
    return out;
}

/// What the output must hold: one "P@O:value" per input record.
std::vector<std::string> expected_output() {
    std::vector<std::string> out;
    for (int p = 0; p < partitions; ++p) {
        const auto values = input_values(p);
        for (int i = 0; i < records_per_partition; ++i)
            out.push_back(std::to_string(p) + "@" + std::to_string(i) + ":" + values[static_cast<std::size_t>(i)]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool done(rules_cluster& rc) {
    const auto committed = rc.committed_offsets(group);
    for (int p = 0; p < partitions; ++p) {
        const auto it = committed.find({input, p});
        if (it == committed.end() || it->second != records_per_partition) return false;
    }
    return true;
}

/// Counts what the finished instance printed (KWIRE_CHAOS_TRACE: and prints it).
void note_lines(const child_process& c, kill_log& log) {
    const bool trace = std::getenv("KWIRE_CHAOS_TRACE") != nullptr;
    if (trace) std::printf("[ trace ] instance %d:\n", log.kills + log.exits);
    for (const auto& l : c.lines()) {
        if (l.text == "aborted") ++log.aborted;
        if (trace) std::printf("[ trace ]   %s\n", l.text.c_str());
    }
    if (trace && !c.err().empty()) std::printf("[ trace ]   stderr: %s\n", c.err().c_str());
}

/// When an instance is killed: `life` after it started, or (`after_ready`) after it printed
/// "ready" (its transactions initialized), or `delay` after it printed its `after_begins`-th
/// "begin" (its records are out, the commit is not).
struct kill_plan {
    std::chrono::milliseconds life{0};
    bool after_ready = false;
    int after_begins = -1;
    std::chrono::milliseconds delay{0};
};

/// Runs one instance until its plan says (then SIGKILLs it), the input is done, or it exits on
/// its own.
void run_instance(const std::vector<std::string>& argv, const kill_plan& plan, rules_cluster& rc, kill_log& log) {
    child_process c(argv);
    std::optional<std::chrono::steady_clock::time_point> kill_at;
    if (!plan.after_ready && plan.after_begins < 0) kill_at = std::chrono::steady_clock::now() + plan.life;
    for (;;) {
        if (!c.running()) {
            c.finish();
            ++log.exits;
            log.last_exit = "status " + std::to_string(c.status()) + ": " + c.err();
            for (const auto& l : c.lines()) log.last_exit += "\n  | " + l.text;
            note_lines(c, log);
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!kill_at) {
            int begins = 0;
            bool ready = false;
            for (const auto& l : c.lines()) {
                if (l.text.rfind("begin", 0) == 0) ++begins;
                if (l.text == "ready") ready = true;
            }
            if (plan.after_ready && ready) kill_at = now + plan.life;
            if (plan.after_begins >= 0 && begins >= plan.after_begins) kill_at = now + plan.delay;
        }
        if ((kill_at && now >= *kill_at) || done(rc)) break;
        std::this_thread::sleep_for(1ms);
    }
    c.finish();  // SIGKILL, and everything it printed
    ++log.kills;
    const auto lines = c.lines();
    if (!lines.empty() && lines.back().text.rfind("begin", 0) == 0) ++log.open_at_kill;
    note_lines(c, log);
}

/// What a read_committed kwire consumer reads from the output, as "P@O:value" strings; each
/// record's value must name the partition it was read from.
std::vector<std::string> read_output(const std::vector<std::string>& brokers, std::size_t expect, int& misplaced) {
    net::io_context io;
    consumer_config cfg;
    cfg.bootstrap_servers = brokers;
    cfg.isolation_level = client::isolation::read_committed;
    consumer c(io.get_executor(), cfg);
    std::vector<partition_offset> assign;
    for (int p = 0; p < partitions; ++p) assign.push_back({output, p, offset::beginning});
    c.assign(assign);
    std::vector<std::string> out;
    bool finished = false;
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        // Until everything expected came and one more poll brought nothing (or 15 s passed).
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        for (bool quiet = false; !(quiet && out.size() >= expect) && std::chrono::steady_clock::now() < deadline;) {
            auto [ec, batch] = co_await c.poll(300ms, net::as_tuple(net::use_awaitable));
            if (ec) {
                ADD_FAILURE() << "read_committed poll: " << ec.message();
                break;
            }
            quiet = batch.empty();
            for (const auto& r : batch) {
                std::string v(reinterpret_cast<const char*>(r.value->data()), r.value->size());
                if (v.rfind(std::to_string(r.partition) + "@", 0) != 0) ++misplaced;
                out.push_back(std::move(v));
            }
        }
        finished = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    while (!finished) io.run_for(20ms);
    std::sort(out.begin(), out.end());
    return out;
}

/// "missing=M duplicated=D unexpected=U (first: ...)" comparing sorted lists.
std::string compare(const std::vector<std::string>& expected, const std::vector<std::string>& got) {
    std::map<std::string, int> count;
    for (const auto& g : got) ++count[g];
    int missing = 0, duplicated = 0, unexpected = 0;
    std::string first;
    for (const auto& e : expected) {
        const auto it = count.find(e);
        if (it == count.end()) {
            ++missing;
            if (first.empty()) first = "missing " + e;
            continue;
        }
        if (it->second > 1) {
            duplicated += it->second - 1;
            if (first.empty()) first = "duplicated " + e;
        }
        count.erase(it);
    }
    for (const auto& [v, n] : count) {
        unexpected += n;
        if (first.empty()) first = "unexpected " + v;
    }
    return "missing=" + std::to_string(missing) + " duplicated=" + std::to_string(duplicated) +
           " unexpected=" + std::to_string(unexpected) + (first.empty() ? "" : " (first: " + first + ")");
}

void run(const ctp_scenario& s) {
    const auto seed = chaos_seed_from_env();
    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(s.name));
    rules_cluster rc(3);
    rc.add_topic(input, partitions);
    rc.add_topic(output, partitions);
    const auto groups = rc.serve_groups();
    if (s.v2) rc.enable_transactions_v2();
    for (int p = 0; p < partitions; ++p) {
        const auto values = input_values(p);
        for (std::size_t i = 0; i < values.size(); i += 50)
            rc.data().append(input, p, std::vector<std::string>(values.begin() + static_cast<std::ptrdiff_t>(i),
                                                                 values.begin() + static_cast<std::ptrdiff_t>(std::min(i + 50, values.size()))));
    }
    std::optional<chaos_proxy> proxy;
    if (s.through_proxy) {
        chaos_settings cs;
        cs.seed = seed;
        cs.fault_probability = 0.03;
        proxy.emplace(rc.cluster().addresses(), cs);
    }
    const std::string bootstrap = proxy ? proxy->bootstrap() : rc.cluster().bootstrap();
    const std::vector<std::string> argv = {service_binary, bootstrap, input, output, group, transactional_id,
                                           "5", "6"};  // 5 records and 6 ms of "work" per transaction

    const auto started = std::chrono::steady_clock::now();
    const int kills = std::max<int>(10, static_cast<int>(chaos_duration_from_env(3s).count() / 300));
    kill_log log;
    // A transaction takes about 8 ms here: its records go out within 2-3 ms (linger 2 ms), then
    // 6 ms of "work", then the commit. Kills come within tens of transactions, most inside one;
    // those after a "begin" mostly once its records are stored, so that the restart's abort
    // leaves records in the log that read_committed readers must skip.
    std::uniform_int_distribution<int> kind(0, 2), from_start_ms(5, 300), from_ready_ms(0, 100), begins(1, 20),
        delay_ms(3, 7);
    // Rebalances: the generation moves on under the open transaction, whose TxnOffsetCommit then
    // fails (ILLEGAL_GENERATION, abortable): the service aborts and rewinds, then rejoins.
    std::atomic<bool> stop_rebalancing{false};
    std::thread rebalancer;
    if (s.rebalances)
        rebalancer = std::thread([&] {
            while (!stop_rebalancing) {
                std::this_thread::sleep_for(100ms);
                groups->start_rebalance(group);
            }
        });
    for (int k = 0; k < kills && !done(rc); ++k) {
        kill_plan plan;
        switch (kind(rng)) {
            case 0: plan.life = std::chrono::milliseconds(from_start_ms(rng)); break;
            case 1: plan = {.life = std::chrono::milliseconds(from_ready_ms(rng)), .after_ready = true}; break;
            default: plan = {.after_begins = begins(rng), .delay = std::chrono::milliseconds(delay_ms(rng))}; break;
        }
        run_instance(argv, plan, rc, log);
    }
    const int chaos_kills = log.kills;
    stop_rebalancing = true;
    if (rebalancer.joinable()) rebalancer.join();
    if (proxy) proxy->pause();
    // To the end of the input; an instance that ends on its own is started again (counted).
    const auto drain_deadline = std::chrono::steady_clock::now() + 40s;
    while (!done(rc) && std::chrono::steady_clock::now() < drain_deadline)
        run_instance(argv, {.life = std::chrono::duration_cast<std::chrono::milliseconds>(
                                drain_deadline - std::chrono::steady_clock::now())},
                     rc, log);

    // The output as read_committed readers see it (directly, not through the proxy).
    const auto expected = expected_output();
    int misplaced = 0;
    const auto by_kwire = read_output(rc.cluster().addresses(), expected.size(), misplaced);
    std::size_t stored = 0;  // every output record in the log, aborted ones included
    for (int p = 0; p < partitions; ++p)
        for (const auto& b : rc.log(output, p))
            for (const auto& v : b.values)
                if (v && !v->empty() && std::isdigit(static_cast<unsigned char>(v->front()))) ++stored;
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("[ chaos ] ctp/%s seed=%llu records=%zu kills=%d open_at_kill=%d self_aborts=%d exits=%d "
                "stored=%zu (beyond the input: %zu) read=%zu %.1fs%s%s\n",
                s.name.c_str(), static_cast<unsigned long long>(seed), expected.size(), chaos_kills, log.open_at_kill,
                log.aborted, log.exits, stored, stored - std::min(stored, expected.size()), by_kwire.size(), seconds,
                proxy ? "\n[ chaos ]   proxy: " : "", proxy ? proxy->report().c_str() : "");
    std::fflush(stdout);

    const std::string replay = "\nreplay: KWIRE_CHAOS_SEED=" + std::to_string(seed);
    ASSERT_TRUE(done(rc)) << "the service did not reach the end of the input; last exit: " << log.last_exit << replay;
    EXPECT_EQ(compare(expected, by_kwire), compare(expected, expected)) << "kwire read_committed" << replay;
    EXPECT_EQ(misplaced, 0) << "output records on another partition than their input" << replay;
    std::map<std::pair<std::string, int>, std::int64_t> ends;
    for (int p = 0; p < partitions; ++p) ends[{input, p}] = records_per_partition;
    EXPECT_EQ(rc.committed_offsets(group), ends) << replay;
    EXPECT_GT(log.open_at_kill, 0) << "no instance was killed inside a transaction: the scenario tested nothing"
                                   << replay;
    EXPECT_GT(stored, expected.size()) << "no record of an aborted transaction reached the log: read_committed "
                                          "was not put to the test"
                                       << replay;
    if (s.rebalances) {
        EXPECT_GT(log.aborted, 0) << "no transaction failed on a rebalance: the abort and rewind went untested" << replay;
    }
    if (proxy) {
        EXPECT_GT(proxy->kills(), 0u) << "no connection was killed: the proxy tested nothing" << replay;
    }
    if (!s.through_proxy) {
        EXPECT_EQ(log.exits, 0) << "an instance ended on its own: " << log.last_exit << replay;
    }

    if (peers::program_available("kcat")) {  // an independent read_committed reader: librdkafka's
        std::vector<std::string> by_kcat;
        for (int p = 0; p < partitions; ++p)
            for (const auto& r : peers::kcat_consume(rc.cluster().bootstrap(), output, p,
                                                      {.extra_args = {"-X", "isolation.level=read_committed"}}))
                by_kcat.push_back(r.value);
        std::sort(by_kcat.begin(), by_kcat.end());
        EXPECT_EQ(compare(expected, by_kcat), compare(expected, expected)) << "kcat read_committed" << replay;
    }
}

TEST(ConsumeTransformProduce, ExactlyOnceAcrossKillsTransactionsV2) { run({.name = "v2"}); }

TEST(ConsumeTransformProduce, ExactlyOnceAcrossKillsTransactionsV1) { run({.name = "v1", .v2 = false}); }

TEST(ConsumeTransformProduce, ExactlyOnceAcrossKillsThroughTheChaosProxy) {
    run({.name = "v2-proxy", .through_proxy = true});
}

TEST(ConsumeTransformProduce, ExactlyOnceAcrossKillsAndRebalances) { run({.name = "v2-rebalances", .rebalances = true}); }

}  // namespace
}  // namespace kwire::test
