#include "support_log_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "blocking_connection.hpp"
#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/fetch.hpp"
#include "kwire/protocol/messages/metadata.hpp"

namespace kwire::test {

namespace kp = kwire::protocol;

namespace {

/// The highest version of Req that the broker behind `conn` and kwire both speak, capped.
template <class Req>
std::int16_t common_version(peers::blocking_connection& conn, std::int16_t cap) {
    const auto resp = conn.call(kp::ApiVersionsRequest{}, 0);
    for (const auto& k : resp.api_keys)
        if (k.api_key == Req::api_key) {
            const auto hi = std::min<std::int16_t>({k.max_version, Req::max_version, cap});
            if (hi >= std::max<std::int16_t>(k.min_version, Req::min_version)) return hi;
        }
    throw std::runtime_error("read_partition: no common version for api " + std::to_string(Req::api_key));
}

std::string leader_address(const peers::mock_cluster& mc, const std::string& topic, std::int32_t partition) {
    for (const auto& address : mc.broker_addresses()) {
        try {
            peers::blocking_connection conn(address, std::chrono::seconds(5));
            const auto v = common_version<kp::MetadataRequest>(conn, 9);
            kp::MetadataRequest req;
            req.topics = std::vector<kp::MetadataRequest::MetadataRequestTopic>(1);
            (*req.topics)[0].name = topic;
            req.allow_auto_topic_creation = false;
            const auto resp = conn.call(req, v);
            std::map<std::int32_t, std::string> brokers;
            for (const auto& b : resp.brokers) brokers[b.node_id] = b.host + ":" + std::to_string(b.port);
            for (const auto& t : resp.topics)
                if (t.name == topic)
                    for (const auto& p : t.partitions)
                        if (p.partition_index == partition && brokers.count(p.leader_id)) return brokers[p.leader_id];
        } catch (const peers::connection_error&) {
            // a broker that is down: ask the next
        }
    }
    throw std::runtime_error("read_partition: no leader known for " + topic + "/" + std::to_string(partition));
}

}  // namespace

std::vector<stored_batch> read_partition(const peers::mock_cluster& mc, const std::string& topic,
                                         std::int32_t partition) {
    peers::blocking_connection conn(leader_address(mc, topic, partition), std::chrono::seconds(5));
    const auto v = common_version<kp::FetchRequest>(conn, 11);
    std::vector<stored_batch> out;
    std::int64_t offset = 0;
    // The mock answers a Fetch with at most one stored batch: fetch until the high watermark.
    for (int round = 0; round < 100000; ++round) {
        kp::FetchRequest req;
        req.max_wait_ms = 0;
        req.min_bytes = 1;
        req.topics.resize(1);
        req.topics[0].topic = topic;
        req.topics[0].partitions.resize(1);
        req.topics[0].partitions[0].partition = partition;
        req.topics[0].partitions[0].fetch_offset = offset;
        req.topics[0].partitions[0].partition_max_bytes = 16 << 20;
        const auto resp = conn.call(req, v);
        if (resp.responses.size() != 1 || resp.responses[0].partitions.size() != 1)
            throw std::runtime_error("read_partition: unexpected Fetch response shape");
        const auto& pd = resp.responses[0].partitions[0];
        if (pd.error_code != 0)
            throw std::runtime_error("read_partition: Fetch error " + std::to_string(pd.error_code) + " at offset " +
                                     std::to_string(offset));
        if (offset >= pd.high_watermark) return out;
        if (!pd.records || pd.records->empty())
            throw std::runtime_error("read_partition: no records at offset " + std::to_string(offset) +
                                     " below the high watermark " + std::to_string(pd.high_watermark));
        codec::records_reader reader(*pd.records);
        const auto before = offset;
        while (reader.next_batch()) {
            const auto& h = reader.batch();
            stored_batch b;
            b.base_offset = h.base_offset;
            b.producer_id = h.producer_id;
            b.producer_epoch = h.producer_epoch;
            b.base_sequence = h.base_sequence;
            codec::record_view rec;
            std::int64_t expect = h.base_offset;
            while (reader.next_record(rec)) {
                if (rec.offset != expect)
                    throw std::runtime_error("read_partition: record offset " + std::to_string(rec.offset) +
                                             ", expected " + std::to_string(expect));
                ++expect;
                b.values.emplace_back(rec.value ? std::string(rec.value->as_string()) : std::string("<null>"));
            }
            offset = std::max(offset, h.base_offset + h.last_offset_delta + 1);
            if (h.base_offset >= before) out.push_back(std::move(b));  // else: already read
        }
        if (reader.error()) throw std::runtime_error("read_partition: " + reader.error().message());
        if (offset == before) throw std::runtime_error("read_partition: no progress at offset " + std::to_string(offset));
    }
    throw std::runtime_error("read_partition: too many rounds");
}

// --- the ledger ------------------------------------------------------------------------------

std::size_t send_ledger::send(producer& p, const std::string& topic, std::int32_t partition) {
    const auto index = records_.size();
    auto r = std::make_unique<sent_record>();
    r->index = index;
    r->topic = topic;
    r->partition = partition;
    r->value = topic + "/p" + std::to_string(partition) + "-" + std::to_string(next_[{topic, partition}]++);
    r->sent_at = test_clock::now();
    auto* rec = r.get();
    records_.push_back(std::move(r));
    const auto& v = rec->value;
    p.send({.topic = topic,
            .value = kp::bytes_view(reinterpret_cast<const std::uint8_t*>(v.data()), v.size()),
            .partition = partition},
           [this, rec](std::error_code ec, delivery d) {
               if (++rec->completions == 1) {
                   ++completed_;
                   rec->ec = ec;
                   rec->d = d;
                   rec->completed_at = test_clock::now();
               } else {
                   ++extra_completions_;
               }
           });
    return index;
}

void send_ledger::wave(producer& p, const std::string& topic, std::int32_t partitions) {
    for (std::int32_t i = 0; i < partitions; ++i) send(p, topic, i);
}

std::size_t send_ledger::failed() const {
    return static_cast<std::size_t>(
        std::count_if(records_.begin(), records_.end(), [](const auto& r) { return r->completions > 0 && r->ec; }));
}

std::size_t send_ledger::acked() const {
    return static_cast<std::size_t>(
        std::count_if(records_.begin(), records_.end(), [](const auto& r) { return r->completions > 0 && !r->ec; }));
}

// --- the check -------------------------------------------------------------------------------

namespace {

/// Collects failure messages for one partition and reports the first ones.
struct complaints {
    std::string where;
    std::vector<std::string> lines;
    std::size_t total = 0;
    void add(const std::string& s) {
        ++total;
        if (lines.size() < 25) lines.push_back(s);
    }
    ~complaints() {
        if (total == 0) return;
        std::ostringstream os;
        os << where << ": " << total << " problem(s):";
        for (const auto& l : lines) os << "\n  " << l;
        if (total > lines.size()) os << "\n  ...";
        ADD_FAILURE() << os.str();
    }
};

std::string describe(const std::error_code& ec) {
    return ec ? ec.category().name() + std::string(":") + std::to_string(ec.value()) + " (" + ec.message() + ")"
              : std::string("ok");
}

}  // namespace

log_report check_log(const peers::mock_cluster& mc, const std::string& topic, const send_ledger& ledger,
                     const log_expectations& expect) {
    log_report report;
    std::map<std::int32_t, std::vector<const sent_record*>> by_partition;
    std::map<std::string, const sent_record*> by_value;
    for (const auto& r : ledger.records()) {
        if (r->topic != topic) continue;
        by_partition[r->partition].push_back(r.get());
        by_value[r->value] = r.get();
    }
    std::set<std::pair<std::int64_t, std::int16_t>> producers;
    for (const auto& [partition, sent] : by_partition) {
        complaints c;
        c.where = topic + "/" + std::to_string(partition);
        std::vector<stored_batch> log;
        try {
            log = read_partition(mc, topic, partition);
        } catch (const std::exception& e) {
            c.add(std::string("cannot read the partition back: ") + e.what());
            continue;
        }
        report.stored_batches += log.size();

        // Replay through a real broker's idempotence rules.
        struct pid_state {
            std::int16_t epoch = -1;
            std::int32_t next_sequence = 0;
            std::deque<std::pair<std::int32_t, std::int32_t>> recent;  // first, last sequence of the last 5 batches
        };
        std::map<std::int64_t, pid_state> pids;
        std::map<std::int64_t, std::string> raw;       // offset -> value, every stored copy
        std::map<std::string, int> raw_count;           // value -> stored copies
        std::vector<std::pair<std::int64_t, std::string>> effective;  // what a real broker would hold
        std::set<std::int64_t> rejected_offsets;       // stored by the mock, rejected by a real broker
        for (const auto& b : log) {
            for (std::size_t i = 0; i < b.values.size(); ++i) {
                raw[b.base_offset + static_cast<std::int64_t>(i)] = b.values[i];
                ++raw_count[b.values[i]];
            }
            bool keep = true;
            if (b.producer_id >= 0) {
                producers.insert({b.producer_id, b.producer_epoch});
                const auto count = static_cast<std::int32_t>(b.values.size());
                const std::int32_t last = static_cast<std::int32_t>(
                    (static_cast<std::int64_t>(b.base_sequence) + count - 1) & 0x7fffffff);
                std::ostringstream what;
                what << "batch at offset " << b.base_offset << " (producer " << b.producer_id << " epoch "
                     << b.producer_epoch << " sequence " << b.base_sequence << ".." << last << ", first value "
                     << (b.values.empty() ? "-" : b.values.front()) << ")";
                auto it = pids.find(b.producer_id);
                const bool new_epoch = it == pids.end() || b.producer_epoch > it->second.epoch;
                if (!new_epoch && b.producer_epoch < it->second.epoch) {
                    keep = false;
                    ++report.sequence_violations;
                    c.add(what.str() + ": an older epoch than the producer's current one; a broker would reject "
                                       "it (INVALID_PRODUCER_EPOCH)");
                } else if (!new_epoch && std::find(it->second.recent.begin(), it->second.recent.end(),
                                                   std::pair{b.base_sequence, last}) != it->second.recent.end()) {
                    keep = false;
                    ++report.deduplicable_copies;
                    if (!expect.allow_deduplicable_copies)
                        c.add(what.str() + ": stored again (a real broker would deduplicate it, but nothing in "
                                           "this test should make the producer re-send a written batch)");
                } else if (const std::int32_t expected = new_epoch ? 0 : it->second.next_sequence;
                           b.base_sequence != expected) {
                    // A real broker rejects it (OUT_OF_ORDER_SEQUENCE_NUMBER) and stores nothing.
                    // The mock stores it when it processes a request that was pipelined behind
                    // one whose connection it closed (an injected disconnect): the producer saw
                    // the connection fail, so that attempt's outcome is unknown to it, and it
                    // re-sends the batch in order. Acceptable only in tests with such ambiguous
                    // attempts, and never for the copy a send was acknowledged at (checked below).
                    keep = false;
                    ++report.rejected_copies;
                    for (std::size_t i = 0; i < b.values.size(); ++i)
                        rejected_offsets.insert(b.base_offset + static_cast<std::int64_t>(i));
                    if (!expect.allow_deduplicable_copies) {
                        ++report.sequence_violations;
                        c.add(what.str() + ": expected sequence " + std::to_string(expected) +
                              (new_epoch ? " (a new producer id or epoch)" : "") +
                              "; a broker would reject it (OUT_OF_ORDER_SEQUENCE_NUMBER)");
                    }
                }
                if (keep) {
                    auto& st = pids[b.producer_id];
                    if (new_epoch) {
                        st = pid_state{};
                        st.epoch = b.producer_epoch;
                    }
                    st.recent.emplace_back(b.base_sequence, last);
                    if (st.recent.size() > 5) st.recent.pop_front();
                    st.next_sequence = static_cast<std::int32_t>((static_cast<std::int64_t>(last) + 1) & 0x7fffffff);
                }
            }
            if (keep)
                for (std::size_t i = 0; i < b.values.size(); ++i)
                    effective.emplace_back(b.base_offset + static_cast<std::int64_t>(i), b.values[i]);
        }
        std::map<std::string, int> effective_count;
        for (const auto& [off, v] : effective) ++effective_count[v];

        // Every send against the log.
        std::int64_t last_acked_offset = -1;
        for (const auto* r : sent) {
            if (r->completions != 1) {
                c.add(r->value + ": completed " + std::to_string(r->completions) + " times");
                if (r->completions == 0) continue;
            }
            const auto stored = effective_count[r->value];
            if (!r->ec) {
                ++report.acked;
                if (r->d.partition != partition)
                    c.add(r->value + ": acknowledged for partition " + std::to_string(r->d.partition));
                const auto at = raw.find(r->d.offset);
                if (at == raw.end())
                    c.add(r->value + ": acknowledged at offset " + std::to_string(r->d.offset) + ", which is not in the log");
                else if (at->second != r->value)
                    c.add(r->value + ": acknowledged at offset " + std::to_string(r->d.offset) + ", which holds " +
                          at->second);
                else if (rejected_offsets.count(r->d.offset))
                    c.add(r->value + ": acknowledged at offset " + std::to_string(r->d.offset) +
                          ", a copy a real broker would have rejected (OUT_OF_ORDER_SEQUENCE_NUMBER)");
                if (stored != 1)
                    c.add(r->value + ": acknowledged, but " + std::to_string(stored) + " copies in the log" +
                          (stored == 0 ? " (LOST)" : " (DUPLICATED)"));
                if (r->d.offset <= last_acked_offset)
                    c.add(r->value + ": acknowledged at offset " + std::to_string(r->d.offset) +
                          ", not after the previous acknowledged send (" + std::to_string(last_acked_offset) + ")");
                last_acked_offset = std::max(last_acked_offset, r->d.offset);
            } else {
                ++report.failed;
                if (!expect.failure_allowed || !expect.failure_allowed(*r))
                    c.add(r->value + ": failed with " + describe(r->ec) + ", which this test does not expect");
                if (!expect.failed_may_be_stored && raw_count[r->value] != 0)
                    c.add(r->value + ": failed with " + describe(r->ec) + ", but the broker stored it " +
                          std::to_string(raw_count[r->value]) + " time(s)");
                else if (stored > 1)
                    c.add(r->value + ": failed, and stored " + std::to_string(stored) + " times");
            }
        }
        // The log in send order, and nothing in it that was not sent.
        std::size_t last_index = 0;
        bool first = true;
        for (const auto& [off, v] : effective) {
            const auto it = by_value.find(v);
            if (it == by_value.end()) {
                c.add("offset " + std::to_string(off) + " holds " + v + ", which this test never sent");
                continue;
            }
            if (it->second->partition != partition) c.add("offset " + std::to_string(off) + " holds " + v + ", sent to another partition");
            if (!first && it->second->index <= last_index)
                c.add("offset " + std::to_string(off) + " holds " + v + ", sent before the record at the offset before it (REORDERED)");
            last_index = std::max(last_index, it->second->index);
            first = false;
        }
    }
    report.producer_ids = producers.size();
    return report;
}

namespace {
void run_a_bit(boost::asio::io_context& io, test_clock::time_point end) {
    io.run_until(std::min(end, test_clock::now() + std::chrono::milliseconds(5)));
    if (io.stopped()) {
        io.restart();  // out of work: do not spin
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}
}  // namespace

bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    const auto end = test_clock::now() + limit;
    while (!pred() && test_clock::now() < end) run_a_bit(io, end);
    return pred();
}

void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
    const auto end = test_clock::now() + d;
    while (test_clock::now() < end) run_a_bit(io, end);
}

}  // namespace kwire::test
