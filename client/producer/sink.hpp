// The per-broker side of producing, as franz-go's sink: which partitions each broker leads, which
// of them have batches to send, and which brokers were woken since the last drain. No I/O and no
// clock: the producer (sink.cpp) routes partitions by their leader, marks them ready when a batch
// becomes sendable, and drains only the sinks that were woken, each over its own ready
// partitions only -- never every topic and partition.
//
// The rules:
//  - a partition belongs to exactly one sink at a time: its leader's, or the holding sink
//    (leader unknown), whose drain asks for metadata instead of sending;
//  - a leader move takes the partition from one sink to the other, ready or not; whatever it has
//    in flight stays on the old broker's connection until answered (the ordering rules that make
//    that safe are partition_queue's and send_request's: a partition's next batch waits for every
//    batch in flight elsewhere);
//  - marking a partition ready wakes its sink even if it was ready already (its blocker, say a
//    batch in flight on another broker, may just have gone);
//  - a drain visits each ready partition once, starting one further along each time (round
//    robin), so that when a request fills up, the same partitions are not always the ones left
//    out; a partition that has nothing to send leaves the ready list as it is visited.
// Partitions are the caller's objects: they carry a `sink_link link` member and must not move
// while they belong to a sink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace kwire::client::detail {

/// A partition's place in its sink (a member named `link` of the partition type).
struct sink_link {
    const void* home = nullptr;    // the sink it belongs to; nullptr: none yet
    std::size_t member_index = 0;  // its place among the sink's members
    std::size_t ready_index = 0;   // its entry in the sink's ready list, while `ready`
    bool ready = false;
};

template <class Partition> class sink {
public:
    explicit sink(std::int32_t node) : node_(node) {}
    sink(const sink&) = delete;
    sink& operator=(const sink&) = delete;

    /// The broker's node id; negative for the holding sink (partitions without a known leader).
    std::int32_t node() const noexcept { return node_; }
    bool holding() const noexcept { return node_ < 0; }

    /// The partitions this broker leads (for the holding sink: the ones without a leader).
    const std::vector<Partition*>& members() const noexcept { return members_; }
    bool owns(const Partition& p) const noexcept { return p.link.home == this; }
    std::size_t ready_count() const noexcept { return live_ready_; }

    /// Takes in a partition that belongs to no sink.
    void add(Partition& p) {
        p.link.home = this;
        p.link.member_index = members_.size();
        p.link.ready = false;
        members_.push_back(&p);
    }

    /// Lets a partition go (to another sink); returns whether it was ready.
    bool remove(Partition& p) {
        if (!owns(p)) return false;
        const bool was_ready = p.link.ready;
        if (was_ready) {
            p.link.ready = false;  // its entry goes stale
            --live_ready_;
            if (!visiting_) compact();
        }
        auto* last = members_.back();
        members_[p.link.member_index] = last;
        last->link.member_index = p.link.member_index;
        members_.pop_back();
        p.link.home = nullptr;
        return was_ready;
    }

    /// The partition (a member) may have something to send; false if it was ready already.
    bool mark_ready(Partition& p) {
        if (p.link.ready) return false;
        p.link.ready = true;
        p.link.ready_index = ready_.size();
        ready_.push_back(&p);
        ++live_ready_;
        return true;
    }

    /// Calls `f(partition)` once for each ready partition, round robin (see the header); `f`
    /// returns whether the partition stays ready. Partitions marked ready during the visit (by
    /// `f` or by anything it calls) wait for the next one. No allocation once the list has grown.
    template <class F> void visit_ready(F&& f) {
        const std::size_t n = ready_.size();
        if (n == 0) return;
        const std::size_t first = start_ % n;
        start_ = first + 1;
        visiting_ = true;
        struct leave {
            sink& s;
            ~leave() {
                s.visiting_ = false;
                s.compact();
            }
        } on_exit{*this};
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (first + k) % n;
            Partition* p = ready_[i];
            if (!live(p, i)) continue;
            if (f(*p)) continue;
            if (live(p, i)) {  // `f` may have moved it on meanwhile
                p->link.ready = false;
                --live_ready_;
            }
        }
    }

    int in_flight = 0;   ///< Produce requests out to this broker
    bool woken = false;  ///< on the router's list of sinks to drain

private:
    bool live(const Partition* p, std::size_t i) const noexcept {
        return p->link.ready && p->link.home == this && p->link.ready_index == i;
    }
    /// Drops stale entries, keeping the others' order.
    void compact() {
        std::size_t out = 0;
        for (std::size_t i = 0; i < ready_.size(); ++i) {
            Partition* p = ready_[i];
            if (!live(p, i)) continue;
            p->link.ready_index = out;
            ready_[out++] = p;
        }
        ready_.resize(out);
    }

    std::int32_t node_;
    std::vector<Partition*> members_;
    std::vector<Partition*> ready_;  // may hold stale entries while a visit runs
    std::size_t live_ready_ = 0;
    std::size_t start_ = 0;  // where the next visit begins
    bool visiting_ = false;
};

/// Every broker's sink, the holding sink, and the list of sinks woken since the last drain.
template <class Partition> class sink_router {
public:
    using sink_type = sink<Partition>;

    sink_type& holding() noexcept { return holding_; }
    /// The sink of broker `node` (made on first use); the holding sink for a negative node.
    sink_type& of(std::int32_t node) {
        if (node < 0) return holding_;
        auto& s = sinks_[node];
        if (!s) s = std::make_unique<sink_type>(node);
        return *s;
    }
    /// The sink a partition belongs to, or nullptr.
    static sink_type* home_of(const Partition& p) noexcept {
        return static_cast<sink_type*>(const_cast<void*>(p.link.home));
    }

    /// Puts the partition in its leader's sink (`leader` < 0: the holding sink). A partition
    /// that was ready is ready in its new sink, which is woken. Returns whether it moved.
    bool route(Partition& p, std::int32_t leader) {
        auto& to = of(leader);
        auto* from = home_of(p);
        if (from == &to) return false;
        const bool was_ready = from && from->remove(p);
        to.add(p);
        if (was_ready) mark_ready(p);
        return true;
    }

    /// The partition may have something to send: ready in its sink, and the sink woken.
    void mark_ready(Partition& p) {
        auto* s = home_of(p);
        if (!s) return;
        s->mark_ready(p);
        wake(*s);
    }

    void wake(sink_type& s) {
        if (s.woken) return;
        s.woken = true;
        woken_.push_back(&s);
    }
    /// Wakes every sink that has ready partitions (after a change that concerns them all: a
    /// producer id, an epoch bump, new metadata).
    void wake_all() {
        if (holding_.ready_count() > 0) wake(holding_);
        for (auto& [node, s] : sinks_)
            if (s->ready_count() > 0) wake(*s);
    }
    bool any_woken() const noexcept { return !woken_.empty(); }

    /// Hands over the woken sinks (into `out`, whose capacity is reused) and clears their
    /// flags: a sink woken again from here on is listed anew for the next drain.
    void take_woken(std::vector<sink_type*>& out) {
        out.clear();
        out.swap(woken_);
        for (auto* s : out) s->woken = false;
    }

    /// Every sink with its node id (-1: the holding sink).
    template <class F> void for_each(F&& f) {
        f(holding_);
        for (auto& [node, s] : sinks_) f(*s);
    }

private:
    sink_type holding_{-1};
    std::map<std::int32_t, std::unique_ptr<sink_type>> sinks_;
    std::vector<sink_type*> woken_;
};

}  // namespace kwire::client::detail
