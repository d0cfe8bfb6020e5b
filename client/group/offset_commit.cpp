// Offset commits: scheduling per the commit policy (on acknowledgement, on a timer, on poll),
// commit_marked and send_commit (OffsetCommit), the waiters of commit() and ack_and_wait(), and
// committed() (OffsetFetch for the application). Error handling follows classify_group_error.
#include <boost/asio/post.hpp>

#include <algorithm>

#include "consumer/consumer_impl.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"

namespace kwire::client::detail {

// --- commits ---------------------------------------------------------------------------------

void consumer_impl::on_acked(partition_slot& s) {
    if (cfg_.commit.k == commit_policy::kind::interval && cfg_.commit.every.count() == 0 &&
        s.tracker.committable() > s.committed)
        schedule_commit();
}

void consumer_impl::schedule_commit() {
    if (commit_scheduled_ || closed_ || cfg_.group_id.empty()) return;
    if (cfg_.commit.k != commit_policy::kind::interval || cfg_.commit.every.count() != 0) return;
    commit_scheduled_ = true;
    // Posted: the acknowledgements of one handler run share one commit.
    net::post(ex_, [self = shared_from_this()] {
        self->commit_scheduled_ = false;
        self->commit_marked();
    });
}

void consumer_impl::arm_commit_timer() {
    if (commit_timer_armed_ || cfg_.group_id.empty()) return;
    if (cfg_.commit.k != commit_policy::kind::interval || cfg_.commit.every.count() == 0) return;
    commit_timer_armed_ = true;
    commit_timer_.expires_after(cfg_.commit.every);
    commit_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        self->commit_timer_armed_ = false;
        if (ec || self->closed_) return;
        self->commit_marked();
        self->arm_commit_timer();
    });
}

void consumer_impl::commit_marked() {
    if (commit_in_flight_) {
        commit_again_ = true;
        return;
    }
    std::map<std::uint32_t, std::int64_t> offsets;
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        const auto& s = *slots_[i];
        if (s.assigned && s.state == partition_slot::start::ready && s.tracker.committable() > s.committed)
            offsets[i] = s.tracker.committable();
    }
    const auto round = ++commit_round_;
    auto self = shared_from_this();
    auto done = [self, round](std::error_code ec) {
        self->commit_in_flight_ = false;
        // Waiters of this round (and earlier) complete with its outcome.
        std::list<commit_waiter> ready;
        for (auto it = self->commit_waiters_.begin(); it != self->commit_waiters_.end();) {
            auto next = std::next(it);
            if (it->round <= round) ready.splice(ready.end(), self->commit_waiters_, it);
            it = next;
        }
        self->complete_ack_waiters({});
        for (auto& w : ready) w.handler(ec);
        if (self->commit_again_) {
            self->commit_again_ = false;
            self->commit_marked();
        }
    };
    if (offsets.empty() || cfg_.group_id.empty()) {
        commit_in_flight_ = true;
        net::post(ex_, [done] { done({}); });
        return;
    }
    commit_in_flight_ = true;
    send_commit(std::move(offsets), std::move(done));
}

void consumer_impl::send_commit(std::map<std::uint32_t, std::int64_t> offsets, std::function<void(std::error_code)> done) {
    // Fenced (or otherwise fatally failed): this member may commit nothing more; the instance
    // that replaced it resumes from what was committed before.
    if (fatal_) return done(fatal_);
    // The ownership each offset was read under: it goes out only while that ownership lasts. A
    // partition lost (and perhaps assigned to us again) while the coordinator is looked up or
    // between retries must not get its previous ownership's offset under the member's new epoch:
    // that would move the group's commit back below what the owner in between committed.
    std::map<std::uint32_t, std::uint32_t> ownerships;
    for (const auto& [i, off] : offsets) ownerships[i] = slots_[i]->ownership;
    auto self = shared_from_this();
    with_coordinator([self, offsets = std::move(offsets), ownerships,
                      done = std::move(done)](std::error_code ec) mutable {
        if (ec) return done(ec);
        std::erase_if(offsets, [&](const auto& e) { return self->slots_[e.first]->ownership != ownerships[e.first]; });
        if (offsets.empty()) return done({});
        protocol::OffsetCommitRequest req;
        req.group_id = self->cfg_.group_id;
        // KIP-848 members commit with their epoch, classic ones with their generation.
        const bool member = self->consumer_protocol();
        req.generation_id_or_member_epoch =
            !self->subscribed_ ? -1 : member ? self->generation_ : self->classic_.generation();
        req.member_id = !self->subscribed_ ? std::string() : member ? self->member_id_ : self->classic_.member_id();
        req.group_instance_id = self->subscribed_ ? self->cfg_.group_instance_id : std::nullopt;
        // The membership this commit speaks for: a classic member's generation is settled only
        // while it is not joining, and each join begins a new one (join_epoch_).
        const bool sent_joining = self->joining_;
        const auto join_epoch = self->join_epoch_;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;
        for (const auto& [i, off] : offsets) {
            const auto& s = *self->slots_[i];
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
        ++self->commits_sent_;
        self->cluster_->broker(self->coordinator_)
            ->request(std::move(req),
                      [self, offsets = std::move(offsets), ownerships, sent, sent_joining, join_epoch,
                       done = std::move(done)](
                          std::error_code ec2, protocol::OffsetCommitResponse resp, std::int16_t) mutable {
                          if (self->closed_) return done(make_error_code(client_errc::closed));
                          std::int16_t worst = 0;
                          for (const auto& [i, inc] : sent) {
                              auto& s = *self->slots_[i];
                              std::int16_t error = ec2 ? wire_code(kafka_errc::none)
                                                       : wire_code(kafka_errc::unknown_topic_or_partition);
                              if (!ec2)
                                  for (const auto& t : resp.topics)
                                      if (t.name == s.topic)
                                          for (const auto& p : t.partitions)
                                              if (p.partition_index == s.partition) error = p.error_code;
                              if (error == 0 && !ec2) {
                                  if (s.incarnation == inc) s.committed = std::max(s.committed, offsets[i]);
                              } else if (worst == 0) {
                                  worst = error;
                              }
                          }
                          const auto action = classify_group_error(group_api::commit, worst, static_cast<bool>(ec2));
                          auto retry_later = [self, offsets, ownerships, done]() mutable {
                              auto timer = std::make_shared<net::steady_timer>(self->ex_, self->cfg_.retry_backoff);
                              timer->async_wait([self, timer, offsets, ownerships, done](std::error_code e) mutable {
                                  if (e || self->closed_) return done(make_error_code(net::error::operation_aborted));
                                  // Only what is still ours under the same ownership, at what is
                                  // marked now (a partition whose start is being resolved again
                                  // has nothing marked yet: its tracker is its last life's).
                                  std::map<std::uint32_t, std::int64_t> again;
                                  for (const auto& [i, off] : offsets) {
                                      const auto& s = *self->slots_[i];
                                      if (s.assigned && s.ownership == ownerships[i] &&
                                          s.state == partition_slot::start::ready &&
                                          s.tracker.committable() > s.committed)
                                          again[i] = s.tracker.committable();
                                  }
                                  if (again.empty()) return done({});
                                  self->send_commit(std::move(again), std::move(done));
                              });
                          };
                          if (self->consumer_protocol()) {
                              switch (classify_member_commit_error(worst, static_cast<bool>(ec2))) {
                                  case member_commit_action::none: return done({});
                                  case member_commit_action::rediscover_coordinator:
                                      self->coordinator_lost();
                                      return retry_later();
                                  case member_commit_action::retry: return retry_later();  // with the epoch by then
                                  case member_commit_action::fatal:
                                      self->set_fatal(kafka_error(worst));
                                      return done(kafka_error(worst));
                                  case member_commit_action::fail:
                                      // Fenced or unknown: the heartbeat finds out and rejoins;
                                      // per-partition problems are reported as under classic.
                                      if (to_kafka_errc(worst) != kafka_errc::unknown_member_id &&
                                          to_kafka_errc(worst) != kafka_errc::fenced_member_epoch &&
                                          self->cfg_.commit.k != commit_policy::kind::manual)
                                          self->deferred_error_ = kafka_error(worst);
                                      return done(kafka_error(worst));
                              }
                          }
                          // A verdict on a membership this member has already left -- the commit
                          // went out during a join, or a join began since -- says nothing about
                          // the current one: a commit sent under generation N and answered
                          // ILLEGAL_GENERATION after the join to N+1 completed must not reset
                          // N+1, nor start another join (a coordinator that rebalances on every
                          // JoinGroup, as the C client's mock cluster does, then never settles). The offsets
                          // go again under the current generation once the join is over; a join
                          // in progress commits what it held back when it is assigned.
                          const bool membership_left =
                              self->subscribed_ && (sent_joining || join_epoch != self->join_epoch_);
                          if (membership_left &&
                              (action == group_action::rejoin || action == group_action::reset_and_rejoin)) {
                              if (self->joining_) return done(kafka_error(worst));
                              return retry_later();
                          }
                          switch (action) {
                              case group_action::none:
                                  return done({});
                              case group_action::rediscover_coordinator:
                                  self->coordinator_lost();
                                  return retry_later();
                              case group_action::retry:
                                  return retry_later();
                              case group_action::rejoin:
                                  // A rebalance is under way: join it, and send the offsets again
                                  // (with the generation current by then) -- a broker accepts them
                                  // once the group is past its CompletingRebalance step.
                                  // While we are the ones rejoining (an eager member committing
                                  // before it gives its partitions up), the join must not wait:
                                  // the offsets stay uncommitted, and whoever gets the
                                  // partitions re-reads from the last commit -- repeated, never
                                  // skipped.
                                  if (self->joining_) return done(kafka_error(worst));
                                  self->request_rejoin();
                                  return retry_later();
                              case group_action::reset_and_rejoin:
                                  self->classic_.on_membership_lost(worst);
                                  self->lose_all();
                                  self->request_rejoin();
                                  return done(kafka_error(worst));
                              case group_action::fatal:
                                  self->set_fatal(kafka_error(worst));
                                  return done(kafka_error(worst));
                              default:
                                  if (self->cfg_.commit.k != commit_policy::kind::manual)
                                      self->deferred_error_ = kafka_error(worst);
                                  return done(kafka_error(worst));
                          }
                      },
                      // v9: KIP-848 members must commit at 9+ (the broker refuses older versions).
                      {.min_version = 1, .max_version = std::int16_t(self->consumer_protocol() ? 9 : 8)});
    });
}

void consumer_impl::complete_ack_waiters(std::error_code ec) {
    for (auto it = ack_waiters_.begin(); it != ack_waiters_.end();) {
        auto next = std::next(it);
        const auto& s = *slots_[it->slot];
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

void consumer_impl::commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h) {
    std::function<void(std::error_code)> done = completion(ex_, std::move(h), stop_waiting);
    if (cfg_.group_id.empty()) return done(make_error_code(client_errc::invalid_config));
    if (closed_) return done(make_error_code(client_errc::closed));
    if (all_marked) {
        commit_waiters_.push_back({commit_round_ + 1, std::move(done)});
        return commit_marked();
    }
    std::map<std::uint32_t, std::int64_t> explicit_offsets;
    for (const auto& o : offsets) {
        const auto i = slot_for(o.topic, o.partition);
        explicit_offsets[i] = o.offset;
        // Explicit offsets are the application's word: the tracker moves with them.
        if (slots_[i]->assigned && o.offset > slots_[i]->tracker.committable()) slots_[i]->tracker.reset(o.offset);
    }
    send_commit(std::move(explicit_offsets), std::move(done));
}

void consumer_impl::committed(std::vector<topic_partition> tps, committed_handler handler) {
    auto finish = completion(ex_, std::move(handler), stop_waiting);
    if (cfg_.group_id.empty()) return finish(make_error_code(client_errc::invalid_config), std::map<topic_partition, std::int64_t>{});
    auto self = shared_from_this();
    with_coordinator([self, tps, finish](std::error_code ec) {
        if (ec) return finish(ec, std::map<topic_partition, std::int64_t>{});
        protocol::OffsetFetchRequest req;
        req.group_id = self->cfg_.group_id;
        req.topics.emplace();
        for (const auto& tp : tps) {
            if (req.topics->empty() || req.topics->back().name != tp.topic) {
                req.topics->emplace_back();
                req.topics->back().name = tp.topic;
            }
            req.topics->back().partition_indexes.push_back(tp.partition);
        }
        self->cluster_->broker(self->coordinator_)
            ->request(std::move(req), [finish](std::error_code ec2, protocol::OffsetFetchResponse resp, std::int16_t) {
                if (!ec2 && resp.error_code) ec2 = kafka_error(resp.error_code);
                std::map<topic_partition, std::int64_t> out;
                for (const auto& t : resp.topics)
                    for (const auto& p : t.partitions) {
                        if (p.error_code && !ec2) ec2 = kafka_error(p.error_code);
                        out[{t.name, p.partition_index}] = p.committed_offset;
                    }
                finish(ec2, std::move(out));
            }, {.min_version = 1, .max_version = 7});
    });
}

}  // namespace kwire::client::detail
