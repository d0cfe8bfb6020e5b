// The producer checker: the ledger of sends and the comparison with the stored logs
// (support_checker.hpp says what each anomaly class means).
#include "support_checker.hpp"

#include <algorithm>
#include <unordered_map>

#include "support_rules_broker.hpp"

namespace kwire::test {

bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

void produce_ledger::send(producer& p, const std::string& topic, const std::string& key,
                          std::optional<std::int32_t> partition) {
    auto e = std::make_unique<ledger_entry>();
    e->index = entries_.size();
    e->topic = topic;
    e->key = key;
    e->value = key + "#" + std::to_string(next_per_key_[key]++);
    e->partition = partition;
    auto* entry = e.get();
    entries_.push_back(std::move(e));
    record r;
    r.topic = topic;
    r.key = protocol::bytes_view::from(entry->key);
    r.value = protocol::bytes_view::from(entry->value);
    r.partition = partition;
    p.send(r, [this, entry](std::error_code ec, delivery d) {
        if (++entry->completions == 1) ++completed_;
        entry->ec = ec;
        entry->d = d;
    });
}

std::size_t produce_ledger::acknowledged() const noexcept {
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& e) {
        return e->completions > 0 && !e->ec;
    }));
}

stored_logs stored(const rules_cluster& rc, const std::string& topic, int partitions) {
    stored_logs logs;
    for (int p = 0; p < partitions; ++p) {
        auto& out = logs[{topic, p}];
        for (const auto& b : rc.log(topic, p))
            for (std::size_t i = 0; i < b.values.size(); ++i)
                out.push_back({b.base_offset + static_cast<std::int64_t>(i), b.values[i].value_or("")});
    }
    return logs;
}

std::ostream& operator<<(std::ostream& os, const anomaly_counts& a) {
    return os << "acknowledged=" << a.acknowledged << " failed=" << a.failed << " failed_stored=" << a.failed_stored
              << " stored=" << a.stored << " | unfinished=" << a.unfinished << " repeated=" << a.repeated
              << " lost=" << a.lost << " misplaced=" << a.misplaced << " duplicated=" << a.duplicated
              << " reordered=" << a.reordered << " phantom=" << a.phantom << " unexplained=" << a.unexplained;
}

namespace {

/// Prints at most a few examples per anomaly class.
struct reporter {
    std::ostream* out;
    std::map<std::string, int> shown;
    template <class... Args> void operator()(const std::string& kind, const Args&... args) {
        if (!out || shown[kind]++ >= 5) return;
        *out << "[ anomaly ] " << kind << ": ";
        (*out << ... << args) << "\n";
    }
};

}  // namespace

anomaly_counts check(const produce_ledger& ledger, const stored_logs& logs, const check_options& options) {
    anomaly_counts a;
    reporter report{options.details, {}};
    std::unordered_map<std::string_view, const ledger_entry*> by_value;
    for (const auto& e : ledger.entries()) by_value.emplace(e->value, e.get());

    // Where each value is stored: (topic, partition, offset), every copy.
    struct place {
        const std::pair<std::string, std::int32_t>* tp;
        std::int64_t offset;
    };
    std::unordered_map<std::string_view, std::vector<place>> copies;
    for (const auto& [tp, records] : logs) {
        std::size_t latest = 0;  // highest send index stored so far in this partition
        bool any = false;
        for (const auto& r : records) {
            ++a.stored;
            const auto it = by_value.find(r.value);
            if (it == by_value.end()) {
                ++a.phantom;
                report("phantom", tp.first, "/", tp.second, "@", r.offset, " '", r.value, "'");
                continue;
            }
            auto& c = copies[it->first];
            c.push_back({&tp, r.offset});
            if (c.size() > 1) continue;  // a duplicate copy: counted below, not an order point
            const auto index = it->second->index;
            if (any && index < latest) {
                ++a.reordered;
                report("reordered", tp.first, "/", tp.second, "@", r.offset, " '", r.value, "' (send #", index,
                       ") stored after send #", latest);
            }
            latest = std::max(latest, index);
            any = true;
        }
    }

    for (const auto& e : ledger.entries()) {
        const auto it = copies.find(e->value);
        const std::size_t n = it == copies.end() ? 0 : it->second.size();
        if (n > 1) {
            a.duplicated += n - 1;
            report("duplicated", "'", e->value, "' stored ", n, " times");
        }
        if (e->completions == 0) {
            ++a.unfinished;
            report("unfinished", "'", e->value, "' never completed");
            continue;
        }
        if (e->completions > 1) {
            ++a.repeated;
            report("repeated", "'", e->value, "' completed ", e->completions, " times");
        }
        if (e->ec) {
            ++a.failed;
            if (n > 0) ++a.failed_stored;
            const auto& allowed = options.allowed_errors;
            if (std::find(allowed.begin(), allowed.end(), e->ec) == allowed.end()) {
                ++a.unexplained;
                report("unexplained", "'", e->value, "' failed: ", e->ec.message());
            }
            continue;
        }
        ++a.acknowledged;
        if (n == 0) {
            ++a.lost;
            report("lost", "'", e->value, "' acknowledged at ", e->d.partition, "@", e->d.offset, " but not stored");
            continue;
        }
        const auto& c = it->second;
        const bool at_its_offset = std::any_of(c.begin(), c.end(), [&](const place& p) {
            return p.tp->first == e->topic && p.tp->second == e->d.partition && p.offset == e->d.offset;
        });
        if (!at_its_offset) {
            ++a.misplaced;
            report("misplaced", "'", e->value, "' acknowledged at ", e->d.partition, "@", e->d.offset,
                   " but stored at ", c.front().tp->second, "@", c.front().offset);
        }
    }
    return a;
}

}  // namespace kwire::test
