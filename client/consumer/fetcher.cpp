// The fetch rounds: placing each fetchable partition in its leader's source, a Fetch per source
// that has none in flight, metadata for unknown leaders, the backoff timer, closing the sessions,
// and the reuse of decompression buffers. See fetcher.hpp.
#include "consumer/fetcher.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <set>

namespace kwire::client::detail {

fetcher::fetcher(consumer_core& core, std::function<void(std::vector<std::uint32_t>)> reset)
    : core_(core), reset_(std::move(reset)), retry_timer_(core.ex) {}

void fetcher::schedule() {
    if (scheduled_ || core_.closed) return;
    scheduled_ = true;
    net::post(core_.ex, [this, keep = core_.keep()] { round(); });
}

source& fetcher::source_for(std::int32_t leader) {
    auto& s = sources_[leader];
    if (!s) s = std::make_unique<source>(core_, *this, leader);
    return *s;
}

void fetcher::place(std::uint32_t i, std::int32_t leader) {
    auto& s = core_.slots[i];
    if (s.source == leader) return;
    if (s.source >= 0) source_for(s.source).remove(i);
    if (leader >= 0) source_for(leader).add(i);
    s.source = leader;
}

void fetcher::round() {
    scheduled_ = false;
    if (core_.closed || core_.closing || core_.fatal) return;
    const auto now = clock::now();
    for (auto& [leader, slots] : eligible_) slots.clear();
    std::vector<std::string> unknown;
    clock::time_point retry = clock::time_point::max();
    for (std::uint32_t i = 0; i < core_.slots.size(); ++i) {
        auto& s = core_.slots[i];
        if (!s.assigned) {
            place(i, -1);  // revoked: no source holds it (its session forgets it at the next Fetch)
            continue;
        }
        if (s.paused || s.fetching || s.state != partition_slot::start::ready) continue;
        // Prefetch: one chunk may wait for the application while the next is fetched.
        if (s.buffered.size() > 1) continue;
        if (now < s.not_before) {
            retry = std::min(retry, s.not_before);
            continue;
        }
        const auto* t = core_.brokers->topic(s.topic);
        std::int32_t leader = -1;
        if (t && static_cast<std::size_t>(s.partition) < t->partitions.size()) {
            leader = t->partitions[static_cast<std::size_t>(s.partition)].leader;
            s.leader_epoch = t->partitions[static_cast<std::size_t>(s.partition)].leader_epoch;
        }
        if (leader < 0) {
            if (std::find(unknown.begin(), unknown.end(), s.topic) == unknown.end()) unknown.push_back(s.topic);
            continue;
        }
        place(i, leader);
        if (source_for(leader).in_flight()) continue;
        eligible_[leader].push_back(i);
    }
    if (!unknown.empty()) {
        core_.brokers->refresh(unknown, [this, keep = core_.keep()](std::error_code ec) {
            if (!ec) return schedule();
            // No broker answered: try again after the backoff.
            retry_timer_.expires_after(core_.cfg.retry_backoff);
            retry_timer_.async_wait([this, keep](std::error_code e) {
                if (!e) schedule();
            });
        });
    }
    for (auto& [leader, slots] : eligible_)
        if (!slots.empty()) source_for(leader).fetch(slots);
    if (retry != clock::time_point::max()) retry_at(retry);
}

void fetcher::retry_at(clock::time_point at) {
    if (retry_armed_) return;
    retry_armed_ = true;
    retry_timer_.expires_at(at);
    retry_timer_.async_wait([this, keep = core_.keep()](std::error_code ec) {
        retry_armed_ = false;
        if (!ec) schedule();
    });
}

void fetcher::backoff_and_refresh(const std::vector<std::uint32_t>& slots) {
    const auto until = clock::now() + core_.cfg.retry_backoff;
    std::set<std::string> topics;
    for (const auto i : slots) {
        core_.slots[i].not_before = until;
        topics.insert(core_.slots[i].topic);
    }
    core_.brokers->refresh({topics.begin(), topics.end()}, [this, keep = core_.keep()](std::error_code) { schedule(); });
    schedule();
}

void fetcher::close(std::function<void()> then) {
    // Best effort, as the Java client: only over connections that are up (closing does not wait
    // for a reconnect), failures ignored.
    auto remaining = std::make_shared<std::size_t>(1);
    auto done = [remaining, then = std::move(then)] {
        if (--*remaining == 0) then();
    };
    for (auto& [leader, s] : sources_)
        if (s->close(done)) ++*remaining;
    done();
}

void fetcher::cancel() { retry_timer_.cancel(); }

void fetcher::drop_buffered(partition_slot& s) {
    for (auto& c : s.buffered) recycle(c);
    s.buffered.clear();
}

void fetcher::recycle(fetched_chunk& c) {
    for (auto& b : c.inflated) spare_.push_back(std::move(b));
    c.inflated.clear();
}

}  // namespace kwire::client::detail
