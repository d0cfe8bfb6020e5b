// The classic protocol's partition assignors (range, roundrobin, cooperative-sticky) as pure
// functions, and diff_assignment for cooperative rebalances.
#include "kwire/client/assignor.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <set>
#include <tuple>

namespace kwire::client {

namespace {

/// Java orders members by group.instance.id when they have one (static members first, so that
/// their assignment survives restarts), then by member id.
std::vector<const group_member*> ordered(const std::vector<group_member>& members) {
    std::vector<const group_member*> out;
    for (const auto& m : members) out.push_back(&m);
    std::sort(out.begin(), out.end(), [](const group_member* a, const group_member* b) {
        if (a->group_instance_id && b->group_instance_id) return *a->group_instance_id < *b->group_instance_id;
        if (a->group_instance_id.has_value() != b->group_instance_id.has_value()) return a->group_instance_id.has_value();
        return a->member_id < b->member_id;
    });
    return out;
}

bool subscribes(const group_member& m, const std::string& topic) {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

assignment empty_for(const std::vector<group_member>& members) {
    assignment out;
    for (const auto& m : members) out[m.member_id];
    return out;
}

}  // namespace

assignment assign_range(const std::vector<group_member>& members, const std::map<std::string, std::int32_t>& partitions) {
    auto out = empty_for(members);
    const auto order = ordered(members);
    for (const auto& [topic, count] : partitions) {
        std::vector<const group_member*> consumers;
        for (const auto* m : order)
            if (subscribes(*m, topic)) consumers.push_back(m);
        if (consumers.empty() || count <= 0) continue;
        const auto c = static_cast<std::int32_t>(consumers.size());
        const auto per = count / c;
        const auto extra = count % c;
        for (std::int32_t i = 0; i < c; ++i) {
            const auto start = per * i + std::min(i, extra);
            const auto length = per + (i < extra ? 1 : 0);
            auto& mine = out[consumers[static_cast<std::size_t>(i)]->member_id];
            for (std::int32_t p = start; p < start + length; ++p) mine.push_back({topic, p});
        }
    }
    return out;
}

assignment assign_roundrobin(const std::vector<group_member>& members,
                             const std::map<std::string, std::int32_t>& partitions) {
    auto out = empty_for(members);
    const auto order = ordered(members);
    if (order.empty()) return out;
    std::set<std::string> subscribed;
    for (const auto& m : members) subscribed.insert(m.topics.begin(), m.topics.end());
    std::size_t next = 0;
    for (const auto& [topic, count] : partitions) {  // std::map: topics in order
        if (!subscribed.count(topic)) continue;
        for (std::int32_t p = 0; p < count; ++p) {
            // Advance to the next member subscribed to this topic (one exists: `subscribed`).
            while (!subscribes(*order[next % order.size()], topic)) ++next;
            out[order[next % order.size()]->member_id].push_back({topic, p});
            ++next;
        }
    }
    return out;
}

namespace {

/// The state of one cooperative-sticky run. Topics, partitions and members are referred to by
/// index: topics and partitions in (topic, partition) order, members in `ordered` order.
class sticky_run {
public:
    sticky_run(const std::vector<group_member>& members, const std::map<std::string, std::int32_t>& partitions)
        : order_(ordered(members)) {
        index_partitions(partitions);
        index_claims();
    }

    assignment run() {
        keep();
        fill();
        balance();
        return cooperate();
    }

private:
    static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

    /// Every partition of a topic someone subscribes to, and who may take it.
    void index_partitions(const std::map<std::string, std::int32_t>& partitions) {
        topics_of_.assign(order_.size(), {});
        potential_.assign(order_.size(), 0);
        for (const auto& [topic, count] : partitions) {
            std::vector<std::size_t> takers;
            for (std::size_t m = 0; m < order_.size(); ++m)
                if (subscribes(*order_[m], topic)) takers.push_back(m);
            if (takers.empty() || count <= 0) continue;
            const auto t = topic_begin_.size();
            topic_begin_.push_back(all_.size());
            for (const auto m : takers) {
                topics_of_[m].push_back(t);
                potential_[m] += static_cast<std::size_t>(count);
            }
            for (std::int32_t p = 0; p < count; ++p) {
                index_.emplace(topic_partition{topic, p}, all_.size());
                all_.push_back({topic, p});
                topic_of_.push_back(t);
                takers_.push_back(takers);
            }
        }
        topic_begin_.push_back(all_.size());  // so topic t spans [topic_begin_[t], topic_begin_[t + 1])
        owner_.assign(all_.size(), none);
        holder_.assign(all_.size(), none);
        claimants_.assign(all_.size(), {});
        held_.assign(order_.size(), {});
    }

    bool may_take(std::size_t m, std::size_t p) const {
        return std::binary_search(topics_of_[m].begin(), topics_of_[m].end(), topic_of_[p]);
    }

    /// Step 1: who claims what (any generation), and who validly owns what.
    void index_claims() {
        std::int32_t newest = -1;
        for (const auto* m : order_) newest = std::max(newest, m->generation);
        std::vector<std::vector<std::size_t>> valid(all_.size());
        for (std::size_t m = 0; m < order_.size(); ++m) {
            const std::set<topic_partition> owned(order_[m]->owned.begin(), order_[m]->owned.end());
            for (const auto& tp : owned) {
                const auto it = index_.find(tp);
                if (it == index_.end()) continue;  // gone, or nobody subscribes to its topic
                const auto p = it->second;
                claimants_[p].push_back(m);
                if (order_[m]->generation == newest && may_take(m, p)) valid[p].push_back(m);
            }
        }
        for (std::size_t p = 0; p < all_.size(); ++p)
            if (valid[p].size() == 1) owner_[p] = valid[p].front();
    }

    std::size_t load(std::size_t m) const { return held_[m][0].size() + held_[m][1].size(); }

    void give(std::size_t p, std::size_t m) {
        if (const auto h = holder_[p]; h != none) held_[h][owner_[p] == h].erase(p);
        holder_[p] = m;
        held_[m][owner_[p] == m].insert(p);
    }

    /// Step 2.
    void keep() {
        for (std::size_t p = 0; p < all_.size(); ++p)
            if (owner_[p] != none) give(p, owner_[p]);
    }

    /// Step 3.
    void fill() {
        std::vector<std::size_t> open;
        for (std::size_t p = 0; p < all_.size(); ++p)
            if (holder_[p] == none) open.push_back(p);
        std::stable_sort(open.begin(), open.end(),
                         [&](std::size_t a, std::size_t b) { return takers_[a].size() < takers_[b].size(); });
        const auto key = [&](std::size_t m) { return std::tuple(load(m), potential_[m], m); };
        for (const auto p : open)
            give(p, *std::min_element(takers_[p].begin(), takers_[p].end(),
                                      [&](std::size_t a, std::size_t b) { return key(a) < key(b); }));
    }

    /// Step 4.
    void balance() {
        std::vector<std::size_t> by_load(order_.size());
        for (std::size_t m = 0; m < by_load.size(); ++m) by_load[m] = m;
        for (;;) {
            std::stable_sort(by_load.begin(), by_load.end(),
                             [&](std::size_t a, std::size_t b) { return load(a) < load(b); });
            if (!move_one(by_load)) return;
        }
    }

    /// Moves one partition from a member to a taker two or more below it; false if none can.
    bool move_one(const std::vector<std::size_t>& by_load) {
        for (auto x = by_load.rbegin(); x != by_load.rend(); ++x) {
            for (const auto y : by_load) {
                if (load(y) + 1 >= load(*x)) break;
                const auto p = movable(*x, y);
                if (p != none) {
                    give(p, y);
                    return true;
                }
            }
        }
        return false;
    }

    /// The highest partition of `from` that `to` may take, looking first at those `from` did not
    /// own before this round.
    std::size_t movable(std::size_t from, std::size_t to) const {
        for (const auto& held : held_[from]) {  // [0]: not owned, [1]: owned
            std::size_t best = none;
            for (const auto t : topics_of_[to]) {
                auto it = held.lower_bound(topic_begin_[t + 1]);
                if (it == held.begin() || *std::prev(it) < topic_begin_[t]) continue;
                best = best == none ? *std::prev(it) : std::max(best, *std::prev(it));
            }
            if (best != none) return best;
        }
        return none;
    }

    /// Step 5.
    assignment cooperate() const {
        assignment out;
        for (const auto* m : order_) out[m->member_id];
        for (std::size_t p = 0; p < all_.size(); ++p) {
            const auto m = holder_[p];
            if (m == none) continue;
            const bool someone_else_claims = std::any_of(claimants_[p].begin(), claimants_[p].end(),
                                                         [&](std::size_t c) { return c != m; });
            if (owner_[p] != m && someone_else_claims) continue;
            out[order_[m]->member_id].push_back(all_[p]);  // p ascending: lists come out sorted
        }
        return out;
    }

    std::vector<const group_member*> order_;
    std::vector<std::size_t> topic_begin_;             // per topic: its first partition
    std::vector<std::vector<std::size_t>> topics_of_;  // per member: the topics it may take, ascending
    std::vector<std::size_t> potential_;               // per member: how many partitions it may take
    std::vector<topic_partition> all_;                 // every assignable partition, sorted
    std::map<topic_partition, std::size_t> index_;
    std::vector<std::size_t> topic_of_;                // per partition: its topic
    std::vector<std::vector<std::size_t>> takers_;     // per partition: members that may take it
    std::vector<std::vector<std::size_t>> claimants_;  // per partition: members claiming it
    std::vector<std::size_t> owner_;                   // per partition: its valid owner, or none
    std::vector<std::size_t> holder_;                  // per partition: who has it now, or none
    std::vector<std::array<std::set<std::size_t>, 2>> held_;  // per member: what it has now, [owned]
};

}  // namespace

assignment assign_cooperative_sticky(const std::vector<group_member>& members,
                                     const std::map<std::string, std::int32_t>& partitions) {
    return sticky_run(members, partitions).run();
}

assignment_diff diff_assignment(const std::vector<topic_partition>& before, const std::vector<topic_partition>& after) {
    const std::set<topic_partition> b(before.begin(), before.end());
    const std::set<topic_partition> a(after.begin(), after.end());
    assignment_diff d;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(d.added));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(d.revoked));
    return d;
}

}  // namespace kwire::client
