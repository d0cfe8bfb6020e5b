// One leader broker's fetch path: its partitions, its fetch session, its Fetch in flight, and
// the decoding of the answer into chunks of record views. See source.hpp.
#include "consumer/source.hpp"

#include <algorithm>
#include <set>

#include "consumer/fetcher.hpp"
#include "core/leadership_errors.hpp"
#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/frame.hpp"
#include "observe/logger.hpp"

namespace kwire::client::detail {

void source::add(std::uint32_t slot) {
    const auto it = std::lower_bound(partitions_.begin(), partitions_.end(), slot);
    if (it == partitions_.end() || *it != slot) partitions_.insert(it, slot);
}

void source::remove(std::uint32_t slot) {
    const auto it = std::lower_bound(partitions_.begin(), partitions_.end(), slot);
    if (it != partitions_.end() && *it == slot) partitions_.erase(it);
}

protocol::FetchRequest source::request(const fetch_plan& plan) const {
    const auto& cfg = core_.cfg;
    protocol::FetchRequest req;
    req.replica_id = -1;
    req.max_wait_ms = static_cast<std::int32_t>(cfg.fetch_max_wait.count());
    req.min_bytes = cfg.fetch_min_bytes;
    req.max_bytes = cfg.fetch_max_bytes;
    req.isolation_level = cfg.isolation_level == isolation::read_committed ? 1 : 0;
    req.session_id = plan.session_id;
    req.session_epoch = plan.epoch;
    req.rack_id = cfg.client_rack;
    for (const auto& w : plan.send) {
        const auto& s = core_.slots[w.id];
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
        const auto& s = core_.slots[id];
        if (req.forgotten_topics_data.empty() || req.forgotten_topics_data.back().topic != s.topic) {
            req.forgotten_topics_data.emplace_back();
            req.forgotten_topics_data.back().topic = s.topic;
        }
        req.forgotten_topics_data.back().partitions.push_back(s.partition);
    }
    return req;
}

void source::fetch(const std::vector<std::uint32_t>& slots) {
    auto conn = core_.brokers->broker(leader_);
    if (!conn) return;
    wanted_.clear();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;  // slot, incarnation
    sent.reserve(slots.size());
    for (const auto i : slots) {
        auto& s = core_.slots[i];
        wanted_.push_back({i, fetch_position{s.fetch_offset, s.leader_epoch, core_.cfg.max_partition_fetch_bytes, -1}});
        s.fetching = true;  // the broker may answer for it whether or not the request lists it
        sent.emplace_back(i, s.incarnation);
    }
    session_.plan(wanted_, plan_);
    in_flight_ = true;
    if (core_.meters && !meters_)
        meters_ = std::make_unique<fetch_meters>(core_.meters->registry, core_.cfg.client_id, leader_);
    if (meters_) sent_at_ = clock::now();
    // v4: RecordBatch and isolation levels; v7: sessions; v13 names topics by id (not used
    // yet): v12 at most.
    conn->request_frame(
        request(plan_),
        [this, keep = core_.keep(), sent = std::move(sent)](std::error_code ec, protocol::bytes_view frame,
                                                            std::int16_t version) {
            on_response(sent, ec, frame, version);
        },
        {.min_version = 4, .max_version = 12, .extra_time = core_.cfg.fetch_max_wait});
}

bool source::close(std::function<void()> done) {
    // Frees the session's slot in the broker's session cache instead of waiting for eviction. A
    // Fetch still in flight is answered first (a broker serves a connection's requests in order).
    const auto plan = session_.close();
    auto conn = plan ? core_.brokers->broker(leader_) : nullptr;
    if (!conn || !conn->ready()) return false;
    auto req = request(*plan);
    req.max_wait_ms = 0;
    conn->request_frame(std::move(req),
                        [done = std::move(done)](std::error_code, protocol::bytes_view, std::int16_t) { done(); },
                        {.min_version = fetch_session::min_version, .max_version = 12});
    return true;
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

void source::on_response(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent, std::error_code ec,
                         protocol::bytes_view frame, std::int16_t version) {
    in_flight_ = false;
    if (core_.closed) return;
    for (const auto& [i, inc] : sent) core_.slots[i].fetching = false;
    if (meters_) {
        meters_->fetches.add();
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - sent_at_).count();
        meters_->latency.record(us < 0 ? 0 : static_cast<std::uint64_t>(us));
    }

    // The records stay as views into this copy of the response until the application is done.
    std::shared_ptr<const std::vector<std::uint8_t>> owned;
    protocol::FetchResponse resp;
    if (!ec) {
        owned = std::make_shared<const std::vector<std::uint8_t>>(frame.begin(), frame.end());
        ec = protocol::decode_response(protocol::bytes_view(owned->data(), owned->size()), version, resp);
    }
    // Which slot each answered partition is (unknown_partition: none we know), in answer order.
    answered_.clear();
    if (!ec)
        for (const auto& tr : resp.responses)
            for (const auto& pd : tr.partitions) {
                const auto i = core_.slots.index_of(topic_partition{tr.topic, pd.partition_index});
                answered_.push_back(i ? *i : fetch_session::unknown_partition);
            }
    if (ec) {
        session_.on_failure();
    } else if (session_.on_response(version, resp.error_code, resp.session_id, answered_) == fetch_verdict::discard) {
        // FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH: the broker lost or moved past
        // our session. Nothing was consumed, positions are unchanged: fetch again now, in full.
        if (const auto error = to_kafka_errc(resp.error_code);
            error == kafka_errc::fetch_session_id_not_found || error == kafka_errc::invalid_fetch_session_epoch)
            return fetcher_.schedule();
        ec = resp.error_code != 0 ? kafka_error(resp.error_code) : make_error_code(std::errc::protocol_error);
    }
    if (ec) {
        // The connection failed or the answer was unusable: the leader may be gone.
        KWIRE_LOG_LIMITED(core_.brokers->log(), log_level::warn, log_context::consumer,
                          "fetch " + std::to_string(leader_),
                          "fetch from broker " + std::to_string(leader_) + " failed: " + ec.message() +
                              "; refreshing metadata and fetching again after retry.backoff.ms");
        std::vector<std::uint32_t> slots;
        slots.reserve(sent.size());
        for (const auto& [i, inc] : sent) slots.push_back(i);
        return fetcher_.backoff_and_refresh(slots);
    }
    std::vector<std::uint32_t> reset;
    std::vector<std::string> refresh;
    bool any = false;
    std::size_t answered = 0;
    for (const auto& tr : resp.responses) {
        for (const auto& pd : tr.partitions) {
            const auto i = answered_[answered++];
            if (i == fetch_session::unknown_partition) continue;
            const auto& s = core_.slots[i];
            const auto was = std::find_if(sent.begin(), sent.end(), [&](const auto& p) { return p.first == i; });
            if (was == sent.end() || was->second != s.incarnation || !s.ready())
                continue;  // revoked, re-assigned or seeked since: the answer is stale
            any = take_partition(i, pd, owned, reset, refresh) || any;
        }
    }
    if (!reset.empty()) fetcher_.reset_offsets(std::move(reset));
    if (!refresh.empty())
        core_.brokers->refresh(std::move(refresh), [f = &fetcher_, keep = core_.keep()](std::error_code) { f->schedule(); });
    update_lag(core_);
    if ((any || core_.deferred_error) && core_.wake_poll) core_.wake_poll();
    fetcher_.schedule();
}

bool source::take_partition(std::uint32_t i, const protocol::FetchResponse::PartitionData& pd,
                            const std::shared_ptr<const std::vector<std::uint8_t>>& owned,
                            std::vector<std::uint32_t>& reset, std::vector<std::string>& refresh) {
    auto& s = core_.slots[i];
    const auto& cfg = core_.cfg;
    if (pd.current_leader.leader_id >= 0)
        core_.brokers->update_leader(s.topic, s.partition, pd.current_leader.leader_id, pd.current_leader.leader_epoch);
    if (to_kafka_errc(pd.error_code) == kafka_errc::offset_out_of_range) {
        if (cfg.auto_offset_reset == offset_reset::none) {
            core_.deferred_error = make_error_code(kafka_errc::offset_out_of_range);
            s.paused = true;  // until the application seeks
            return false;
        }
        // Below the log start: the earliest record is the next one that exists, whatever the
        // policy. Past the end: the policy decides.
        s.state = partition_slot::start::reset;
        const bool below_start = pd.log_start_offset >= 0 && s.fetch_offset < pd.log_start_offset;
        s.reset_to = below_start || cfg.auto_offset_reset == offset_reset::earliest ? offset::beginning : offset::end;
        KWIRE_LOG(core_.brokers->log(), log_level::warn, log_context::consumer,
                  s.topic + "-" + std::to_string(s.partition) + ": offset " + std::to_string(s.fetch_offset) +
                      " is out of range (log " + std::to_string(pd.log_start_offset) + " to " +
                      std::to_string(pd.high_watermark) + "): resetting to the " +
                      (s.reset_to == offset::beginning ? "beginning" : "end") +
                      (below_start ? " (below the log start)" : " (auto.offset.reset)"));
        reset.push_back(i);
        return false;
    }
    if (pd.error_code != 0) {
        s.not_before = clock::now() + cfg.retry_backoff;
        KWIRE_LOG_LIMITED(core_.brokers->log(), log_level::warn, log_context::consumer,
                          "fetch " + s.topic + "-" + std::to_string(s.partition),
                          "fetch of " + s.topic + "-" + std::to_string(s.partition) + " from broker " +
                              std::to_string(leader_) + ": " + kafka_error(pd.error_code).message());
        if (read_leadership_may_have_moved(to_kafka_errc(pd.error_code))) {
            if (std::find(refresh.begin(), refresh.end(), s.topic) == refresh.end()) refresh.push_back(s.topic);
        } else if (!is_retriable(pd.error_code)) {
            core_.deferred_error = kafka_error(pd.error_code);
        }
        return false;
    }
    s.high_watermark = pd.high_watermark;
    if (!pd.records || pd.records->empty()) return false;
    fetched_chunk chunk;
    chunk.frame = owned;
    const auto dec = decode_partition(*pd.records, s.fetch_offset, pd, cfg.isolation_level == isolation::read_committed,
                                      cfg.check_crcs, s.topic, s.partition, chunk, fetcher_.spare_buffers());
    if (dec) {
        core_.deferred_error = dec;  // corrupt data: report it, do not skip past it
        s.paused = true;
        return false;
    }
    if (chunk.end_offset <= s.fetch_offset) {
        // Not even one whole batch fit: max.partition.fetch.bytes is too small for it.
        if (pd.records->size() >= static_cast<std::size_t>(cfg.max_partition_fetch_bytes))
            core_.deferred_error = make_error_code(client_errc::record_too_large);
        return false;
    }
    s.fetch_offset = chunk.end_offset;
    const bool any = !chunk.records.empty();
    s.buffered.push_back(std::move(chunk));
    return any;
}

}  // namespace kwire::client::detail
