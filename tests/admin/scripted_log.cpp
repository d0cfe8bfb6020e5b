#include "scripted_log.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>

#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/protocol/messages/fetch.hpp"
#include "kwire/protocol/messages/list_offsets.hpp"

namespace kwire::test {

namespace {

namespace kc = kwire::codec;

constexpr std::int16_t offset_out_of_range = 1;
constexpr std::int16_t not_leader = 6;
constexpr std::int16_t fetch_session_id_not_found = 70;
constexpr std::int16_t invalid_fetch_session_epoch = 71;

// RecordBatch v2 header positions.
constexpr std::size_t crc_at = 17;
constexpr std::size_t attributes_at = 21;
constexpr std::size_t last_offset_delta_at = 23;
constexpr std::size_t producer_id_at = 43;
constexpr std::uint8_t transactional_bit = 0x10;
constexpr std::uint8_t control_bit = 0x20;

std::uint64_t read_be(const std::vector<std::uint8_t>& b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | b.at(at + static_cast<std::size_t>(i));
    return v;
}

void write_be(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
        b.at(at + static_cast<std::size_t>(i)) = static_cast<std::uint8_t>(v);
        v >>= 8;
    }
}

std::vector<std::uint8_t> build_batch(const std::vector<std::string>& values) {
    std::vector<std::uint8_t> out;
    kc::batch_builder b;
    const kc::batch_options o;
    b.begin(out, o);
    const std::optional<kp::bytes_view> no_key;
    for (const auto& v : values) {
        const std::optional<kp::bytes_view> value(kp::bytes_view(reinterpret_cast<const std::uint8_t*>(v.data()), v.size()));
        if (b.append(1700000000000, no_key, value)) throw std::runtime_error("scripted_log: append");
    }
    if (b.finish()) throw std::runtime_error("scripted_log: finish");
    return out;
}

/// A control batch: one record whose key is {version 0, type 0 abort / 1 commit} and value
/// {version 0, coordinator epoch 0}, with the control attribute set (and the CRC redone).
std::vector<std::uint8_t> build_marker(std::int64_t producer_id, std::int16_t epoch, bool commit) {
    std::vector<std::uint8_t> out;
    kc::batch_builder b;
    kc::batch_options o;
    o.producer_id = producer_id;
    o.producer_epoch = epoch;
    o.base_sequence = -1;
    o.transactional = true;
    b.begin(out, o);
    const std::vector<std::uint8_t> key{0, 0, 0, static_cast<std::uint8_t>(commit ? 1 : 0)};
    const std::vector<std::uint8_t> value{0, 0, 0, 0, 0, 0};
    if (b.append(1700000000000, std::optional<kp::bytes_view>(kp::bytes_view(key)),
                 std::optional<kp::bytes_view>(kp::bytes_view(value))) ||
        b.finish())
        throw std::runtime_error("scripted_log: marker");
    out[attributes_at + 1] |= control_bit;
    write_be(out, crc_at, kc::crc32c(0, out.data() + attributes_at, out.size() - attributes_at), 4);
    return out;
}

}  // namespace

std::int64_t scripted_log::partition_log::first_open() const {
    std::int64_t first = end;
    for (const auto& [pid, off] : open) first = std::min(first, off);
    return first;
}

std::shared_ptr<scripted_log> scripted_log::start(scripted_cluster& cluster, int brokers) {
    auto self = std::make_shared<scripted_log>(brokers);
    self->cluster_ = &cluster;
    cluster.on(kp::FetchRequest::api_key, [self](const scripted_request& r) { return self->fetch(r); });
    cluster.on(kp::ListOffsetsRequest::api_key, [self](const scripted_request& r) { return self->list_offsets(r); });
    return self;
}

std::int64_t scripted_log::append_locked(const std::string& topic, int partition, std::vector<std::uint8_t> bytes) {
    auto& log = logs_[{topic, partition}];
    const auto base = log.end;
    write_be(bytes, 0, static_cast<std::uint64_t>(base), 8);
    const auto last = base + static_cast<std::int32_t>(read_be(bytes, last_offset_delta_at, 4));
    const auto attributes = bytes.at(attributes_at + 1);
    const auto pid = static_cast<std::int64_t>(read_be(bytes, producer_id_at, 8));
    if ((attributes & transactional_bit) && !(attributes & control_bit)) log.open.emplace(pid, base);
    log.batches.push_back({base, last, std::move(bytes)});
    log.end = last + 1;
    appended_.notify_all();
    return base;
}

std::int64_t scripted_log::append(const std::string& topic, int partition, const std::vector<std::string>& values) {
    std::lock_guard lock(mutex_);
    return append_locked(topic, partition, build_batch(values));
}

std::int64_t scripted_log::append_raw(const std::string& topic, int partition, std::vector<std::uint8_t> bytes) {
    std::lock_guard lock(mutex_);
    return append_locked(topic, partition, std::move(bytes));
}

std::int64_t scripted_log::end_transaction(const std::string& topic, int partition, std::int64_t producer_id,
                                           bool commit, std::int16_t epoch) {
    std::lock_guard lock(mutex_);
    auto& log = logs_[{topic, partition}];
    const auto it = log.open.find(producer_id);
    // A partition added to a transaction that wrote nothing to it still gets its marker, as a
    // coordinator writes one to every partition of the transaction.
    const bool wrote = it != log.open.end();
    const std::int64_t first = wrote ? it->second : -1;
    if (wrote) log.open.erase(it);
    const auto marker = append_locked(topic, partition, build_marker(producer_id, epoch, commit));
    if (!commit && wrote) log.aborted.push_back({producer_id, first, marker});
    return marker;
}

std::vector<std::vector<std::uint8_t>> scripted_log::batches(const std::string& topic, int partition) const {
    std::lock_guard lock(mutex_);
    std::vector<std::vector<std::uint8_t>> out;
    if (const auto it = logs_.find({topic, partition}); it != logs_.end())
        for (const auto& b : it->second.batches) out.push_back(b.bytes);
    return out;
}

std::int64_t scripted_log::high_watermark(const std::string& topic, int partition) const {
    std::lock_guard lock(mutex_);
    const auto it = logs_.find({topic, partition});
    return it == logs_.end() ? 0 : it->second.end;
}

std::int64_t scripted_log::last_stable_offset(const std::string& topic, int partition) const {
    std::lock_guard lock(mutex_);
    const auto it = logs_.find({topic, partition});
    return it == logs_.end() ? 0 : it->second.lso();
}

void scripted_log::set_sessions_enabled(bool on) {
    std::lock_guard lock(mutex_);
    sessions_enabled_ = on;
}

void scripted_log::evict_sessions() {
    std::lock_guard lock(mutex_);
    sessions_.clear();
}

void scripted_log::fail_next_incremental(std::int16_t error) {
    std::lock_guard lock(mutex_);
    fail_next_ = error;
}

std::size_t scripted_log::live_sessions() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

std::vector<scripted_log::fetch_seen> scripted_log::fetches() const {
    std::lock_guard lock(mutex_);
    return seen_;
}

std::optional<std::vector<std::uint8_t>> scripted_log::fetch(const scripted_request& req) {
    const auto r = req.decode<kp::FetchRequest>();
    std::unique_lock lock(mutex_);

    fetch_seen seen;
    seen.node = req.node;
    seen.version = req.version;
    seen.session_id = req.version >= 7 ? r.session_id : 0;
    seen.epoch = req.version >= 7 ? r.session_epoch : -1;
    seen.isolation = r.isolation_level;
    for (const auto& t : r.topics)
        for (const auto& p : t.partitions) {
            seen.listed.emplace_back(t.topic, p.partition);
            seen.listed_offsets.push_back(p.fetch_offset);
        }
    for (const auto& t : r.forgotten_topics_data)
        for (const auto p : t.partitions) seen.forgotten.emplace_back(t.topic, p);

    kp::FetchResponse resp;
    auto finish = [&]() -> std::optional<std::vector<std::uint8_t>> {
        seen.error = resp.error_code;
        seen.answered_session_id = resp.session_id;
        for (const auto& t : resp.responses)
            for (const auto& p : t.partitions) seen.answered.emplace_back(t.topic, p.partition_index);
        seen_.push_back(seen);
        return scripted_cluster::respond(req, resp);
    };

    // What to fetch: the listed partitions (full or sessionless), or the session's (incremental).
    std::vector<std::pair<tp, cached_partition>> wanted;
    std::int32_t session_id = 0;
    const bool incremental = req.version >= 7 && r.session_epoch > 0;
    if (!incremental) {
        if (req.version >= 7 && r.session_id != 0) sessions_.erase(r.session_id);
        for (const auto& t : r.topics)
            for (const auto& p : t.partitions)
                wanted.push_back({{t.topic, p.partition}, {p.fetch_offset, p.partition_max_bytes, p.current_leader_epoch}});
        if (req.version >= 7 && r.session_epoch == 0 && sessions_enabled_) {
            session_id = next_session_id_++;
            sessions_[session_id] = session{1, wanted};
        }
    } else {
        const auto it = sessions_.find(r.session_id);
        if (it == sessions_.end()) {
            resp.error_code = fetch_session_id_not_found;
            return finish();
        }
        if (fail_next_) {
            resp.error_code = *fail_next_;
            fail_next_.reset();
            return finish();
        }
        auto& s = it->second;
        if (s.epoch != r.session_epoch) {
            resp.error_code = invalid_fetch_session_epoch;
            return finish();
        }
        for (const auto& t : r.topics)
            for (const auto& p : t.partitions) {
                const tp key{t.topic, p.partition};
                const auto c = std::find_if(s.partitions.begin(), s.partitions.end(),
                                            [&](const auto& e) { return e.first == key; });
                if (c == s.partitions.end()) {
                    s.partitions.push_back({key, {p.fetch_offset, p.partition_max_bytes, p.current_leader_epoch}});
                    continue;
                }
                if (c->second.fetch_offset == p.fetch_offset && c->second.max_bytes == p.partition_max_bytes &&
                    c->second.leader_epoch == p.current_leader_epoch)
                    ++seen.relisted_unchanged;
                c->second.fetch_offset = p.fetch_offset;
                c->second.max_bytes = p.partition_max_bytes;
                c->second.leader_epoch = p.current_leader_epoch;
            }
        for (const auto& t : r.forgotten_topics_data)
            for (const auto p : t.partitions)
                std::erase_if(s.partitions, [&](const auto& e) { return e.first == tp{t.topic, p}; });
        s.epoch = s.epoch == 0x7fffffff ? 1 : s.epoch + 1;
        session_id = r.session_id;
        wanted = s.partitions;
    }
    resp.session_id = session_id;

    // Records for one partition from `offset`: whole batches, at least one, up to `max_bytes`,
    // below `upper` (the high watermark, or the last stable offset under read_committed).
    auto has_records = [&](const tp& key, std::int64_t offset) {
        const auto it = logs_.find(key);
        if (it == logs_.end() || leader_of(key.first, key.second) != req.node) return false;
        const auto upper = r.isolation_level == 1 ? it->second.lso() : it->second.end;
        for (const auto& b : it->second.batches)
            if (b.last >= offset && b.base < upper) return true;
        return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.max_wait_ms);
    for (;;) {
        const bool any = std::any_of(wanted.begin(), wanted.end(),
                                     [&](const auto& w) { return has_records(w.first, w.second.fetch_offset); });
        if (any || appended_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }

    std::deque<std::vector<std::uint8_t>> storage;  // the answer's records, alive until encoded
    session* live = session_id != 0 && sessions_.count(session_id) ? &sessions_[session_id] : nullptr;
    for (const auto& [key, want] : wanted) {
        kp::FetchResponse::PartitionData pd;
        pd.partition_index = key.second;
        pd.aborted_transactions = std::nullopt;
        if (leader_of(key.first, key.second) != req.node) {
            pd.error_code = not_leader;
        } else {
            const auto& log = logs_[key];
            pd.high_watermark = log.end;
            pd.last_stable_offset = log.lso();
            pd.log_start_offset = 0;
            if (want.fetch_offset < 0 || want.fetch_offset > log.end) {
                pd.error_code = offset_out_of_range;
            } else {
                const auto upper = r.isolation_level == 1 ? log.lso() : log.end;
                auto& bytes = storage.emplace_back();
                std::int64_t returned_end = want.fetch_offset;
                for (const auto& b : log.batches) {
                    if (b.last < want.fetch_offset || b.base >= upper) continue;
                    if (!bytes.empty() && bytes.size() + b.bytes.size() > static_cast<std::size_t>(want.max_bytes)) break;
                    bytes.insert(bytes.end(), b.bytes.begin(), b.bytes.end());
                    returned_end = b.last + 1;
                }
                pd.records = kp::bytes_view(bytes);
                if (r.isolation_level == 1) {
                    pd.aborted_transactions.emplace();
                    for (const auto& a : log.aborted)
                        if (a.first < returned_end && a.marker >= want.fetch_offset)
                            pd.aborted_transactions->push_back({a.producer_id, a.first, {}});
                }
            }
        }
        if (incremental && live) {
            // Only partitions with records or news are answered; the rest keep their state.
            auto c = std::find_if(live->partitions.begin(), live->partitions.end(),
                                  [&](const auto& e) { return e.first == key; });
            const bool news = (pd.records && !pd.records->empty()) || pd.error_code != 0 ||
                              c == live->partitions.end() || c->second.hwm != pd.high_watermark ||
                              c->second.lso != pd.last_stable_offset || c->second.log_start != pd.log_start_offset;
            if (!news) continue;
        }
        if (live) {
            auto c = std::find_if(live->partitions.begin(), live->partitions.end(),
                                  [&](const auto& e) { return e.first == key; });
            if (c != live->partitions.end()) {
                c->second.hwm = pd.high_watermark;
                c->second.lso = pd.last_stable_offset;
                c->second.log_start = pd.log_start_offset;
            }
        }
        if (resp.responses.empty() || resp.responses.back().topic != key.first) {
            resp.responses.emplace_back();
            resp.responses.back().topic = key.first;
        }
        resp.responses.back().partitions.push_back(std::move(pd));
    }
    return finish();
}

std::optional<std::vector<std::uint8_t>> scripted_log::list_offsets(const scripted_request& req) {
    const auto r = req.decode<kp::ListOffsetsRequest>();
    std::lock_guard lock(mutex_);
    kp::ListOffsetsResponse resp;
    for (const auto& t : r.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            if (leader_of(t.name, p.partition_index) != req.node) {
                pr.error_code = not_leader;
                continue;
            }
            const auto it = logs_.find({t.name, p.partition_index});
            const std::int64_t end = it == logs_.end() ? 0 : (r.isolation_level == 1 ? it->second.lso() : it->second.end);
            pr.offset = p.timestamp == -2 ? 0 : end;
            pr.old_style_offsets = {pr.offset};
        }
    }
    return scripted_cluster::respond(req, resp);
}

}  // namespace kwire::test
