// The consumer-group checker on scripted histories: each anomaly class is seen when it
// happens, and a history without one counts none (repeats inside the uncommitted window, a
// partition moving between members, a commit answered before its lines were read).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support_group_checker.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::captured_line;
using kwire::test::chaos_clock;
using kwire::test::group_checker;

const chaos_clock::time_point t0 = chaos_clock::now();

/// Partition 0 holding "p0-0" .. "p0-9".
std::map<std::int32_t, std::vector<std::string>> ten_records() {
    std::vector<std::string> values;
    for (int i = 0; i < 10; ++i) values.push_back("p0-" + std::to_string(i));
    return {{0, values}};
}

/// Run `run` prints offsets [from, to] of partition 0, one line every 10 ms from `at`.
void prints(group_checker& c, int run, int from, int to, std::chrono::milliseconds at) {
    for (int o = from; o <= to; ++o)
        c.printed(run, captured_line{"0 " + std::to_string(o) + " p0-" + std::to_string(o), t0 + at + (o - from) * 10ms});
}

void commit(group_checker& c, std::int64_t offset, std::chrono::milliseconds asked) {
    c.observed_commit(0, offset, t0 + asked, t0 + asked + 5ms);
}

TEST(GroupChecker, ACleanHistoryWithRepeatsInsideTheWindowHasNoAnomaly) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 6, 100ms);  // 100..160 ms
    commit(c, 4, 300ms);        // commits lag behind: 4, 5 and 6 are read, not committed
    // Run 0 crashes; run 1 resumes at the commit and re-reads 4..6.
    c.run_started(1, t0 + 1000ms);
    prints(c, 1, 4, 9, 1500ms);
    commit(c, 10, 2000ms);
    EXPECT_EQ(c.check().total(), 0) << c.report();
    EXPECT_TRUE(c.complete(true));
    EXPECT_NE(c.report().find("repeats=3"), std::string::npos) << c.report();
}

TEST(GroupChecker, CountsLostAndWrongRecords) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 6, 100ms);
    c.printed(0, captured_line{"0 7 p0-8", t0 + 200ms});  // the value of another offset
    c.printed(0, captured_line{"garbage", t0 + 210ms});
    const auto a = c.check();
    EXPECT_EQ(a.lost, 2);  // 8 and 9
    EXPECT_EQ(a.wrong_value, 2);
    EXPECT_FALSE(c.complete(false));
}

TEST(GroupChecker, CountsACommitMovingBackwards) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 9, 0ms);
    commit(c, 6, 200ms);
    commit(c, 4, 300ms);   // asked after 6 was answered
    commit(c, 10, 400ms);
    EXPECT_EQ(c.check().commit_regression, 1) << c.report();
    EXPECT_EQ(c.check().total(), 1);
}

TEST(GroupChecker, OverlappingObservationsAreNotARegression) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 9, 0ms);
    c.observed_commit(0, 6, t0 + 200ms, t0 + 260ms);
    c.observed_commit(0, 4, t0 + 210ms, t0 + 220ms);  // asked before 6 was answered: no order between them
    EXPECT_EQ(c.check().commit_regression, 0) << c.report();
}

TEST(GroupChecker, CountsACommitAheadOfWhatWasPrinted) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 4, 0ms);
    commit(c, 8, 100ms);        // 5..7 not printed until 2 s later
    prints(c, 0, 5, 9, 2000ms);
    EXPECT_EQ(c.check().commit_ahead, 1) << c.report();
}

TEST(GroupChecker, CountsARestartBelowTheCommitAndItsRepeats) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 5, 0ms);
    commit(c, 6, 500ms);
    c.run_started(1, t0 + 1000ms);  // after the commit of 6 was seen
    prints(c, 1, 3, 9, 1500ms);     // re-reads 3, 4, 5: already committed
    const auto a = c.check();
    EXPECT_EQ(a.resume_below_commit, 1) << c.report();
    EXPECT_EQ(a.repeat_beyond_window, 3) << c.report();
}

TEST(GroupChecker, CountsARestartAboveTheCommit) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    prints(c, 0, 0, 4, 0ms);
    commit(c, 5, 500ms);
    c.run_started(1, t0 + 1000ms);
    prints(c, 1, 7, 9, 1500ms);  // starts at 7: 5 and 6 skipped
    commit(c, 5, 1600ms);        // asked after its first line: the commit it resumed from was <= 5
    const auto a = c.check();
    EXPECT_EQ(a.resume_skip, 1) << c.report();
    EXPECT_EQ(a.lost, 2) << c.report();
}

TEST(GroupChecker, APartitionMovingAwayAndBackIsANewStartNotAnAnomaly) {
    group_checker c(ten_records(), 200ms);
    c.run_started(0, t0);
    c.run_started(1, t0);
    prints(c, 0, 0, 3, 0ms);
    commit(c, 4, 100ms);
    prints(c, 1, 4, 6, 1000ms);  // the partition moved to run 1
    commit(c, 7, 1100ms);
    prints(c, 0, 7, 9, 2000ms);  // and back to run 0, at the commit
    commit(c, 10, 2200ms);
    EXPECT_EQ(c.check().total(), 0) << c.report();
}

}  // namespace
