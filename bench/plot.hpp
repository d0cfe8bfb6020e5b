// kwire-bench --plot DIR: PNG charts of a run, drawn by gnuplot (Debian's gnuplot-nox): per
// latency scenario the latency distributions of kwire, of librdkafka's best configuration (by
// p50) and of the TCP floor on one chart, and the throughput of every throughput and consume
// scenario with its min-max spread over the rounds. The data and the gnuplot script are left
// beside the PNGs, so a chart can be redrawn or restyled without running the bench again.
#pragma once

#include <string>
#include <vector>

#include "report.hpp"

namespace kwire::bench {

/// Writes the charts into `dir` (created if missing); returns the PNGs made. Without gnuplot it
/// says so on stderr and returns none (the data files are still written).
std::vector<std::string> write_plots(const std::string& dir, const std::vector<scenario_result>& results);

}  // namespace kwire::bench
