// A scripted cluster whose Produce and InitProducerId follow Kafka's idempotent-producer rules
// (see the header for what it answers and why).
#include "support_rules_broker.hpp"

#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"

namespace kwire::test {

namespace {

namespace kc = kwire::codec;

constexpr std::int16_t corrupt_message = 2;
constexpr std::int16_t unknown_topic_or_partition = 3;
constexpr std::int16_t not_leader_or_follower = 6;
constexpr std::int16_t invalid_record = 87;
constexpr std::int16_t unknown_topic_id = 100;
constexpr std::int16_t first_version_with_topic_ids = 13;

std::optional<std::string> to_string(const std::optional<kp::bytes_view>& b) {
    if (!b) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(b->data()), b->size());
}

/// The one RecordBatch v2 a client's partition data must hold, validated and decompressed;
/// `error` is the partition's answer when it is not acceptable.
struct client_batch {
    kc::batch_header header;
    std::vector<std::uint8_t> bytes;  // as received (the log rewrites the base offset)
    std::int16_t error = 0;
};

client_batch read_client_batch(std::optional<kp::bytes_view> records) {
    client_batch out;
    out.error = invalid_record;
    if (!records) return out;
    kc::records_reader reader(*records);
    if (!reader.next_batch()) {
        if (reader.error()) out.error = corrupt_message;
        return out;
    }
    out.header = reader.batch();
    const auto size = reader.bytes_consumed();
    // Reading the records decompresses them, which checks the codec's frame (next_batch()
    // checked the CRC).
    kc::record_view rec;
    while (reader.next_record(rec)) {
    }
    if (reader.error()) {
        out.error = corrupt_message;
        return out;
    }
    // ProduceRequest.validateRecords (v3+): exactly one batch, of magic 2. LogValidator: no
    // control batch from a client, and a producer id needs a sequence.
    const auto& h = out.header;
    if (reader.next_batch() || reader.incomplete() || reader.error() || h.magic != 2 || h.is_control() ||
        (h.producer_id >= 0 && h.base_sequence < 0))
        return out;
    out.error = 0;
    out.bytes.assign(records->data(), records->data() + size);
    return out;
}

}  // namespace

rules_cluster::rules_cluster(int brokers) : cluster_(brokers) {
    log_ = scripted_log::start(cluster_, brokers);
    cluster_.on(kp::ProduceRequest::api_key, [this](const scripted_request& r) { return produce(r); });
    cluster_.on(kp::InitProducerIdRequest::api_key, [this](const scripted_request& r) { return init_producer_id(r); });
    serve_transactions();
}

rules_counters rules_cluster::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void rules_cluster::set_duplicate_answer_error(bool answer_46) {
    std::lock_guard lock(mutex_);
    answer_46_ = answer_46;
}

std::vector<rules_batch> rules_cluster::log(const std::string& topic, int partition) const {
    std::vector<rules_batch> out;
    for (const auto& bytes : log_->batches(topic, partition)) {
        kc::records_reader reader{kp::bytes_view(bytes)};
        while (reader.next_batch()) {
            auto& b = out.emplace_back();
            b.base_offset = reader.batch().base_offset;
            b.producer_id = reader.batch().producer_id;
            b.producer_epoch = reader.batch().producer_epoch;
            b.base_sequence = reader.batch().base_sequence;
            kc::record_view rec;
            while (reader.next_record(rec)) {
                b.keys.push_back(to_string(rec.key));
                b.values.push_back(to_string(rec.value));
            }
        }
        if (reader.error()) throw std::runtime_error("rules_cluster::log: " + reader.error().message());
    }
    return out;
}

rules_cluster::response rules_cluster::produce(const scripted_request& req) {
    {
        std::lock_guard lock(mutex_);
        ++counters_.produce_requests;
    }
    const auto fault = produce_hook ? produce_hook(req) : produce_fault::none;
    if (fault == produce_fault::close_before_apply) return std::nullopt;

    const auto r = req.decode<kp::ProduceRequest>();
    const auto topics = cluster_.topics_snapshot();
    kp::ProduceResponse resp;
    bool any_error = false;
    {
        std::lock_guard lock(mutex_);
        for (const auto& t : r.topic_data) {
            auto& tr = resp.responses.emplace_back();
            tr.name = t.name;
            tr.topic_id = t.topic_id;
            // Produce v13 names topics by id only.
            std::string name = t.name;
            if (req.version >= first_version_with_topic_ids)
                for (const auto& [known, count] : topics)
                    if (scripted_cluster::topic_id_of(known) == t.topic_id) name = known;
            const auto known = topics.find(name);
            for (const auto& p : t.partition_data) {
                auto& pr = tr.partition_responses.emplace_back();
                pr.index = p.index;
                pr.base_offset = -1;
                if (known == topics.end() || p.index < 0 || p.index >= known->second)
                    pr.error_code = req.version >= first_version_with_topic_ids ? unknown_topic_id
                                                                                : unknown_topic_or_partition;
                else
                    apply(name, p.index, req, p.records, pr);
                any_error = any_error || pr.error_code != 0;
            }
        }
    }
    if (fault == produce_fault::close_after_apply) return std::nullopt;
    if (r.acks == 0) {
        // KafkaApis: no answer; after an error the connection is closed, the only way an acks=0
        // producer can learn of it.
        if (any_error) return std::nullopt;
        return std::vector<std::uint8_t>{};
    }
    return scripted_cluster::respond(req, resp);
}

void rules_cluster::apply(const std::string& topic, int partition, const scripted_request& req,
                          std::optional<kp::bytes_view> records, kp::ProduceResponse::PartitionProduceResponse& out) {
    // Every version is held to v3's one-batch rule: kwire sends no older ones.
    // The error answer: LogAppendInfo.UNKNOWN_LOG_APPEND_INFO's offsets and times.
    out.base_offset = -1;
    out.log_append_time_ms = -1;
    out.log_start_offset = -1;
    auto batch = read_client_batch(records);
    if (batch.error) {
        out.error_code = batch.error;
        ++counters_.invalid_records;
        return;
    }
    if (cluster_.leader_of(topic, partition) != req.node) {
        out.error_code = not_leader_or_follower;
        ++counters_.not_leader;
        return;
    }
    const auto& h = batch.header;
    if (h.is_transactional()) {
        if (auto err = check_transactional(topic, partition, h.producer_id, h.producer_epoch, req.version)) {
            out.error_code = err;
            return;
        }
    }
    auto& state = states_[{topic, partition}];
    const bool idempotent = h.producer_id >= 0;
    const auto last_seq = producer_state_table::last_sequence(h.base_sequence, h.last_offset_delta + 1);
    if (idempotent) {
        const auto verdict = state.check(h.producer_id, h.producer_epoch, h.base_sequence, last_seq);
        if (verdict.duplicate_of) {
            ++counters_.duplicates;
            if (answer_46_) {
                out.error_code = kafka_error::duplicate_sequence;
                return;
            }
            out.base_offset = verdict.duplicate_of->first_offset;
            out.log_append_time_ms = verdict.duplicate_of->max_timestamp;  // UnifiedLog does so
            out.log_start_offset = 0;
            return;
        }
        if (verdict.error) {
            out.error_code = verdict.error;
            if (verdict.error == kafka_error::out_of_order_sequence) ++counters_.out_of_order;
            else ++counters_.invalid_epoch;
            return;
        }
    }
    const auto base = log_->append_raw(topic, partition, std::move(batch.bytes));
    if (idempotent)
        state.commit(h.producer_id, h.producer_epoch,
                     {h.base_sequence, last_seq, base, base + h.last_offset_delta, h.max_timestamp});
    ++counters_.appended_batches;
    out.base_offset = base;
    out.log_start_offset = 0;
}

rules_cluster::response rules_cluster::init_producer_id(const scripted_request& req) {
    const auto r = req.decode<kp::InitProducerIdRequest>();
    kp::InitProducerIdResponse resp;
    if (r.transactional_id && r.transactional_id->empty()) {
        resp.error_code = 42;  // INVALID_REQUEST, as the coordinator answers an empty one
        return scripted_cluster::respond(req, resp);
    }
    if (r.transactional_id) return init_transactional_id(req, *r.transactional_id);
    {
        std::lock_guard lock(mutex_);
        ++counters_.init_producer_ids;
        resp.producer_id = next_producer_id_++;
    }
    resp.producer_epoch = 0;
    return scripted_cluster::respond(req, resp);
}

}  // namespace kwire::test
