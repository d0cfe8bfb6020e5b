// The consumer-group scenarios' clusters (support_group_clusters.hpp).
#include "support_group_clusters.hpp"

#include <boost/asio/io_context.hpp>
#include <optional>
#include <stdexcept>

#include "blocking_connection.hpp"
#include "kcat.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"
#include "mock_cluster.hpp"
#include "scripted_group.hpp"
#include "scripted_log.hpp"

namespace kwire::test {

namespace {

namespace kp = kwire::protocol;
using namespace std::chrono_literals;

class mock_group_cluster final : public group_cluster {
public:
    mock_group_cluster(const std::string& topic, int partitions, const std::string& group)
        : topic_(topic), group_(group), partitions_(partitions) {
        mc_.create_topic(topic, partitions, 1);
        producer_config cfg;
        cfg.bootstrap_servers = mc_.broker_addresses();
        cfg.linger = 0ms;
        producer_.emplace(io_.get_executor(), cfg);
    }

    std::vector<std::string> brokers() const override { return mc_.broker_addresses(); }
    std::vector<std::string> member_properties() const override { return {}; }
    std::vector<std::int16_t> spared_api_keys() const override { return {11, 14}; }  // JoinGroup, SyncGroup
    bool needs_member_names() const override { return true; }

    // Straight to the mock (no chaos), one partition named per record, so the records of a
    // partition are stored in the order given.
    void append(std::int32_t partition, const std::vector<std::string>& values) override {
        std::size_t done = 0;
        std::error_code failure;
        for (const auto& v : values)
            producer_->send({.topic = topic_,
                             .value = kp::bytes_view(reinterpret_cast<const std::uint8_t*>(v.data()), v.size()),
                             .partition = partition},
                            [&](std::error_code ec, delivery) {
                                ++done;
                                if (ec) failure = ec;
                            });
        const auto limit = std::chrono::steady_clock::now() + 30s;
        while (done < values.size() && std::chrono::steady_clock::now() < limit) io_.run_for(10ms);
        if (failure || done < values.size())
            throw std::runtime_error("append to the mock failed: " + (failure ? failure.message() : "timed out"));
    }

    std::map<std::int32_t, std::int64_t> committed() override {
        try {
            if (!coordinator_) find_coordinator();
            kp::OffsetFetchRequest req;
            req.group_id = group_;
            auto& t = req.topics->emplace_back();
            t.name = topic_;
            for (int p = 0; p < partitions_; ++p) t.partition_indexes.push_back(p);
            const auto resp = coordinator_->call(req, 5);
            if (resp.error_code != 0) throw std::runtime_error("OffsetFetch error " + std::to_string(resp.error_code));
            std::map<std::int32_t, std::int64_t> out;
            for (const auto& rt : resp.topics)
                for (const auto& rp : rt.partitions) {
                    if (rp.error_code != 0) throw std::runtime_error("OffsetFetch error " + std::to_string(rp.error_code));
                    out[rp.partition_index] = rp.committed_offset;
                }
            return out;
        } catch (const peers::connection_error&) {
            coordinator_.reset();
            throw;
        } catch (const std::runtime_error&) {
            coordinator_.reset();
            throw;
        }
    }

    std::map<std::int32_t, std::vector<std::string>> contents() override {
        std::map<std::int32_t, std::vector<std::string>> out;
        for (int p = 0; p < partitions_; ++p) {
            auto& values = out[p];
            for (const auto& r : peers::kcat_consume(mc_.bootstrap(), topic_, p)) {
                if (r.offset < 0) continue;
                if (values.size() <= static_cast<std::size_t>(r.offset)) values.resize(static_cast<std::size_t>(r.offset) + 1);
                values[static_cast<std::size_t>(r.offset)] = r.value;
            }
        }
        return out;
    }

private:
    void find_coordinator() {
        peers::blocking_connection any(mc_.broker_addresses().front(), 5s, "kwire-chaos-observer");
        kp::FindCoordinatorRequest req;
        req.key = group_;
        const auto resp = any.call(req, 1);
        if (resp.error_code != 0) throw std::runtime_error("FindCoordinator error " + std::to_string(resp.error_code));
        coordinator_.emplace(resp.host + ":" + std::to_string(resp.port), 5s, "kwire-chaos-observer");
    }

    peers::mock_cluster mc_{3};
    std::string topic_, group_;
    int partitions_;
    boost::asio::io_context io_;
    std::optional<producer> producer_;
    std::optional<peers::blocking_connection> coordinator_;
};

class scripted_group_cluster final : public group_cluster {
public:
    scripted_group_cluster(const std::string& topic, int partitions, const std::string& group, int heartbeat_ms,
                           std::chrono::milliseconds session)
        : topic_(topic), group_(group), partitions_(partitions), session_(session) {
        cluster_.topic_ids = true;  // KIP-848 assignments name topics by id
        cluster_.add_topic(topic, partitions);
        log_ = scripted_log::start(cluster_, 3);
        coordinator_ = scripted_group::start_consumer_protocol(cluster_, heartbeat_ms);
    }

    std::vector<std::string> brokers() const override { return cluster_.addresses(); }
    std::vector<std::string> member_properties() const override { return {"group.protocol=consumer"}; }

    void append(std::int32_t partition, const std::vector<std::string>& values) override {
        const auto base = log_->append(topic_, partition, values);
        std::lock_guard lock(mutex_);
        auto& stored = contents_[partition];
        if (base != static_cast<std::int64_t>(stored.size())) throw std::runtime_error("scripted_log appended out of place");
        stored.insert(stored.end(), values.begin(), values.end());
    }

    std::map<std::int32_t, std::int64_t> committed() override {
        std::map<std::int32_t, std::int64_t> out;
        for (int p = 0; p < partitions_; ++p) out[p] = coordinator_->committed(group_, topic_, p);
        return out;
    }

    std::map<std::int32_t, std::vector<std::string>> contents() override {
        std::lock_guard lock(mutex_);
        auto out = contents_;
        for (int p = 0; p < partitions_; ++p) out[p];
        return out;
    }

    void tick() override { expire_silent_members(); }

    std::string describe() const override {
        std::string out = "coordinator owners:";
        for (const auto& [member, owned] : coordinator_->owners(group_)) {
            out += " " + member + "={";
            for (const auto& [t, p] : owned) out += std::to_string(p) + ",";
            out += "}";
        }
        out += "\nexpired (ms since the cluster started):";
        for (const auto& [at, member] : expiries_) out += " " + std::to_string(at) + ":" + member;
        // Per member: heartbeats by answered error, commits by error.
        std::map<std::string, std::map<int, int>> beats, commits;
        for (const auto& h : coordinator_->heartbeats()) ++beats[h.member_id][h.error];
        for (const auto& c : coordinator_->commits()) ++commits[c.member_id][c.error];
        auto counts = [](const std::map<int, int>& m) {
            std::string o;
            for (const auto& [e, n] : m) o += " e" + std::to_string(e) + "x" + std::to_string(n);
            return o;
        };
        std::multimap<long long, std::string> by_start;
        for (const auto& [member, m] : beats) {
            const auto it = seen_.find(member);
            const auto line = "member " + member.substr(0, 8) + " heartbeats" + counts(m) + " commits" +
                              counts(commits[member]) +
                              (it == seen_.end() ? std::string()
                                                 : " seen " + std::to_string(it->second.first) + ".." +
                                                       std::to_string(it->second.last) + it->second.errors);
            by_start.emplace(it == seen_.end() ? -1 : it->second.first, line);
        }
        for (const auto& [start, line] : by_start) out += "\n" + line;
        // The last Fetches each broker answered: sessions, what they listed, what they answered.
        const auto fetches = log_->fetches();
        std::map<int, int> shown;
        for (auto it = fetches.rbegin(); it != fetches.rend(); ++it) {
            if (++shown[it->node] > 6) continue;
            auto tps = [](const std::vector<std::pair<std::string, std::int32_t>>& v) {
                std::string o;
                for (const auto& [t, p] : v) o += std::to_string(p) + ",";
                return o;
            };
            std::string offsets;
            for (const auto o : it->listed_offsets) offsets += std::to_string(o) + ",";
            out += "\nfetch node " + std::to_string(it->node) + " session " + std::to_string(it->session_id) + " epoch " +
                   std::to_string(it->epoch) + " listed {" + tps(it->listed) + "} at {" + offsets + "} forgotten {" +
                   tps(it->forgotten) + "} error " + std::to_string(it->error) + " answered session " +
                   std::to_string(it->answered_session_id) + " {" + tps(it->answered) + "}";
        }
        return out + "\n";
    }
    int expired() const override { return expired_; }

private:
    /// The session timeout the scripted coordinator lacks: a member owning partitions that has
    /// not heartbeated for session_ is made to leave (epoch -1), as Kafka's coordinator expires it.
    void expire_silent_members() {
        const auto now = std::chrono::steady_clock::now();
        const auto beats = coordinator_->heartbeats();
        const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - created_).count();
        for (; heartbeats_seen_ < beats.size(); ++heartbeats_seen_) {
            const auto& b = beats[heartbeats_seen_];
            if (b.member_id.empty()) continue;
            last_beat_[b.member_id] = now;
            auto& seen = seen_[b.member_id];
            if (seen.first == 0) seen.first = since;
            seen.last = since;
            ++seen.count;
            if (b.error) seen.errors += " " + std::to_string(since) + ":e" + std::to_string(b.error);
        }
        for (const auto& [member, owned] : coordinator_->owners(group_)) {
            auto [it, fresh] = last_beat_.try_emplace(member, now);
            if (fresh || now - it->second < session_) continue;
            kp::ConsumerGroupHeartbeatRequest leave;
            leave.group_id = group_;
            leave.member_id = member;
            leave.member_epoch = -1;
            try {
                peers::blocking_connection conn(cluster_.addresses().front(), 5s, "kwire-chaos-session-timeout");
                conn.call(leave, 1);
                ++expired_;
                expiries_.emplace_back(
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - created_).count(), member);
                last_beat_.erase(it);
            } catch (const std::exception&) {
                // Tried again at the next tick.
            }
        }
    }

    std::string topic_, group_;
    int partitions_;
    std::chrono::milliseconds session_;
    std::mutex mutex_;
    std::map<std::int32_t, std::vector<std::string>> contents_;
    std::size_t heartbeats_seen_ = 0;
    std::map<std::string, std::chrono::steady_clock::time_point> last_beat_;
    int expired_ = 0;
    std::vector<std::pair<long long, std::string>> expiries_;
    struct member_seen {
        long long first = 0, last = 0;  // ms since the cluster started, at the reaper's ticks
        int count = 0;
        std::string errors;
    };
    std::map<std::string, member_seen> seen_;
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    std::shared_ptr<scripted_log> log_;
    std::shared_ptr<scripted_group> coordinator_;
    // Last: destroyed first, so its threads are joined before anything they use goes away.
    scripted_cluster cluster_{3};
};

}  // namespace

std::unique_ptr<group_cluster> make_mock_group_cluster(const std::string& topic, int partitions,
                                                       const std::string& group) {
    return std::make_unique<mock_group_cluster>(topic, partitions, group);
}

std::unique_ptr<group_cluster> make_scripted_group_cluster(const std::string& topic, int partitions,
                                                           const std::string& group, int heartbeat_ms,
                                                           std::chrono::milliseconds session) {
    return std::make_unique<scripted_group_cluster>(topic, partitions, group, heartbeat_ms, session);
}

}  // namespace kwire::test
