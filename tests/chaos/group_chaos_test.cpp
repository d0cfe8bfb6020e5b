// Consumer groups under chaos (issue 11): `kwire consume` members crash (SIGKILL) and restart,
// or stop cleanly, during fetches, rebalances and commits, behind the chaos proxy; the group
// checker counts every anomaly class (support_group_checker.hpp). Classic groups run against
// librdkafka's mock (eager range, cooperative-sticky, static members), KIP-848 groups against
// the scripted cluster's consumer-protocol coordinator; each with interval(0), interval(100ms)
// and manual commits (manual: only the clean stops' close() commits).
//
// KWIRE_CHAOS_SEED replays a run (every scenario prints its seed); KWIRE_CHAOS_SECONDS sets how
// long the chaos lasts per scenario (default 3; the drain after it takes a few seconds more).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "subprocess.hpp"
#include "support_chaos_env.hpp"
#include "support_group_clusters.hpp"
#include "support_group_scenario.hpp"

namespace kwire::test {
namespace {

using namespace std::chrono_literals;

std::uint64_t group_chaos_seed() { return chaos_seed_from_env(); }
std::chrono::milliseconds group_chaos_duration() { return chaos_duration_from_env(3s); }

/// The run's settings; KWIRE_CHAOS_RESET_SHARE (0..1) sets how many kills reset rather than close.
group_run_settings settings() {
    group_run_settings rs;
    rs.seed = group_chaos_seed();
    rs.chaos = group_chaos_duration();
    if (const char* r = std::getenv("KWIRE_CHAOS_RESET_SHARE")) rs.reset_share = std::atof(r);
    return rs;
}

void report_and_judge(const group_scenario& s, const group_run_result& r, std::uint64_t seed) {
    std::printf("[ chaos ] group/%s seed=%llu chaos=%lldms %s | crashes=%d clean_stops=%d runs=%d expired=%d "
                "gave_up=%d drained=%s %.1fs\n[ chaos ]   %s\n[ chaos ]   %s\n",
                s.name.c_str(), static_cast<unsigned long long>(seed),
                static_cast<long long>(group_chaos_duration().count()), r.checker_report.c_str(), r.crashes,
                r.clean_stops, r.runs, r.expired, r.gave_up, r.drained ? "yes" : "NO", r.seconds,
                r.proxy_settings.c_str(), r.proxy_report.c_str());
    if (std::getenv("KWIRE_CHAOS_TRACE") || r.anomaly_total() != 0) std::printf("%s", r.runs_summary.c_str());
    if (std::getenv("KWIRE_CHAOS_TRACE")) std::printf("%s", r.timeline.c_str());
    std::fflush(stdout);
    EXPECT_EQ(r.anomaly_total(), 0) << "group/" << s.name << ": " << r.checker_report << " gave_up=" << r.gave_up
                                    << " drained=" << r.drained << "\n"
                                    << (r.gave_up_stderr.empty() ? "" : "first member that gave up: " + r.gave_up_stderr)
                                    << "\nreplay: KWIRE_CHAOS_SEED=" << seed;
}

group_scenario scenario(std::string name, std::string commit, std::string assignor = {}, bool static_members = false) {
    group_scenario s;
    s.group = "chaos-" + name;
    s.name = std::move(name);
    s.commit = std::move(commit);
    s.assignor = std::move(assignor);
    s.static_members = static_members;
    return s;
}

void run_classic(const group_scenario& s) {
    if (!peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed (reads the mock's partitions back)";
    const auto seed = group_chaos_seed();
    auto cluster = make_mock_group_cluster(s.topic, s.partitions, s.group);
    report_and_judge(s, run_group_scenario(s, *cluster, settings()), seed);
}

void run_consumer_protocol(const group_scenario& s) {
    const auto seed = group_chaos_seed();
    auto cluster = make_scripted_group_cluster(s.topic, s.partitions, s.group, 200, 1500ms);
    report_and_judge(s, run_group_scenario(s, *cluster, settings()), seed);
}

TEST(GroupChaos, ClassicEagerRangeCommittingEveryRecord) { run_classic(scenario("classic-range-interval0", "interval:0", "range")); }

TEST(GroupChaos, ClassicCooperativeStickyCommittingEvery100ms) {
    run_classic(scenario("classic-cooperative-interval100", "interval:100", "cooperative-sticky"));
}

TEST(GroupChaos, ClassicEagerRangeWithManualCommits) { run_classic(scenario("classic-range-manual", "manual", "range")); }

TEST(GroupChaos, ClassicStaticMembersRejoining) {
    run_classic(scenario("classic-static-cooperative-interval0", "interval:0", "cooperative-sticky", true));
}

TEST(GroupChaos, ConsumerProtocolCommittingEveryRecord) {
    run_consumer_protocol(scenario("consumer-interval0", "interval:0"));
}

TEST(GroupChaos, ConsumerProtocolCommittingEvery100ms) {
    run_consumer_protocol(scenario("consumer-interval100", "interval:100"));
}

TEST(GroupChaos, ConsumerProtocolWithManualCommits) { run_consumer_protocol(scenario("consumer-manual", "manual")); }

}  // namespace
}  // namespace kwire::test
