// The committer: commit scheduling per policy, commit rounds and their waiters, OffsetCommit with
// its retries, ack waiters, and committed() (OffsetFetch for the application). See committer.hpp.
#include <boost/asio/post.hpp>

#include <algorithm>

#include "group/committer.hpp"
#include "group/coordinator.hpp"
#include "group/membership.hpp"
#include "observe/logger.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"

namespace kwire::client::detail {

committer::committer(consumer_core& core, coordinator& coord, membership& member)
    : core_(core),
      coordinator_(coord),
      member_(member),
      backoff_(core.cfg.retry_backoff, core.cfg.retry_backoff_max),
      timer_(core.ex) {}

// --- when --------------------------------------------------------------------------------------

void committer::on_acked(const partition_slot& s) {
    const auto& policy = core_.cfg.commit;
    if (policy.k == commit_policy::kind::interval && policy.every.count() == 0 && s.tracker.committable() > s.committed)
        schedule();
}

void committer::on_poll(std::span<const consumer_record> handed_out) {
    const auto& policy = core_.cfg.commit;
    if (policy.k != commit_policy::kind::on_poll) return;
    for (const auto& r : handed_out) r.ack();
    if (clock::now() - last_poll_commit_ >= policy.every) {
        last_poll_commit_ = clock::now();
        commit_marked();
    }
}

void committer::schedule() {
    if (scheduled_ || core_.closed || core_.cfg.group_id.empty()) return;
    if (core_.cfg.commit.k != commit_policy::kind::interval || core_.cfg.commit.every.count() != 0) return;
    scheduled_ = true;
    // Posted: the acknowledgements of one handler run share one commit.
    net::post(core_.ex, [this, keep = core_.keep()] {
        scheduled_ = false;
        commit_marked();
    });
}

void committer::arm_timer() {
    if (timer_armed_ || core_.cfg.group_id.empty()) return;
    if (core_.cfg.commit.k != commit_policy::kind::interval || core_.cfg.commit.every.count() == 0) return;
    timer_armed_ = true;
    timer_.expires_after(core_.cfg.commit.every);
    timer_.async_wait([this, keep = core_.keep()](std::error_code ec) {
        timer_armed_ = false;
        if (ec || core_.closed) return;
        commit_marked();
        arm_timer();
    });
}

// --- rounds ------------------------------------------------------------------------------------

void committer::commit_marked_then(std::function<void(std::error_code)> then) {
    round_waiters_.push_back({round_ + 1, std::move(then)});
    commit_marked();
}

void committer::commit_marked() {
    if (in_flight_) {
        again_ = true;
        return;
    }
    offsets_by_slot offsets;
    for (std::uint32_t i = 0; i < core_.slots.size(); ++i) {
        const auto& s = core_.slots[i];
        if (s.ready() && s.tracker.committable() > s.committed) offsets[i] = s.tracker.committable();
    }
    const auto round = ++round_;
    auto done = [this, keep = core_.keep(), round](std::error_code ec) {
        in_flight_ = false;
        // Waiters of this round (and earlier) complete with its outcome.
        std::list<round_waiter> ready;
        for (auto it = round_waiters_.begin(); it != round_waiters_.end();) {
            auto next = std::next(it);
            if (it->round <= round) ready.splice(ready.end(), round_waiters_, it);
            it = next;
        }
        complete_ack_waiters({});
        for (auto& w : ready) w.handler(ec);
        if (again_) {
            again_ = false;
            commit_marked();
        }
    };
    in_flight_ = true;
    if (offsets.empty() || core_.cfg.group_id.empty()) {
        net::post(core_.ex, [done] { done({}); });
        return;
    }
    send(std::move(offsets), 1, std::move(done));
}

// --- OffsetCommit ------------------------------------------------------------------------------

namespace {
/// What happens next, for the log line of a failed commit.
const char* commit_reaction_words(commit_reaction r) {
    switch (r) {
        case commit_reaction::retry: return "; retrying after retry.backoff.ms";
        case commit_reaction::rediscover_and_retry: return "; finding the coordinator again, then retrying";
        case commit_reaction::fatal: return "; the member may commit nothing more";
        case commit_reaction::fail_and_report:
        case commit_reaction::fail: return "; the commit fails";
    }
    return "";
}
}  // namespace

void committer::send(offsets_by_slot offsets, int attempt, std::function<void(std::error_code)> done) {
    // Fenced (or otherwise fatally failed): this member may commit nothing more; the instance
    // that replaced it resumes from what was committed before.
    if (core_.fatal) return done(core_.fatal);
    // The ownership each offset was read under: it goes out only while that ownership lasts. A
    // partition lost (and perhaps assigned to us again) while the coordinator is looked up or
    // between retries must not get its previous ownership's offset under the member's new epoch:
    // that would move the group's commit back below what the owner in between committed.
    ownerships_by_slot ownerships;
    for (const auto& [i, off] : offsets) ownerships[i] = core_.slots[i].ownership;
    send(std::move(offsets), std::move(ownerships), attempt, std::move(done));
}

void committer::send(offsets_by_slot offsets, ownerships_by_slot ownerships, int attempt,
                     std::function<void(std::error_code)> done) {
    coordinator_.with([this, keep = core_.keep(), offsets = std::move(offsets), ownerships = std::move(ownerships),
                       attempt, done = std::move(done)](std::error_code ec) mutable {
        if (ec) return done(ec);
        std::erase_if(offsets, [&](const auto& e) { return core_.slots[e.first].ownership != ownerships[e.first]; });
        if (offsets.empty()) return done({});
        const auto identity = member_.identity();
        protocol::OffsetCommitRequest req;
        req.group_id = core_.cfg.group_id;
        req.generation_id_or_member_epoch = identity.generation;
        req.member_id = identity.member_id;
        req.group_instance_id = identity.instance_id;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;  // slot, incarnation
        for (const auto& [i, off] : offsets) {
            const auto& s = core_.slots[i];
            if (req.topics.empty() || req.topics.back().name != s.topic) {
                req.topics.emplace_back();
                req.topics.back().name = s.topic;
            }
            auto& p = req.topics.back().partitions.emplace_back();
            p.partition_index = s.partition;
            p.committed_offset = off;
            p.committed_metadata = std::string();
            sent.emplace_back(i, s.incarnation);
        }
        ++commits_sent_;
        const auto sent_at = clock::now();
        coordinator_.broker()->request(
            std::move(req),
            [this, keep, offsets = std::move(offsets), ownerships = std::move(ownerships), sent, identity, attempt,
             done = std::move(done), sent_at](std::error_code ec2, protocol::OffsetCommitResponse resp, std::int16_t) mutable {
                if (core_.closed) return done(make_error_code(client_errc::closed));
                const auto worst = take_answer(offsets, sent, ec2, resp);
                const bool failed = ec2 || worst != 0;
                if (core_.meters) {
                    core_.meters->commits.add();
                    if (failed) core_.meters->commits_failed.add();
                    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - sent_at).count();
                    core_.meters->commit_latency.record(us < 0 ? 0 : static_cast<std::uint64_t>(us));
                }
                if (!failed) return done({});
                const auto reaction = member_.on_commit_error(worst, static_cast<bool>(ec2), identity);
                KWIRE_LOG_LIMITED(core_.brokers->log(), log_level::warn, log_context::group, "commit failed",
                                  "group " + core_.cfg.group_id + ": offset commit (attempt " + std::to_string(attempt) +
                                      ", generation " + std::to_string(identity.generation) + ") failed: " +
                                      (ec2 ? core_.brokers->with_last_error(ec2.message()) : kafka_error(worst).message()) +
                                      commit_reaction_words(reaction));
                switch (reaction) {
                    case commit_reaction::rediscover_and_retry:
                        coordinator_.lost();
                        [[fallthrough]];
                    case commit_reaction::retry:
                        return retry_later(std::move(offsets), std::move(ownerships), attempt, std::move(done));
                    case commit_reaction::fatal:
                        core_.set_fatal(kafka_error(worst));
                        return done(kafka_error(worst));
                    case commit_reaction::fail_and_report:
                        if (core_.cfg.commit.k != commit_policy::kind::manual) core_.deferred_error = kafka_error(worst);
                        return done(kafka_error(worst));
                    case commit_reaction::fail:
                        return done(kafka_error(worst));
                }
            },
            // v9: KIP-848 members must commit at 9+ (the broker refuses older versions).
            {.min_version = 1, .max_version = identity.max_version});
    });
}

std::int16_t committer::take_answer(const offsets_by_slot& offsets,
                                    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent,
                                    std::error_code ec, const protocol::OffsetCommitResponse& resp) {
    std::int16_t worst = 0;
    for (const auto& [i, inc] : sent) {
        auto& s = core_.slots[i];
        std::int16_t error = ec ? wire_code(kafka_errc::none) : wire_code(kafka_errc::unknown_topic_or_partition);
        if (!ec)
            for (const auto& t : resp.topics)
                if (t.name == s.topic)
                    for (const auto& p : t.partitions)
                        if (p.partition_index == s.partition) error = p.error_code;
        if (error == 0 && !ec) {
            if (s.incarnation == inc) s.committed = std::max(s.committed, offsets.at(i));
        } else if (worst == 0) {
            worst = error;
        }
    }
    return worst;
}

void committer::retry_later(offsets_by_slot offsets, ownerships_by_slot ownerships, int attempt,
                            std::function<void(std::error_code)> done) {
    auto timer = std::make_shared<net::steady_timer>(core_.ex, backoff_(attempt));
    timer->async_wait([this, keep = core_.keep(), timer, offsets = std::move(offsets),
                       ownerships = std::move(ownerships), attempt, done = std::move(done)](std::error_code e) mutable {
        if (e || core_.closed) return done(make_error_code(net::error::operation_aborted));
        // Only what is still ours under the same ownership, at what is marked now (a partition
        // whose start is being resolved again has nothing marked yet: its tracker is its last
        // life's).
        offsets_by_slot again;
        for (const auto& [i, off] : offsets) {
            const auto& s = core_.slots[i];
            if (s.assigned && s.ownership == ownerships[i] && s.state == partition_slot::start::ready &&
                s.tracker.committable() > s.committed)
                again[i] = s.tracker.committable();
        }
        if (again.empty()) return done({});
        send(std::move(again), attempt + 1, std::move(done));
    });
}

// --- waiters and the application's calls -------------------------------------------------------

void committer::wait_for(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset,
                         completion<commit_signature> done) {
    ack_waiters_.push_back(ack_waiter{slot, incarnation, offset, std::move(done)});
    if (core_.cfg.group_id.empty())
        return complete_ack_waiters(make_error_code(client_errc::invalid_config));  // nowhere to commit
}

void committer::complete_ack_waiters(std::error_code ec) {
    for (auto it = ack_waiters_.begin(); it != ack_waiters_.end();) {
        auto next = std::next(it);
        const auto& s = core_.slots[it->slot];
        std::optional<std::error_code> outcome;
        if (ec) outcome = ec;
        else if (s.incarnation != it->incarnation || !s.assigned) outcome = make_error_code(client_errc::partition_revoked);
        else if (s.committed > it->offset) outcome = std::error_code{};
        if (outcome) {
            auto done = std::move(it->done);
            ack_waiters_.erase(it);
            done(*outcome);
        }
        it = next;
    }
}

void committer::commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h) {
    std::function<void(std::error_code)> done = completion(core_.ex, std::move(h), stop_waiting);
    if (core_.cfg.group_id.empty()) return done(make_error_code(client_errc::invalid_config));
    if (core_.closed) return done(make_error_code(client_errc::closed));
    if (all_marked) return commit_marked_then(std::move(done));
    offsets_by_slot explicit_offsets;
    for (const auto& o : offsets) {
        const auto i = core_.slots.slot_for(o.topic, o.partition);
        auto& s = core_.slots[i];
        explicit_offsets[i] = o.offset;
        // Explicit offsets are the application's word: the tracker moves with them.
        if (s.assigned && o.offset > s.tracker.committable()) s.tracker.reset(o.offset);
    }
    send(std::move(explicit_offsets), 1, std::move(done));
}

void committer::committed(std::vector<topic_partition> tps, committed_handler handler) {
    auto finish = completion(core_.ex, std::move(handler), stop_waiting);
    if (core_.cfg.group_id.empty())
        return finish(make_error_code(client_errc::invalid_config), std::map<topic_partition, std::int64_t>{});
    coordinator_.with([this, keep = core_.keep(), tps, finish](std::error_code ec) {
        if (ec) return finish(ec, std::map<topic_partition, std::int64_t>{});
        protocol::OffsetFetchRequest req;
        req.group_id = core_.cfg.group_id;
        req.topics.emplace();
        for (const auto& tp : tps) {
            if (req.topics->empty() || req.topics->back().name != tp.topic) {
                req.topics->emplace_back();
                req.topics->back().name = tp.topic;
            }
            req.topics->back().partition_indexes.push_back(tp.partition);
        }
        coordinator_.broker()->request(
            std::move(req),
            [finish](std::error_code ec2, protocol::OffsetFetchResponse resp, std::int16_t) {
                if (!ec2 && resp.error_code) ec2 = kafka_error(resp.error_code);
                std::map<topic_partition, std::int64_t> out;
                for (const auto& t : resp.topics)
                    for (const auto& p : t.partitions) {
                        if (p.error_code && !ec2) ec2 = kafka_error(p.error_code);
                        out[{t.name, p.partition_index}] = p.committed_offset;
                    }
                finish(ec2, std::move(out));
            },
            {.min_version = 1, .max_version = 7});
    });
}

void committer::cancel() {
    timer_.cancel();
    complete_ack_waiters(make_error_code(net::error::operation_aborted));
    auto waiters = std::move(round_waiters_);
    round_waiters_.clear();
    for (auto& w : waiters) w.handler(make_error_code(net::error::operation_aborted));
}

}  // namespace kwire::client::detail
