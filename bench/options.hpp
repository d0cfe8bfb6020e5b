// kwire-bench's command line, its scenarios, and the configurations each client runs them in.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bench_common.hpp"

// kwire-bench-kwire is built with KWIRE_BENCH_WITH_RDKAFKA=0 (no librdkafka: kwire's side only).
#ifndef KWIRE_BENCH_WITH_RDKAFKA
#define KWIRE_BENCH_WITH_RDKAFKA 1
#endif

namespace kwire::bench {

struct options {
    std::string bootstrap;
    bool json = false;
    std::string plot_dir;  ///< --plot DIR: PNGs with gnuplot (plot.hpp)
    std::vector<std::string> only;
    std::size_t messages = 1000000;
    std::size_t latency_messages = 10000;
    std::size_t size = 100;
    int rounds = 5;
    int partitions = 16;
    int brokers = 3;
    int consumer_partitions = 32;
    std::size_t commit_messages = 0;  // 0: the defaults (see usage)
    bool run_client[2] = {true, true};  // kwire, librdkafka
    int compression_threads = 2;
    int spin_us = 200;
    bool metrics = false;  // --metrics: producer scenarios also run kwire with a metrics registry
    bool floor = true;   // instant-acksall: also the TCP floor (--no-floor: clients only, e.g. under strace)
    bool reject = true;  // exit 3 when the rival ran > 30% slower than in its calibration round
};

options parse(int argc, char** argv);

/// The scenarios to run, in order (the default set unless --scenario/--consumer name others).
std::vector<scenario> scenarios_for(const options& o);

/// kwire's one configuration for a scenario.
client_config kwire_config(const scenario& s);

/// librdkafka's configurations for a scenario: those a tuned user would try. kwire is compared
/// with the best of them, per figure, in the same run.
std::vector<client_config> rival_configs(const scenario& s);

}  // namespace kwire::bench
