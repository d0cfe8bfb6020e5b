// Medians, spreads, ratios, targets and JSON for kwire-bench (see report.hpp).
//
// The targets (issue 15; ratios are kwire / librdkafka at its best in the same run):
//   awaited send acks=all     p50 <= 0.75x, p99 <= 0.6x (instant-acksall and latency-acksall), and
//                             kwire's p50 at most 10 us above the spinning TCP floor (instant-acksall:
//                             a broker that costs ~nothing, so the rest is the client's own)
//   e2e-one, instant-e2e      p50 <= 0.5x, p99 <= 0.5x
//   throughput                >= 1.5x msgs/s; throughput-lz4/zstd (compression_executor of 2) >= 1.8x
//   consume, commit-interval0 >= 2x msgs/s
// txn-* are reported, not targeted; their latency figures are each commit's (call -> completion).
#include "report.hpp"

#include <algorithm>
#include <cmath>

namespace kwire::bench {

namespace {

std::vector<double> values(const std::vector<round_stats>& rounds, figure f) {
    std::vector<double> v;
    for (const auto& r : rounds) v.push_back(r.*f);
    std::sort(v.begin(), v.end());
    return v;
}

bool latency_kind(const scenario& s) { return s.kind == scenario_kind::latency || s.kind == scenario_kind::e2e; }

/// The figure that decides the calibration check and the "best" configuration in the plots.
figure main_figure(const scenario& s) { return latency_kind(s) ? &round_stats::p50 : &round_stats::msgs_per_s; }

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string spread(const entrant& e, figure f, const char* number) {
    return fmt(number, e.med(f)) + " [" + fmt(number, e.lo(f)) + "-" + fmt(number, e.hi(f)) + "]";
}

struct target {
    std::string what;  // e.g. "p50 <= 0.75x"
    double value = 0;
    double limit = 0;
    bool at_least = false;
    bool unit_us = false;  // an absolute figure in us, not a ratio
    bool met() const { return at_least ? value >= limit : value <= limit; }
    std::string text() const {
        return what + " (" + (unit_us ? fmt("%+.1f us", value) : fmt("%.2fx", value)) + "): " + (met() ? "met" : "MISSED");
    }
};

double ratio(const scenario_result& r, figure f) {
    const int k = find_entrant(r, "kwire"), b = best_rival(r, f);
    if (k < 0 || b < 0) return 0;
    const double d = r.entrants[static_cast<std::size_t>(b)].med(f);
    return d > 0 ? r.entrants[static_cast<std::size_t>(k)].med(f) / d : 0;
}

/// The floor a client's latency is measured against: the relay end to end, else the spinning
/// ping-pong; -1 if it did not run.
int floor_entrant(const scenario_result& r) {
    const bool e2e = r.s.kind == scenario_kind::e2e;
    for (std::size_t i = 0; i < r.entrants.size(); ++i) {
        const auto& e = r.entrants[i];
        if (e.client == "floor" && e.config.spin && e.config.relay == e2e && !e.rounds.empty()) return static_cast<int>(i);
    }
    return -1;
}

/// A client's figure over the floor's (the best librdkafka configuration for that figure), or NaN.
double over_floor(const scenario_result& r, const std::string& client, figure f) {
    const int c = client == "librdkafka" ? best_rival(r, f) : find_entrant(r, client);
    const int floor = floor_entrant(r);
    if (c < 0 || floor < 0) return std::nan("");
    return r.entrants[static_cast<std::size_t>(c)].med(f) - r.entrants[static_cast<std::size_t>(floor)].med(f);
}

std::vector<target> targets(const scenario_result& r) {
    std::vector<target> t;
    if (find_entrant(r, "kwire") < 0 || best_rival(r, main_figure(r.s)) < 0) return t;
    const auto& n = r.s.name;
    if (n == "instant-acksall" || n == "latency-acksall") {
        t.push_back({"p50 <= 0.75x", ratio(r, &round_stats::p50), 0.75});
        t.push_back({"p99 <= 0.60x", ratio(r, &round_stats::p99), 0.6});
    }
    if (n == "instant-acksall") {
        const double over = over_floor(r, "kwire", &round_stats::p50);
        if (!std::isnan(over)) t.push_back({"p50 <= floor + 10 us", over, 10, false, true});
    }
    if (n == "e2e-one" || n == "instant-e2e") {
        t.push_back({"p50 <= 0.50x", ratio(r, &round_stats::p50), 0.5});
        t.push_back({"p99 <= 0.50x", ratio(r, &round_stats::p99), 0.5});
    }
    if (n == "throughput") t.push_back({"msgs/s >= 1.50x", ratio(r, &round_stats::msgs_per_s), 1.5, true});
    if ((n == "throughput-lz4" || n == "throughput-zstd") && r.s.compression_threads == 2)
        t.push_back({"msgs/s >= 1.80x", ratio(r, &round_stats::msgs_per_s), 1.8, true});
    if (n == "consume" || n == "commit-interval0")
        t.push_back({"msgs/s >= 2.00x", ratio(r, &round_stats::msgs_per_s), 2.0, true});
    return t;
}

std::string best_label(const scenario_result& r, figure f) {
    const int b = best_rival(r, f);
    return b < 0 ? std::string("-") : r.entrants[static_cast<std::size_t>(b)].config.label;
}

/// The latency columns' and keys' prefix: txn scenarios time commits, not records.
const char* latency_prefix(const scenario& s) { return s.kind == scenario_kind::txn ? "commit_" : ""; }

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

double entrant::med(figure f) const {
    const auto v = values(rounds, f);
    if (v.empty()) return 0;
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double entrant::lo(figure f) const {
    const auto v = values(rounds, f);
    return v.empty() ? 0 : v.front();
}
double entrant::hi(figure f) const {
    const auto v = values(rounds, f);
    return v.empty() ? 0 : v.back();
}

bool higher_is_better(figure f) { return f == &round_stats::msgs_per_s || f == &round_stats::mb_per_s; }

int best_rival(const scenario_result& r, figure f) {
    int best = -1;
    for (std::size_t i = 0; i < r.entrants.size(); ++i) {
        const auto& e = r.entrants[i];
        if (e.client != "librdkafka" || e.rounds.empty()) continue;
        if (best < 0) {
            best = static_cast<int>(i);
            continue;
        }
        const double v = e.med(f), b = r.entrants[static_cast<std::size_t>(best)].med(f);
        if (higher_is_better(f) ? v > b : v < b) best = static_cast<int>(i);
    }
    return best;
}

int find_entrant(const scenario_result& r, const std::string& client) {
    for (std::size_t i = 0; i < r.entrants.size(); ++i)
        if (r.entrants[i].client == client && !r.entrants[i].rounds.empty()) return static_cast<int>(i);
    return -1;
}

void check_calibration(scenario_result& r) {
    // At a steady rate the latency is queueing, which swings between rounds on any machine: not
    // a measure of how busy it is.
    if (r.s.kind == scenario_kind::e2e && r.s.e2e_rate > 0) return;
    const figure f = main_figure(r.s);
    const int b = best_rival(r, f);
    if (b < 0) return;
    const auto& e = r.entrants[static_cast<std::size_t>(b)];
    if (!e.calibration) return;
    const double now = e.med(f), then = (*e.calibration).*f;
    if (now <= 0 || then <= 0) return;
    // "Slower" as time: a rate 1/1.3 of the calibration's, or a latency 1.3 times it.
    const double slowdown = higher_is_better(f) ? then / now : now / then;
    if (slowdown > 1.3)
        r.rejected.push_back(r.s.name + ": librdkafka (" + e.config.label + ") ran " + fmt("%.0f", (slowdown - 1) * 100) +
                             "% slower than in its calibration round (" +
                             (higher_is_better(f) ? fmt("%.0f msgs/s", now) + " vs " + fmt("%.0f", then)
                                                  : fmt("p50 %.1f us", now) + " vs " + fmt("%.1f", then)) +
                             "): the machine was busy");
}

void print_scenario(const scenario_result& r, std::FILE* out) {
    const auto& s = r.s;
    const bool consumer = is_consumer(s);
    std::fprintf(out, "\n== %s (%zu records per run, %zu rounds after a calibration round)\n", s.name.c_str(),
                 s.messages, r.entrants.empty() ? std::size_t{0} : r.entrants.front().rounds.size());
    if (consumer)
        std::fprintf(out, "%-11s %-72s %-28s %-22s %8s %7s\n", "client", "configuration", "msgs/s [min-max]", "MB/s",
                     "commits", "errors");
    else if (s.kind == scenario_kind::txn)
        std::fprintf(out, "%-11s %-72s %-26s %-10s %-22s %-22s %7s\n", "client", "configuration", "msgs/s [min-max]", "MB/s",
                     "commit p50 us [min-max]", "commit p99 us [min-max]", "errors");
    else
        std::fprintf(out, "%-11s %-72s %-26s %-22s %-22s %-22s %7s\n", "client", "configuration", "msgs/s [min-max]",
                     "p50 us [min-max]", "p99 us [min-max]", "p99.9 us [min-max]", "errors");
    for (const auto& e : r.entrants) {
        if (e.rounds.empty()) continue;
        std::string label = e.config.label;
        if (label.size() > 72) label = label.substr(0, 69) + "...";
        if (consumer)
            std::fprintf(out, "%-11s %-72s %-28s %-22s %8.0f %7zu\n", e.client.c_str(), label.c_str(),
                         spread(e, &round_stats::msgs_per_s, "%.0f").c_str(), fmt("%.2f", e.med(&round_stats::mb_per_s)).c_str(),
                         e.med(&round_stats::commits), e.errors);
        else if (s.kind == scenario_kind::txn)
            std::fprintf(out, "%-11s %-72s %-26s %-10s %-23s %-23s %7zu\n", e.client.c_str(), label.c_str(),
                         spread(e, &round_stats::msgs_per_s, "%.0f").c_str(), fmt("%.2f", e.med(&round_stats::mb_per_s)).c_str(),
                         spread(e, &round_stats::p50, "%.1f").c_str(), spread(e, &round_stats::p99, "%.1f").c_str(),
                         e.errors);
        else
            std::fprintf(out, "%-11s %-72s %-26s %-22s %-22s %-22s %7zu\n", e.client.c_str(), label.c_str(),
                         spread(e, &round_stats::msgs_per_s, "%.0f").c_str(), spread(e, &round_stats::p50, "%.1f").c_str(),
                         spread(e, &round_stats::p99, "%.1f").c_str(), spread(e, &round_stats::p999, "%.1f").c_str(),
                         e.errors);
    }
    if (find_entrant(r, "kwire") >= 0 && best_rival(r, main_figure(s)) >= 0) {
        std::fprintf(out, "kwire / librdkafka at its best (per figure):\n");
        std::vector<figure> figs{&round_stats::msgs_per_s};
        if (!consumer) figs.insert(figs.end(), {&round_stats::p50, &round_stats::p99, &round_stats::p999});
        const bool txn = s.kind == scenario_kind::txn;
        if (txn) figs.pop_back();  // commits: p50 and p99
        const char* names[] = {"msgs/s", txn ? "c. p50" : "p50", txn ? "c. p99" : "p99", "p99.9"};
        for (std::size_t i = 0; i < figs.size(); ++i)
            std::fprintf(out, "  %-7s %6.2fx  vs %s\n", names[i], ratio(r, figs[i]), best_label(r, figs[i]).c_str());
    }
    if (floor_entrant(r) >= 0) {
        std::fprintf(out, "floor: %s of %zu B requests and %zu B responses (kwire's Produce sizes)\n",
                     s.kind == scenario_kind::e2e ? "TCP relay" : "TCP ping-pong", r.request_bytes, r.response_bytes);
        for (const char* c : {"kwire", "librdkafka"}) {
            const double p50 = over_floor(r, c, &round_stats::p50), p99 = over_floor(r, c, &round_stats::p99);
            if (!std::isnan(p50))
                std::fprintf(out, "own overhead over the floor, %-10s p50 %+.1f us, p99 %+.1f us%s\n", c, p50, p99,
                             std::string(c) == "librdkafka" ? " (best configuration per figure)" : "");
        }
    }
    if (const auto line = target_line(r); !line.empty()) std::fprintf(out, "%s\n", line.c_str());
    for (const auto& why : r.rejected) std::fprintf(out, "REJECTED %s\n", why.c_str());
    for (const auto& e : r.entrants)
        for (const auto& n : e.notes)
            std::fprintf(out, "NOTE %s %s (%s): %s\n", s.name.c_str(), e.client.c_str(), e.config.label.c_str(), n.c_str());
}

std::string target_line(const scenario_result& r) {
    const auto t = targets(r);
    if (t.empty())
        return find_entrant(r, "kwire") < 0 || best_rival(r, main_figure(r.s)) < 0
                   ? std::string()
                   : "targets " + r.s.name + ": none (reported, not targeted)";
    std::string line = "targets " + r.s.name + ":";
    for (std::size_t i = 0; i < t.size(); ++i) line += (i ? "; " : " ") + t[i].text();
    return line;
}

std::vector<std::string> json_lines(const scenario_result& r) {
    std::vector<std::string> out;
    const auto& s = r.s;
    for (const auto& e : r.entrants) {
        if (e.rounds.empty()) continue;
        std::string j = "{\"scenario\":\"" + s.name + "\",\"client\":\"" + e.client + "\",\"config\":\"" +
                        json_escape(e.config.label) + "\"";
        auto add = [&](const std::string& name, figure f, const char* number) {
            j += ",\"" + name + "\":" + fmt(number, e.med(f)) + ",\"" + name + "_min\":" + fmt(number, e.lo(f)) +
                 ",\"" + name + "_max\":" + fmt(number, e.hi(f));
        };
        add("msgs_per_s", &round_stats::msgs_per_s, "%.0f");
        add("mb_per_s", &round_stats::mb_per_s, "%.2f");
        if (is_consumer(s)) {
            j += ",\"commits\":" + fmt("%.0f", e.med(&round_stats::commits)) +
                 ",\"commit_callbacks\":" + fmt("%.0f", e.med(&round_stats::commit_callbacks));
        } else {
            const std::string lat = latency_prefix(s);
            add(lat + "p50_us", &round_stats::p50, "%.1f");
            add(lat + "p99_us", &round_stats::p99, "%.1f");
            add(lat + "p999_us", &round_stats::p999, "%.1f");
        }
        if (e.calibration)
            j += ",\"calibration_" + std::string(latency_kind(s) ? "p50_us\":" + fmt("%.1f", e.calibration->p50)
                                                                 : "msgs_per_s\":" + fmt("%.0f", e.calibration->msgs_per_s));
        j += ",\"rounds\":" + std::to_string(e.rounds.size()) + ",\"messages\":" + std::to_string(s.messages) +
             ",\"delivered\":" + std::to_string(e.delivered) + ",\"errors\":" + std::to_string(e.errors) +
             ",\"log_mismatch\":" + std::to_string(e.log_mismatch) + "}";
        out.push_back(j);
    }
    std::string j = "{\"scenario\":\"" + s.name + "\",\"summary\":true";
    if (find_entrant(r, "kwire") >= 0 && best_rival(r, main_figure(s)) >= 0) {
        auto add = [&](const std::string& name, figure f) {
            j += ",\"ratio_" + name + "\":" + fmt("%.3f", ratio(r, f)) + ",\"rival_best_" + name + "\":\"" +
                 json_escape(best_label(r, f)) + "\"";
        };
        add("msgs_per_s", &round_stats::msgs_per_s);
        if (!is_consumer(s)) {
            const std::string lat = latency_prefix(s);
            add(lat + "p50", &round_stats::p50);
            add(lat + "p99", &round_stats::p99);
            add(lat + "p999", &round_stats::p999);
        }
    }
    if (floor_entrant(r) >= 0) {
        j += ",\"floor\":\"" + std::string(s.kind == scenario_kind::e2e ? "tcp_relay" : "tcp_ping_pong") +
             "\",\"floor_request_bytes\":" + std::to_string(r.request_bytes) +
             ",\"floor_response_bytes\":" + std::to_string(r.response_bytes);
        for (const char* c : {"kwire", "librdkafka"}) {
            const double p50 = over_floor(r, c, &round_stats::p50), p99 = over_floor(r, c, &round_stats::p99);
            if (!std::isnan(p50))
                j += std::string(",\"") + c + "_over_floor_p50_us\":" + fmt("%.1f", p50) + ",\"" + c +
                     "_over_floor_p99_us\":" + fmt("%.1f", p99);
        }
    }
    j += ",\"targets\":[";
    const auto t = targets(r);
    for (std::size_t i = 0; i < t.size(); ++i)
        j += std::string(i ? "," : "") + "{\"target\":\"" + t[i].what + "\",\"value\":" + fmt("%.3f", t[i].value) +
             ",\"met\":" + (t[i].met() ? "true" : "false") + "}";
    j += "],\"rejected\":" + std::string(r.rejected.empty() ? "false" : "true") + "}";
    out.push_back(j);
    return out;
}

}  // namespace kwire::bench
