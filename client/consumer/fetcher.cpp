// Fetching: one Fetch in flight per leader (with its KIP-227 fetch session), prefetching while
// the application works through what poll handed out; decoding a response into chunks of record
// views, and the errors that move a partition (leadership) or reset it (out of range). See
// consumer_impl.hpp for a partition's life.
#include "consumer/consumer_impl.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "core/leadership_errors.hpp"
#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/fetch.hpp"

namespace kwire::client::detail {

void consumer_impl::schedule_fetch() {
    if (fetch_scheduled_ || closed_) return;
    fetch_scheduled_ = true;
    net::post(ex_, [self = shared_from_this()] { self->fetch_round(); });
}

void consumer_impl::fetch_round() {
    fetch_scheduled_ = false;
    if (closed_ || closing_ || fatal_) return;
    const auto now = clock::now();
    std::map<std::int32_t, std::vector<std::uint32_t>> by_leader;
    std::vector<std::string> unknown;
    clock::time_point retry_at = clock::time_point::max();
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        auto& s = *slots_[i];
        if (!s.assigned || s.paused || s.fetching || s.state != partition_slot::start::ready) continue;
        // Prefetch: one chunk may wait for the application while the next is fetched.
        if (s.buffered.size() > 1) continue;
        if (now < s.not_before) {
            retry_at = std::min(retry_at, s.not_before);
            continue;
        }
        const auto* t = cluster_->topic(s.topic);
        std::int32_t leader = -1;
        if (t && static_cast<std::size_t>(s.partition) < t->partitions.size()) {
            leader = t->partitions[static_cast<std::size_t>(s.partition)].leader;
            s.leader_epoch = t->partitions[static_cast<std::size_t>(s.partition)].leader_epoch;
        }
        if (leader < 0) {
            if (std::find(unknown.begin(), unknown.end(), s.topic) == unknown.end()) unknown.push_back(s.topic);
            continue;
        }
        if (fetching_from_.count(leader)) continue;
        by_leader[leader].push_back(i);
    }
    if (!unknown.empty()) {
        auto self = shared_from_this();
        cluster_->refresh(unknown, [self](std::error_code ec) {
            if (ec) {
                // No broker answered: try again after the backoff.
                self->fetch_retry_timer_.expires_after(self->cfg_.retry_backoff);
                self->fetch_retry_timer_.async_wait([self](std::error_code e) {
                    if (!e) self->schedule_fetch();
                });
                return;
            }
            self->schedule_fetch();
        });
    }
    for (auto& [leader, slots] : by_leader) send_fetch(leader, std::move(slots));
    if (retry_at != clock::time_point::max() && !fetch_retry_armed_) {
        fetch_retry_armed_ = true;
        fetch_retry_timer_.expires_at(retry_at);
        fetch_retry_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            self->fetch_retry_armed_ = false;
            if (!ec) self->schedule_fetch();
        });
    }
}

protocol::FetchRequest consumer_impl::fetch_request(const fetch_plan& plan) const {
    protocol::FetchRequest req;
    req.replica_id = -1;
    req.max_wait_ms = static_cast<std::int32_t>(cfg_.fetch_max_wait.count());
    req.min_bytes = cfg_.fetch_min_bytes;
    req.max_bytes = cfg_.fetch_max_bytes;
    req.isolation_level = cfg_.isolation_level == isolation::read_committed ? 1 : 0;
    req.session_id = plan.session_id;
    req.session_epoch = plan.epoch;
    req.rack_id = cfg_.client_rack;
    for (const auto& w : plan.send) {
        const auto& s = *slots_[w.id];
        if (req.topics.empty() || req.topics.back().topic != s.topic) {
            req.topics.emplace_back();
            req.topics.back().topic = s.topic;
        }
        auto& p = req.topics.back().partitions.emplace_back();
        p.partition = s.partition;
        p.current_leader_epoch = w.position.current_leader_epoch;
        p.fetch_offset = w.position.fetch_offset;
        p.log_start_offset = w.position.log_start_offset;
        p.partition_max_bytes = w.position.max_bytes;
    }
    for (const auto id : plan.forget) {
        const auto& s = *slots_[id];
        if (req.forgotten_topics_data.empty() || req.forgotten_topics_data.back().topic != s.topic) {
            req.forgotten_topics_data.emplace_back();
            req.forgotten_topics_data.back().topic = s.topic;
        }
        req.forgotten_topics_data.back().partitions.push_back(s.partition);
    }
    return req;
}

void consumer_impl::send_fetch(std::int32_t leader, const std::vector<std::uint32_t>& slots) {
    auto conn = cluster_->broker(leader);
    if (!conn) return;
    // Every partition wanted from this leader now; the session decides which of them the
    // request lists (all of them when it is full) and which it forgets.
    fetch_wanted_.clear();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;  // slot, incarnation
    sent.reserve(slots.size());
    for (const auto i : slots) {
        auto& s = *slots_[i];
        fetch_wanted_.push_back({i, fetch_position{s.fetch_offset, s.leader_epoch, cfg_.max_partition_fetch_bytes, -1}});
        s.fetching = true;  // the broker may answer for it whether or not the request lists it
        sent.emplace_back(i, s.incarnation);
    }
    fetch_sessions_[leader].plan(fetch_wanted_, fetch_plan_);
    fetching_from_.insert(leader);
    auto self = shared_from_this();
    // v4: RecordBatch and isolation levels; v7: sessions; v13 names topics by id (not used
    // yet): v12 at most.
    conn->request_frame(
        fetch_request(fetch_plan_),
        [self, leader, sent = std::move(sent)](std::error_code ec, protocol::bytes_view frame, std::int16_t version) {
            self->on_fetch_response(leader, sent, ec, frame, version);
        },
        {.min_version = 4, .max_version = 12, .extra_time = cfg_.fetch_max_wait});
}

void consumer_impl::close_fetch_sessions(std::function<void()> then) {
    // Ends each broker's session (epoch -1) so that it does not hold a slot of the broker's
    // session cache until evicted. Best effort, as the Java client: only over connections that
    // are up (closing does not wait for a reconnect), failures ignored. A Fetch still in flight
    // to the broker is answered first (a broker serves a connection's requests in order).
    auto remaining = std::make_shared<std::size_t>(1);
    auto done = [remaining, then = std::move(then)] {
        if (--*remaining == 0) then();
    };
    for (auto& [leader, session] : fetch_sessions_) {
        const auto plan = session.close();
        auto conn = plan ? cluster_->broker(leader) : nullptr;
        if (!conn || !conn->ready()) continue;
        auto req = fetch_request(*plan);
        req.max_wait_ms = 0;
        ++*remaining;
        conn->request_frame(std::move(req), [done](std::error_code, protocol::bytes_view, std::int16_t) { done(); },
                            {.min_version = fetch_session::min_version, .max_version = 12});
    }
    done();
}

namespace {

/// Decodes one partition's records into `chunk`, dropping records before `from` (a fetch can
/// start inside a batch), control batches, and -- under read_committed -- aborted transactions.
std::error_code decode_partition(protocol::bytes_view records, std::int64_t from,
                                 const protocol::FetchResponse::PartitionData& pd, bool read_committed,
                                 bool verify_crc, std::string_view topic, std::int32_t partition, fetched_chunk& chunk,
                                 std::vector<std::vector<std::uint8_t>>& spare) {
    // Aborted transactions, by first offset; a producer's records are dropped from its first
    // offset until its abort marker.
    std::vector<std::pair<std::int64_t, std::int64_t>> aborted;  // first offset, producer id
    if (read_committed && pd.aborted_transactions)
        for (const auto& a : *pd.aborted_transactions) aborted.emplace_back(a.first_offset, a.producer_id);
    std::sort(aborted.begin(), aborted.end());
    std::size_t next_aborted = 0;
    std::set<std::int64_t> aborting;

    codec::decode_options options;
    options.verify_crc = verify_crc;
    chunk.end_offset = from;
    std::size_t consumed = 0;
    while (consumed < records.size()) {
        std::vector<std::uint8_t> buffer;
        if (!spare.empty()) {
            buffer = std::move(spare.back());
            spare.pop_back();
            buffer.clear();
        }
        codec::records_reader reader(records.subview(consumed, records.size() - consumed), buffer, options);
        if (!reader.next_batch()) {
            if (reader.error()) return reader.error();
            spare.push_back(std::move(buffer));
            break;  // end, or a partial batch cut by the size limit: fetched again next time
        }
        consumed += reader.bytes_consumed();
        const auto& h = reader.batch();
        const std::int64_t batch_end = h.last_offset() + 1;
        while (next_aborted < aborted.size() && aborted[next_aborted].first <= batch_end - 1)
            aborting.insert(aborted[next_aborted++].second);
        bool skip = false;
        if (h.is_control()) {
            skip = true;
            codec::record_view rec;
            // The control record's key: version int16, type int16 (0 abort, 1 commit).
            if (reader.next_record(rec) && rec.key && rec.key->size() >= 4 && rec.key->data()[3] == 0)
                aborting.erase(h.producer_id);
        } else if (read_committed && h.is_transactional() && aborting.count(h.producer_id)) {
            skip = true;
        }
        const bool kept_buffer = !skip && !buffer.empty();
        if (!skip) {
            codec::record_view rec;
            while (reader.next_record(rec)) {
                if (rec.offset < from) continue;
                consumer_record r;
                r.topic = topic;
                r.partition = partition;
                r.offset = rec.offset;
                r.timestamp = rec.timestamp;
                r.timestamp_kind = h.ts_type();
                r.leader_epoch = h.partition_leader_epoch;
                r.key = rec.key;
                r.value = rec.value;
                r.headers = rec.headers;
                chunk.records.push_back(r);
            }
            if (reader.error()) return reader.error();
        }
        if (kept_buffer) chunk.inflated.push_back(std::move(buffer));
        else spare.push_back(std::move(buffer));
        chunk.end_offset = std::max(chunk.end_offset, batch_end);
    }
    return {};
}

}  // namespace

void consumer_impl::on_fetch_response(std::int32_t leader,
                                      const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent,
                                      std::error_code ec, protocol::bytes_view frame, std::int16_t version) {
    fetching_from_.erase(leader);
    if (closed_) return;
    for (const auto& [i, inc] : sent) slots_[i]->fetching = false;

    // The records stay as views into this copy of the response until the application is done.
    std::shared_ptr<const std::vector<std::uint8_t>> owned;
    protocol::FetchResponse resp;
    if (!ec) {
        owned = std::make_shared<const std::vector<std::uint8_t>>(frame.begin(), frame.end());
        ec = protocol::decode_response(protocol::bytes_view(owned->data(), owned->size()), version, resp);
    }
    // Which slot each answered partition is (unknown_partition: none we know), in answer order.
    fetch_answered_.clear();
    if (!ec)
        for (const auto& tr : resp.responses)
            for (const auto& pd : tr.partitions) {
                const auto sit = slot_index_.find(topic_partition{tr.topic, pd.partition_index});
                fetch_answered_.push_back(sit == slot_index_.end() ? fetch_session::unknown_partition : sit->second);
            }
    auto& session = fetch_sessions_[leader];
    if (ec) {
        session.on_failure();
    } else if (session.on_response(version, resp.error_code, resp.session_id, fetch_answered_) ==
               fetch_verdict::discard) {
        // FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH: the broker lost or moved past
        // our session. Nothing was consumed, positions are unchanged: fetch again now, in full.
        if (const auto error = to_kafka_errc(resp.error_code);
            error == kafka_errc::fetch_session_id_not_found || error == kafka_errc::invalid_fetch_session_epoch)
            return schedule_fetch();
        ec = resp.error_code != 0 ? kafka_error(resp.error_code) : make_error_code(std::errc::protocol_error);
    }
    const auto now = clock::now();
    if (ec) {
        // The connection failed or the answer was unusable: the leader may be gone.
        std::set<std::string> topics;
        for (const auto& [i, inc] : sent) {
            slots_[i]->not_before = now + cfg_.retry_backoff;
            topics.insert(slots_[i]->topic);
        }
        auto self = shared_from_this();
        cluster_->refresh({topics.begin(), topics.end()}, [self](std::error_code) { self->schedule_fetch(); });
        schedule_fetch();
        return;
    }
    std::vector<std::uint32_t> reset;
    std::set<std::string> refresh;
    bool any = false;
    std::size_t answered = 0;
    for (const auto& tr : resp.responses) {
        for (const auto& pd : tr.partitions) {
            const auto i = fetch_answered_[answered++];
            if (i == fetch_session::unknown_partition) continue;
            auto& s = *slots_[i];
            const auto was = std::find_if(sent.begin(), sent.end(), [&](const auto& p) { return p.first == i; });
            if (was == sent.end() || was->second != s.incarnation || !s.assigned ||
                s.state != partition_slot::start::ready)
                continue;  // revoked, re-assigned or seeked since: the answer is stale
            if (pd.current_leader.leader_id >= 0)
                cluster_->update_leader(s.topic, s.partition, pd.current_leader.leader_id, pd.current_leader.leader_epoch);
            if (to_kafka_errc(pd.error_code) == kafka_errc::offset_out_of_range) {
                if (cfg_.auto_offset_reset == offset_reset::none) {
                    deferred_error_ = make_error_code(kafka_errc::offset_out_of_range);
                    s.paused = true;  // until the application seeks
                    continue;
                }
                // Below the log start: the earliest record is the next one that exists, whatever
                // the policy. Past the end: the policy decides.
                s.state = partition_slot::start::reset;
                s.reset_to = (pd.log_start_offset >= 0 && s.fetch_offset < pd.log_start_offset) ||
                                     cfg_.auto_offset_reset == offset_reset::earliest
                                 ? offset::beginning
                                 : offset::end;
                reset.push_back(i);
                continue;
            }
            if (pd.error_code != 0) {
                s.not_before = now + cfg_.retry_backoff;
                if (read_leadership_may_have_moved(to_kafka_errc(pd.error_code))) refresh.insert(s.topic);
                else if (!is_retriable(pd.error_code)) deferred_error_ = kafka_error(pd.error_code);
                continue;
            }
            s.high_watermark = pd.high_watermark;
            if (!pd.records || pd.records->empty()) continue;
            fetched_chunk chunk;
            chunk.frame = owned;
            const auto dec = decode_partition(*pd.records, s.fetch_offset, pd,
                                              cfg_.isolation_level == isolation::read_committed, cfg_.check_crcs,
                                              s.topic, s.partition, chunk, spare_buffers_);
            if (dec) {
                deferred_error_ = dec;  // corrupt data: report it, do not skip past it
                s.paused = true;
                continue;
            }
            if (chunk.end_offset <= s.fetch_offset) {
                // Not even one whole batch fit: max.partition.fetch.bytes is too small for it.
                if (pd.records->size() >= static_cast<std::size_t>(cfg_.max_partition_fetch_bytes))
                    deferred_error_ = make_error_code(client_errc::record_too_large);
                continue;
            }
            s.fetch_offset = chunk.end_offset;
            if (!chunk.records.empty()) any = true;
            s.buffered.push_back(std::move(chunk));
        }
    }
    (void)version;
    if (!reset.empty()) list_offsets(std::move(reset));
    if (!refresh.empty()) {
        auto self = shared_from_this();
        cluster_->refresh({refresh.begin(), refresh.end()}, [self](std::error_code) { self->schedule_fetch(); });
    }
    if (any || deferred_error_) try_complete_poll();
    schedule_fetch();
}

}  // namespace kwire::client::detail
