// What kwire-bench keeps of a scenario's rounds, and how it reports them: per client
// configuration the median and min-max over the counted rounds, kwire's ratios against
// librdkafka at its best (the best configuration per figure), each target met or missed, the
// calibration check, and the JSON lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace kwire::bench {

struct round_stats {
    double msgs_per_s = 0;
    double mb_per_s = 0;          // value bytes / s
    double p50 = 0, p99 = 0, p999 = 0;  // us
    double commits = 0;           // commit scenarios: commit requests sent
    double commit_callbacks = 0;  // librdkafka: offset_commit_cb calls
};

using figure = double round_stats::*;

/// One client in one configuration within a scenario. client "floor" is the TCP ping-pong.
struct entrant {
    std::string client;  // kwire | librdkafka | floor
    client_config config;
    std::optional<round_stats> calibration;   // the calibration round (not counted)
    std::vector<round_stats> rounds;          // the counted rounds
    std::vector<std::uint64_t> latency_ns;    // every counted round's latencies, for the CDF plots
    std::size_t delivered = 0;
    std::size_t errors = 0;
    std::int64_t log_mismatch = 0;  // sum over rounds of |log growth - acknowledged|
    std::vector<std::string> notes;

    double med(figure f) const;
    double lo(figure f) const;
    double hi(figure f) const;
};

struct scenario_result {
    scenario s;
    std::vector<entrant> entrants;  // kwire first, then librdkafka's configurations, then floors
    std::vector<std::string> rejected;  // why the run is rejected (the machine was busy); empty if not
    std::size_t request_bytes = 0, response_bytes = 0;  // instant: what the floor replayed
};

/// Whether a higher value of the figure is better (throughput) or a lower one (latency).
bool higher_is_better(figure f);
/// The librdkafka entrant with the best median of `f`, or -1.
int best_rival(const scenario_result& r, figure f);
/// The entrant of this client (the first one), or -1.
int find_entrant(const scenario_result& r, const std::string& client);

/// Compares the rival's best configuration (by the scenario's main figure) with its calibration
/// round, and records a rejection when it ran more than 30% slower (not at a steady e2e rate,
/// where the latency is queueing).
void check_calibration(scenario_result& r);

/// The scenario's table, ratios and target lines.
void print_scenario(const scenario_result& r, std::FILE* out);
/// The scenario's target line ("targets scenario: target (value): met/MISSED; ..."); empty without ratios.
std::string target_line(const scenario_result& r);
/// One JSON line per entrant, then one for the scenario (ratios, targets, rejection).
std::vector<std::string> json_lines(const scenario_result& r);

}  // namespace kwire::bench
