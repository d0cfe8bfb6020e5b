// One consumer-group chaos scenario: `kwire consume` member processes in one group, behind the
// chaos proxy, on a topic the test keeps appending numbered records to, while a seeded nemesis
// crashes members (SIGKILL: they never leave, the coordinator must time them out) or stops them
// cleanly (SIGTERM: commit, leave), and restarts them -- at whatever moment that lands in:
// a fetch, a rebalance, a commit. An observer polls the committed offsets straight from the
// coordinator throughout. Then the chaos pauses, every member runs again until the group has
// printed (and, unless commits are manual, committed) every record, the members stop cleanly,
// and the group checker judges the whole run (support_group_checker.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "support_group_checker.hpp"
#include "support_group_clusters.hpp"

namespace kwire::test {

struct group_scenario {
    std::string name;
    std::string topic = "orders";
    std::string group;                  ///< must be the group the cluster observes
    std::string commit = "interval:0";  ///< kwire consume --commit
    std::string assignor;               ///< classic: partition.assignment.strategy; empty: default
    bool static_members = false;        ///< group.instance.id per member (kept across restarts)
    int members = 3;
    int partitions = 4;
};

struct group_run_settings {
    std::uint64_t seed = 1;
    std::chrono::milliseconds chaos{3000};
    std::chrono::milliseconds drain_limit{30000};
    double fault_probability = 0.04;  ///< the chaos proxy's, per frame
    double reset_share = 0.5;         ///< the chaos proxy's: kills that reset (RST) rather than close
};

struct group_run_result {
    group_anomalies anomalies;
    /// Member processes that exited on their own, not stopped by the nemesis (a client giving up).
    int gave_up = 0;
    std::string gave_up_stderr;  ///< the first such member's stderr (excerpt)
    bool drained = false;        ///< every record printed (and committed, unless manual) in time
    int crashes = 0, clean_stops = 0, runs = 0, expired = 0;
    std::string checker_report, proxy_report, proxy_settings;
    std::string runs_summary;  ///< a line per member run (how it ended, what it printed)
    std::string timeline;      ///< group_checker::timeline, plus the cluster's view at the end

    double seconds = 0;

    std::int64_t anomaly_total() const { return anomalies.total() + gave_up + (drained ? 0 : 1); }
};

/// Runs the scenario against `cluster`. The kwire binary is ${KWIRE_BINARY_DIR}/bin/kwire.
group_run_result run_group_scenario(const group_scenario& scenario, group_cluster& cluster,
                                    const group_run_settings& settings);

}  // namespace kwire::test
