// The charts of kwire-bench --plot (see plot.hpp). Latency charts are percentile plots in the
// HdrHistogram style: x is the latency (log scale), y the fraction of sends at or below it,
// spread as 1/(1-q) on a log scale so that p99 and p99.9 get as much room as the median.
#include "plot.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace kwire::bench {

namespace {

/// Quantile points of the latencies (every round's, pooled): 400 up to q = 0.99, then every
/// sample beyond (at most 2000).
void write_cdf(const std::string& path, std::vector<std::uint64_t> sorted) {
    std::sort(sorted.begin(), sorted.end());
    std::ofstream f(path);
    const auto n = sorted.size();
    if (n == 0) return;
    auto point = [&](std::size_t i) {
        const double q = static_cast<double>(i + 1) / static_cast<double>(n + 1);
        f << static_cast<double>(sorted[i]) / 1000.0 << ' ' << 1.0 / (1.0 - q) << '\n';
    };
    const auto body = static_cast<std::size_t>(0.99 * static_cast<double>(n));
    const std::size_t step = std::max<std::size_t>(1, body / 400);
    for (std::size_t i = 0; i < body; i += step) point(i);
    const std::size_t tail_step = std::max<std::size_t>(1, (n - body) / 2000);
    for (std::size_t i = body; i < n; i += tail_step) point(i);
    point(n - 1);
}

std::string quoted(std::string s) {
    for (auto& c : s)
        if (c == '"') c = '\'';
    return "\"" + s + "\"";
}

/// The spinning ping-pong floor (awaited sends) or the relay (end to end), from any scenario.
const entrant* floor_of(const std::vector<scenario_result>& results, bool relay) {
    for (const auto& r : results)
        for (const auto& e : r.entrants)
            if (e.client == "floor" && e.config.spin && e.config.relay == relay && !e.latency_ns.empty()) return &e;
    return nullptr;
}

}  // namespace

std::vector<std::string> write_plots(const std::string& dir, const std::vector<scenario_result>& results) {
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    std::ofstream gp(dir + "/plots.gnuplot");
    gp << "# Written by kwire-bench --plot; run: gnuplot plots.gnuplot (in this directory)\n"
       << "set terminal pngcairo size 1000,600 font 'sans,10' noenhanced\nset grid\nset key top left\n";
    std::vector<std::string> pngs;
    const entrant* ping_pong = floor_of(results, false);
    const entrant* relay = floor_of(results, true);
    if (ping_pong) write_cdf(dir + "/floor.cdf", ping_pong->latency_ns);
    if (relay) write_cdf(dir + "/floor-relay.cdf", relay->latency_ns);

    for (const auto& r : results) {
        const auto& s = r.s;
        if (s.kind != scenario_kind::latency && s.kind != scenario_kind::e2e) continue;
        std::vector<std::pair<std::string, std::string>> series;  // file, title
        const int k = find_entrant(r, "kwire"), b = best_rival(r, &round_stats::p50);
        for (int i : {k, b}) {
            if (i < 0) continue;
            const auto& e = r.entrants[static_cast<std::size_t>(i)];
            const std::string file = s.name + "-" + e.client + ".cdf";
            write_cdf(dir + "/" + file, e.latency_ns);
            series.emplace_back(file, e.client + " (" + e.config.label + ")");
        }
        const bool e2e = s.kind == scenario_kind::e2e;
        if (e2e ? relay != nullptr : ping_pong != nullptr)
            series.emplace_back(e2e ? "floor-relay.cdf" : "floor.cdf",
                                std::string(e2e ? "floor: TCP relay through two server threads"
                                                : "floor: TCP ping-pong, spinning client") +
                                    " (" + std::to_string(results.front().request_bytes) + "/" +
                                    std::to_string(results.front().response_bytes) + " B)");
        if (series.empty()) continue;
        const std::string png = s.name + ".png";
        gp << "set output '" << png << "'\n"
           << "set title " << quoted(s.name + (s.kind == scenario_kind::e2e ? ": send on one client to poll on another"
                                                                            : ": awaited send to delivery report") +
                                     (s.instant ? " (in-bench instant broker)" : ""))
           << "\nset logscale x\nset logscale y\nset xlabel 'latency (us)'\nset ylabel 'percentile'\n"
           << "set ytics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000)\nset yrange [1:*]\n"
           << "plot ";
        for (std::size_t i = 0; i < series.size(); ++i)
            gp << (i ? ", " : "") << quoted(series[i].first) << " using 1:2 with lines lw 2 title "
               << quoted(series[i].second);
        gp << "\nunset logscale\nunset ytics\nset ytics\nset yrange [*:*]\n";
        pngs.push_back(png);
    }

    // Throughput: median and min-max, kwire and librdkafka's best configuration, per scenario;
    // producers and consumers apart (the consumers' figures are several times larger).
    auto bars = [&](const std::string& name, const std::string& title, auto wanted) {
        std::ofstream f(dir + "/" + name + ".dat");
        bool any = false;
        for (const auto& r : results) {
            if (!wanted(r.s)) continue;
            const int k = find_entrant(r, "kwire"), b = best_rival(r, &round_stats::msgs_per_s);
            auto cols = [&](int i) {
                if (i < 0) return std::string("0 0 0 ");
                const auto& e = r.entrants[static_cast<std::size_t>(i)];
                const figure m = &round_stats::msgs_per_s;
                return std::to_string(e.med(m) / 1e6) + " " + std::to_string(e.lo(m) / 1e6) + " " +
                       std::to_string(e.hi(m) / 1e6) + " ";
            };
            f << quoted(r.s.name) << ' ' << cols(k) << cols(b) << '\n';
            any = true;
        }
        if (!any) return;
        gp << "set output '" << name << ".png'\nset title " << quoted(title + ": median, bars min-max over the rounds")
           << "\nset ylabel 'million records/s'\nset xlabel ''\nset style data histograms\n"
           << "set style histogram errorbars gap 2 lw 1\nset style fill solid 0.6 border -1\nset yrange [0:*]\n"
           << "plot '" << name << ".dat' using 2:3:4:xtic(1) title 'kwire', '' using 5:6:7 title "
           << "'librdkafka (best configuration)'\nset style data lines\n";
        pngs.push_back(name + ".png");
    };
    bars("throughput-produce", "produce throughput",
         [](const scenario& s) { return s.kind == scenario_kind::throughput; });
    bars("throughput-consume", "consume throughput",
         [](const scenario& s) { return s.kind == scenario_kind::consume || s.kind == scenario_kind::commit; });
    gp.close();
    const std::string cmd = "cd '" + dir + "' && gnuplot plots.gnuplot";
    if (std::system(cmd.c_str()) != 0) {
        std::cerr << "kwire-bench: gnuplot failed or is missing (Debian: gnuplot-nox); data left in " << dir << std::endl;
        return {};
    }
    for (auto& p : pngs) p = dir + "/" + p;
    return pngs;
}

}  // namespace kwire::bench
