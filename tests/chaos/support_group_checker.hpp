// The consumer-group half of the chaos checker (Jepsen-style): what every member printed, when
// each member run started, and the group's committed offsets as an observer polled them, judged
// against the partitions' true contents. It counts anomalies per class rather than stopping at
// the first, so a report says how wrong a run was, not only that it was.
//
// Time. Each printed line carries the moment the test read it from the pipe, which is after
// the member printed it; each commit observation carries when its OffsetFetch was sent and
// when its answer came, bracketing the moment the coordinator read its store. The checks only
// use orderings these bounds make certain, except where noted.
//
// Anomaly classes:
//  - lost:                 a record (partition, offset below the end) nobody printed.
//  - wrong_value:          a printed (partition, offset) whose value is not the record stored there.
//  - commit_regression:    the committed offset of a partition went backwards between two
//                          observations (the later one asked after the earlier one was answered).
//  - commit_ahead:         a committed offset C while some offset below C had not been printed:
//                          its first line arrived more than `line_slack` after the observation
//                          (kwire consume flushes a record before acknowledging it, so a commit
//                          can only cover lines already in the pipe; the slack covers the test's
//                          reader threads, the one timing assumption here).
//  - resume_below_commit:  a member run started reading a partition (the first line of a run of
//                          consecutive offsets) below an offset committed before that run began:
//                          before the process started, or `line_slack` before the line.
//  - resume_skip:          a member run started reading a partition above the committed offset:
//                          an observation asked after its first line was read still shows a
//                          commit below where it started (commits only grow, so it resumed
//                          above the commit and skipped what lay between).
//  - repeat_beyond_window: a record printed again at an offset the group had committed past
//                          before the repeating run began (same bound as resume_below_commit):
//                          repeats after a crash must stay within what was read but not committed.
// Counted but not anomalies: repeats (records printed more than once), member runs, observations.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support_process_group.hpp"

namespace kwire::test {

struct group_anomalies {
    std::int64_t lost = 0, wrong_value = 0, commit_regression = 0, commit_ahead = 0, resume_below_commit = 0,
                 resume_skip = 0, repeat_beyond_window = 0;
    std::int64_t total() const {
        return lost + wrong_value + commit_regression + commit_ahead + resume_below_commit + resume_skip +
               repeat_beyond_window;
    }
};

class group_checker {
public:
    /// `truth[p][o]`: the value stored at offset o of partition p (every offset from 0 to the end).
    explicit group_checker(std::map<std::int32_t, std::vector<std::string>> truth,
                           std::chrono::milliseconds line_slack = std::chrono::milliseconds(1000));

    /// A member process started (`run` numbers runs; a restarted member is a new run).
    void run_started(int run, chaos_clock::time_point at);
    /// A line printed by `run`, as "<partition> <offset> <value>" (kwire consume -f '%p %o %s\n').
    /// Lines that do not parse count as wrong_value.
    void printed(int run, const captured_line& line);
    /// The committed offset of `partition` (-1: none) as an OffsetFetch sent at `asked` and
    /// answered at `answered` returned it.
    void observed_commit(std::int32_t partition, std::int64_t committed, chaos_clock::time_point asked,
                         chaos_clock::time_point answered);

    /// Whether every record has been printed and, if `committed_too`, committed.
    bool complete(bool committed_too) const;
    group_anomalies check() const;
    /// "lost=.. wrong_value=.. ... | repeats=.. runs=.. lines=.. commits_observed=.."
    std::string report() const;
    /// The run as a timeline (ms since `origin`): each member run's start, its runs of consecutive
    /// offsets per partition, and each change of a partition's observed commit. For debugging.
    std::string timeline(chaos_clock::time_point origin) const;

private:
    struct line_seen {
        int run;
        std::int32_t partition;
        std::int64_t offset;
        chaos_clock::time_point at;
    };
    struct observation {
        std::int64_t committed;
        chaos_clock::time_point asked, answered;
    };
    /// The highest commit of `partition` whose answer came before `t` (-1: none).
    std::int64_t committed_before(std::int32_t partition, chaos_clock::time_point t) const;

    std::map<std::int32_t, std::vector<std::string>> truth_;
    std::chrono::milliseconds slack_;
    std::map<int, chaos_clock::time_point> runs_;
    std::vector<line_seen> lines_;
    std::int64_t unparsable_ = 0, wrong_value_ = 0;
    std::map<std::int32_t, std::vector<observation>> commits_;
};

}  // namespace kwire::test
