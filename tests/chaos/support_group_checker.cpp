// The consumer-group checker (support_group_checker.hpp).
#include "support_group_checker.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace kwire::test {

group_checker::group_checker(std::map<std::int32_t, std::vector<std::string>> truth,
                             std::chrono::milliseconds line_slack)
    : truth_(std::move(truth)), slack_(line_slack) {}

void group_checker::run_started(int run, chaos_clock::time_point at) { runs_[run] = at; }

void group_checker::printed(int run, const captured_line& line) {
    std::istringstream in(line.text);
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string value;
    if (!(in >> partition >> offset >> value) || !truth_.contains(partition) || offset < 0) {
        ++unparsable_;
        return;
    }
    const auto& values = truth_.at(partition);
    if (static_cast<std::size_t>(offset) >= values.size() || values[static_cast<std::size_t>(offset)] != value)
        ++wrong_value_;
    lines_.push_back({run, partition, offset, line.at});
}

void group_checker::observed_commit(std::int32_t partition, std::int64_t committed, chaos_clock::time_point asked,
                                    chaos_clock::time_point answered) {
    commits_[partition].push_back({committed, asked, answered});
}

std::int64_t group_checker::committed_before(std::int32_t partition, chaos_clock::time_point t) const {
    std::int64_t best = -1;
    if (auto it = commits_.find(partition); it != commits_.end())
        for (const auto& o : it->second)
            if (o.answered < t) best = std::max(best, o.committed);
    return best;
}

bool group_checker::complete(bool committed_too) const {
    std::map<std::int32_t, std::set<std::int64_t>> seen;
    for (const auto& l : lines_) seen[l.partition].insert(l.offset);
    for (const auto& [p, values] : truth_) {
        if (seen[p].size() < values.size() ||
            (!values.empty() && *seen[p].rbegin() + 1 < static_cast<std::int64_t>(values.size())))
            return false;
        if (!committed_too) continue;
        const auto it = commits_.find(p);
        if (it == commits_.end() || it->second.empty() ||
            it->second.back().committed < static_cast<std::int64_t>(values.size()))
            return false;
    }
    return true;
}

group_anomalies group_checker::check() const {
    group_anomalies a;
    a.wrong_value = wrong_value_ + unparsable_;

    // The first time each record was seen (lines are read in order per run, not across runs).
    std::map<std::pair<std::int32_t, std::int64_t>, chaos_clock::time_point> first;
    for (const auto& l : lines_) {
        auto [it, fresh] = first.try_emplace({l.partition, l.offset}, l.at);
        if (!fresh && l.at < it->second) it->second = l.at;
    }
    for (const auto& [p, values] : truth_)
        for (std::size_t o = 0; o < values.size(); ++o)
            if (!first.contains({p, static_cast<std::int64_t>(o)})) ++a.lost;

    for (const auto& [p, observations] : commits_) {
        // Regressions: an answer lower than one already answered when this one was asked.
        for (const auto& o : observations) {
            std::int64_t earlier = -1;
            for (const auto& e : observations)
                if (e.answered < o.asked) earlier = std::max(earlier, e.committed);
            if (o.committed < earlier) ++a.commit_regression;
        }
        // Commits ahead of printing: the latest first-print among the offsets a commit covers.
        const auto size = truth_.contains(p) ? truth_.at(p).size() : 0;
        std::vector<chaos_clock::time_point> latest_first(size + 1, chaos_clock::time_point::min());
        for (std::size_t o = 0; o < size; ++o) {
            const auto it = first.find({p, static_cast<std::int64_t>(o)});
            latest_first[o + 1] = std::max(latest_first[o], it == first.end() ? chaos_clock::time_point::max()
                                                                                : it->second);
        }
        std::set<std::int64_t> ahead;
        for (const auto& o : observations) {
            const auto covered = static_cast<std::size_t>(std::clamp<std::int64_t>(o.committed, 0,
                                                                                   static_cast<std::int64_t>(size)));
            if (latest_first[covered] != chaos_clock::time_point::min() && latest_first[covered] > o.answered + slack_)
                ahead.insert(o.committed);
        }
        a.commit_ahead += static_cast<std::int64_t>(ahead.size());
    }

    // Per run and partition, in the order the run printed them: runs of consecutive offsets.
    std::map<std::pair<int, std::int32_t>, std::int64_t> last;  // (run, partition) -> last offset
    std::map<std::pair<int, std::int32_t>, chaos_clock::time_point> bound;  // commits before it: not re-read
    std::set<std::pair<std::int32_t, std::int64_t>> printed_once;
    for (const auto& l : lines_) {
        const std::pair key{l.run, l.partition};
        const auto prev = last.find(key);
        if (prev == last.end() || prev->second + 1 != l.offset) {
            // A new start: where the member began reading this partition (again).
            const auto run_start = runs_.contains(l.run) ? runs_.at(l.run) : chaos_clock::time_point::min();
            bound[key] = std::max(run_start, l.at - slack_);
            if (l.offset < committed_before(l.partition, bound[key])) ++a.resume_below_commit;
            if (auto it = commits_.find(l.partition); it != commits_.end())
                for (const auto& o : it->second)
                    if (o.asked > l.at && std::max<std::int64_t>(o.committed, 0) < l.offset) {
                        ++a.resume_skip;
                        break;
                    }
        }
        last[key] = l.offset;
        if (!printed_once.insert({l.partition, l.offset}).second &&
            l.offset < committed_before(l.partition, bound[key]))
            ++a.repeat_beyond_window;
    }
    return a;
}

std::string group_checker::report() const {
    const auto a = check();
    std::set<std::pair<std::int32_t, std::int64_t>> distinct;
    for (const auto& l : lines_) distinct.insert({l.partition, l.offset});
    std::size_t observations = 0;
    for (const auto& [p, o] : commits_) observations += o.size();
    std::ostringstream out;
    out << "lost=" << a.lost << " wrong_value=" << a.wrong_value << " commit_regression=" << a.commit_regression
        << " commit_ahead=" << a.commit_ahead << " resume_below_commit=" << a.resume_below_commit
        << " resume_skip=" << a.resume_skip << " repeat_beyond_window=" << a.repeat_beyond_window
        << " | repeats=" << lines_.size() - distinct.size() << " runs=" << runs_.size() << " lines=" << lines_.size()
        << " commits_observed=" << observations << " final_commit/end:";
    for (const auto& [p, values] : truth_) {
        const auto it = commits_.find(p);
        out << " p" << p << "=" << (it == commits_.end() || it->second.empty() ? -1 : it->second.back().committed) << "/"
            << values.size();
    }
    return out.str();
}

}  // namespace kwire::test

namespace kwire::test {

std::string group_checker::timeline(chaos_clock::time_point origin) const {
    auto ms = [&](chaos_clock::time_point t) {
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t - origin).count());
    };
    std::multimap<chaos_clock::time_point, std::string> events;
    for (const auto& [run, at] : runs_) events.emplace(at, "run " + std::to_string(run) + " started");
    std::map<std::pair<int, std::int32_t>, std::pair<std::int64_t, std::int64_t>> open;  // first, last offset
    std::map<std::pair<int, std::int32_t>, chaos_clock::time_point> opened;
    auto close = [&](const std::pair<int, std::int32_t>& key, chaos_clock::time_point last_at) {
        const auto [first, last] = open[key];
        events.emplace(opened[key], "run " + std::to_string(key.first) + " p" + std::to_string(key.second) + " " +
                                        std::to_string(first) + ".." + std::to_string(last) + " (until " +
                                        ms(last_at) + ")");
    };
    std::map<std::pair<int, std::int32_t>, chaos_clock::time_point> last_at;
    for (const auto& l : lines_) {
        const std::pair key{l.run, l.partition};
        if (auto it = open.find(key); it != open.end() && it->second.second + 1 == l.offset) {
            it->second.second = l.offset;
        } else {
            if (it != open.end()) close(key, last_at[key]);
            open[key] = {l.offset, l.offset};
            opened[key] = l.at;
        }
        last_at[key] = l.at;
    }
    for (const auto& [key, range] : open) close(key, last_at[key]);
    for (const auto& [p, observations] : commits_) {
        std::int64_t last = -2;
        for (const auto& o : observations)
            if (o.committed != last) {
                last = o.committed;
                events.emplace(o.answered, "p" + std::to_string(p) + " committed " + std::to_string(o.committed) +
                                               " (asked " + ms(o.asked) + ")");
            }
    }
    std::string out;
    for (const auto& [at, what] : events) out += ms(at) + " " + what + "\n";
    return out;
}

}  // namespace kwire::test
