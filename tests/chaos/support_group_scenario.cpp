// A consumer-group chaos scenario's run (support_group_scenario.hpp): the feeder, the observer,
// the nemesis and the drain, around the member processes.
#include "support_group_scenario.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "support_chaos_proxy.hpp"
#include "support_process_group.hpp"

namespace kwire::test {

namespace {

using namespace std::chrono_literals;

const std::string kwire_binary = KWIRE_BINARY_DIR "/bin/kwire";

// Timing small enough that a crashed member is timed out well within a few seconds of chaos.
const char* const member_timing[] = {"session.timeout.ms=2000", "heartbeat.interval.ms=200",
                                     "max.poll.interval.ms=5000", "fetch.max.wait.ms=100",
                                     "reconnect.backoff.ms=20",   "reconnect.backoff.max.ms=200",
                                     "request.timeout.ms=3000"};
constexpr int records_per_tick = 3;  // per partition, every feed_every
constexpr auto feed_every = 40ms;
constexpr int prefill = 100;  // per partition, before the members start

struct observation {
    std::int32_t partition;
    std::int64_t committed;
    chaos_clock::time_point asked, answered;
};

/// The members: their runs (every process ever started, kept until the end for its output).
class members {
public:
    members(const group_scenario& s, const group_cluster& cluster, std::string bootstrap)
        : scenario_(s), bootstrap_(std::move(bootstrap)), extra_(cluster.member_properties()),
          current_(static_cast<std::size_t>(s.members), -1) {}

    void start(int member) {
        std::vector<std::string> argv = {kwire_binary, "consume",  "-b", bootstrap_,     "-t",
                                         scenario_.topic, "-g", scenario_.group, "--commit", scenario_.commit,
                                         "-o",           "beginning", "-f", "%p %o %s\\n"};
        auto property = [&](const std::string& p) {
            argv.push_back("-X");
            argv.push_back(p);
        };
        for (const auto* p : member_timing) property(p);
        for (const auto& p : extra_) property(p);
        if (!scenario_.assignor.empty()) property("partition.assignment.strategy=" + scenario_.assignor);
        if (scenario_.static_members) property("group.instance.id=member-" + std::to_string(member));
        runs_.push_back(std::make_unique<child_process>(argv));
        stopped_by_us_.push_back(false);
        current_[static_cast<std::size_t>(member)] = static_cast<int>(runs_.size() - 1);
    }

    /// Stops the member's current run with `sig` (waiting for it to exit) and marks it ours.
    void stop(int member, int sig) {
        const auto r = current_[static_cast<std::size_t>(member)];
        if (r < 0) return;
        auto& run = *runs_[static_cast<std::size_t>(r)];
        stopped_by_us_[static_cast<std::size_t>(r)] = true;
        run.signal(sig);
        if (run.wait(sig == SIGKILL ? 2000ms : 8000ms) == -1) {
            run.signal(SIGKILL);
            run.wait(2000ms);
        }
        current_[static_cast<std::size_t>(member)] = -1;
    }

    /// Restarts members whose run ended (by us, or on its own: counted in gave_up).
    void restart_dead(group_run_result& out) {
        for (int m = 0; m < scenario_.members; ++m) {
            const auto r = current_[static_cast<std::size_t>(m)];
            if (r >= 0 && runs_[static_cast<std::size_t>(r)]->running()) continue;
            if (r >= 0) note_gave_up(static_cast<std::size_t>(r), out);
            start(m);
        }
    }

    void note_gave_up(std::size_t r, group_run_result& out) {
        if (stopped_by_us_[r]) return;
        stopped_by_us_[r] = true;  // counted once
        ++out.gave_up;
        if (out.gave_up_stderr.empty())
            out.gave_up_stderr = "status " + std::to_string(runs_[r]->status()) + ": " + runs_[r]->err().substr(0, 1500);
    }

    /// Feeds the checker every run's start and the lines it printed since the last call.
    void feed(group_checker& checker) {
        for (std::size_t r = 0; r < runs_.size(); ++r) {
            if (fed_.size() <= r) {
                fed_.push_back(0);
                checker.run_started(static_cast<int>(r), runs_[r]->started());
            }
            for (const auto& line : runs_[r]->lines(fed_[r])) {
                checker.printed(static_cast<int>(r), line);
                ++fed_[r];
            }
        }
    }

    void stop_all_cleanly(group_run_result& out) {
        for (int m = 0; m < scenario_.members; ++m) {
            const auto r = current_[static_cast<std::size_t>(m)];
            if (r >= 0 && !runs_[static_cast<std::size_t>(r)]->running()) note_gave_up(static_cast<std::size_t>(r), out);
            stop(m, SIGTERM);
        }
    }

    int runs() const { return static_cast<int>(runs_.size()); }
    std::size_t lines() const {
        std::size_t n = 0;
        for (const auto& r : runs_) n += r->line_count();
        return n;
    }

    /// One line per run: how it ended, what it printed per partition (first..last offset).
    std::string summary() const {
        std::string out;
        for (std::size_t r = 0; r < runs_.size(); ++r) {
            const auto& run = *runs_[r];
            out += "run " + std::to_string(r) + " pid " + std::to_string(run.pid()) + " status " +
                   std::to_string(run.status()) + (stopped_by_us_[r] ? "" : " (on its own)") + ":";
            std::map<std::string, std::pair<std::string, std::string>> span;  // partition -> first, last
            std::size_t breaks = 0;
            std::map<std::string, long long> last;
            for (const auto& l : run.lines()) {
                const auto space = l.text.find(' ');
                const auto p = l.text.substr(0, space);
                const auto o = l.text.substr(space + 1, l.text.find(' ', space + 1) - space - 1);
                auto [it, fresh] = span.try_emplace(p, o, o);
                it->second.second = o;
                const auto n = std::atoll(o.c_str());
                if (!fresh && last[p] + 1 != n) ++breaks;
                last[p] = n;
            }
            for (const auto& [p, fl] : span) out += " p" + p + "=" + fl.first + ".." + fl.second;
            const auto err = run.err();
            out += " breaks=" + std::to_string(breaks) + (err.empty() ? "" : " stderr: " + err.substr(0, 300)) + "\n";
        }
        return out;
    }

private:
    const group_scenario& scenario_;
    std::string bootstrap_;
    std::vector<std::string> extra_;
    std::vector<int> current_;  // member -> index of its current run, -1 when stopped
    std::vector<std::unique_ptr<child_process>> runs_;
    std::vector<bool> stopped_by_us_;
    std::vector<std::size_t> fed_;
};

/// Stops and joins a helper thread however the scenario ends (an exception must not leave a
/// joinable std::thread behind, which would terminate the test binary).
struct joined_thread {
    std::atomic<bool>& stop;
    std::thread thread;
    ~joined_thread() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

std::vector<std::string> numbered(std::int32_t partition, int& next, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) out.push_back("p" + std::to_string(partition) + "-" + std::to_string(next++));
    return out;
}

/// The scenario's own stream of the run's seed (FNV-1a of its name mixed in), so that scenarios
/// sharing a seed do not all crash the same member at the same moment.
std::uint64_t scenario_seed(std::uint64_t seed, const std::string& name) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
    return seed ^ h;
}

}  // namespace

group_run_result run_group_scenario(const group_scenario& s, group_cluster& cluster, const group_run_settings& rs) {
    const auto began = chaos_clock::now();
    group_run_result out;
    const auto seed = scenario_seed(rs.seed, s.name);
    chaos_settings cs;
    cs.seed = seed;
    cs.fault_probability = rs.fault_probability;
    cs.reset_share = rs.reset_share;
    cs.spared_api_keys = cluster.spared_api_keys();
    cs.name_new_members = cluster.needs_member_names();
    chaos_proxy proxy(cluster.brokers(), cs);
    out.proxy_settings = proxy.describe();

    std::vector<int> next(static_cast<std::size_t>(s.partitions), 0);
    for (std::int32_t p = 0; p < s.partitions; ++p) cluster.append(p, numbered(p, next[static_cast<std::size_t>(p)], prefill));

    // The observer: committed offsets straight from the coordinator, and the cluster's tick.
    std::mutex observed_mutex;
    std::vector<observation> observed;
    std::atomic<bool> stop_observer{false}, stop_feeder{false};
    joined_thread observer{stop_observer, std::thread([&] {
        for (int i = 0; !stop_observer; ++i) {
            const auto asked = chaos_clock::now();
            try {
                const auto committed = cluster.committed();
                const auto answered = chaos_clock::now();
                std::lock_guard lock(observed_mutex);
                for (const auto& [p, c] : committed) observed.push_back({p, c, asked, answered});
            } catch (const std::exception&) {
                // Coordinator moving or busy: asked again next time.
            }
            if (i % 3 == 0) cluster.tick();
            std::this_thread::sleep_for(30ms);
        }
    })};
    std::string feeder_error;
    joined_thread feeder{stop_feeder, std::thread([&] {
        try {
            while (!stop_feeder) {
                for (std::int32_t p = 0; p < s.partitions; ++p)
                    cluster.append(p, numbered(p, next[static_cast<std::size_t>(p)], records_per_tick));
                std::this_thread::sleep_for(feed_every);
            }
        } catch (const std::exception& e) {
            feeder_error = e.what();  // read after join
        }
    })};

    members group(s, cluster, proxy.bootstrap());
    for (int m = 0; m < s.members; ++m) group.start(m);

    // The nemesis: every choice from the seed (which member, how, when), apart from timing.
    std::mt19937_64 dice(seed ^ 0x6e656d65736973ULL);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(dice); };
    const auto chaos_end = chaos_clock::now() + rs.chaos;
    while (chaos_clock::now() < chaos_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(uniform(150, 900)));
        const int victim = uniform(0, s.members - 1);
        const bool crash = uniform(0, 9) < 7;
        group.stop(victim, crash ? SIGKILL : SIGTERM);
        ++(crash ? out.crashes : out.clean_stops);
        std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 400)));
        group.restart_dead(out);
    }

    // Drain: no more chaos or records; every member runs until the group has done everything.
    proxy.pause();
    feeder.finish();
    if (!feeder_error.empty()) throw std::runtime_error("feeding the topic failed: " + feeder_error);
    group.restart_dead(out);
    group_checker checker(cluster.contents());
    std::size_t observations_fed = 0;
    auto feed = [&] {
        group.feed(checker);
        std::lock_guard lock(observed_mutex);
        for (; observations_fed < observed.size(); ++observations_fed) {
            const auto& o = observed[observations_fed];
            checker.observed_commit(o.partition, o.committed, o.asked, o.answered);
        }
    };
    // Manual commits: only close() commits, so the members must have caught up (re-read what a
    // crashed member never committed) before they are stopped: nothing new printed for a while.
    const bool commits_follow = s.commit != "manual";
    const auto drain_end = chaos_clock::now() + rs.drain_limit;
    std::size_t lines_before = 0;
    auto quiet_since = chaos_clock::now();
    for (;;) {
        feed();
        if (const auto n = group.lines(); n != lines_before) {
            lines_before = n;
            quiet_since = chaos_clock::now();
        }
        if (checker.complete(commits_follow) && (commits_follow || chaos_clock::now() - quiet_since > 1s)) {
            out.drained = true;
            break;
        }
        if (chaos_clock::now() > drain_end) break;
        group.restart_dead(out);
        std::this_thread::sleep_for(100ms);
    }
    group.stop_all_cleanly(out);
    std::this_thread::sleep_for(200ms);  // an observation after the last close's commit
    observer.finish();
    feed();
    // Manual commits are not required to reach the end: close() commits what was printed, but
    // a close that lands in a rebalance another member's leave started can be refused
    // (librdkafka's mock answers REBALANCE_IN_PROGRESS to any OffsetCommit while the group is
    // joining; Kafka only while it completes a rebalance). That costs repeats, never a skip,
    // and the checker counts it. The final commits are in the report.

    out.anomalies = checker.check();
    out.checker_report = checker.report();
    out.proxy_report = proxy.report();
    out.runs = group.runs();
    out.runs_summary = group.summary();
    out.timeline = checker.timeline(began) + cluster.describe();
    out.expired = cluster.expired();
    out.seconds = std::chrono::duration<double>(chaos_clock::now() - began).count();
    return out;
}

}  // namespace kwire::test
