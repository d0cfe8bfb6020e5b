// The cluster as a client sees it: a connection per broker (created from bootstrap addresses
// first, then from metadata), and a metadata cache of topics, partitions and leaders.
//
// Metadata refreshes are coalesced: while one is in flight, further requests for topics wait
// and are served by one more refresh after it, so a burst of NOT_LEADER errors costs one or two
// Metadata requests, not one per partition.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/broker_connection.hpp"
#include "observe/statistics.hpp"
#include "observe/telemetry_push.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/metadata.hpp"
#include "kwire/protocol/messages/metadata.hpp"

namespace kwire::client::detail {

struct partition_info {
    std::int32_t id = 0;
    std::int32_t leader = -1;
    std::int32_t leader_epoch = -1;
    std::int16_t error = 0;
};

struct topic_info {
    std::string name;
    std::int16_t error = 0;  ///< e.g. UNKNOWN_TOPIC_OR_PARTITION (3), LEADER_NOT_AVAILABLE (5)
    std::vector<partition_info> partitions;
};

struct broker_info {
    std::int32_t node_id = -1;
    std::string host;
    std::uint16_t port = 0;
    std::optional<std::string> rack;
};

/// Whether a Metadata request for `topics` at `version` must ask for every topic instead: with
/// auto-creation not allowed, on versions without the flag (v0-3), where naming a topic that does
/// not exist may create it.
bool metadata_asks_for_all(const std::vector<std::string>& topics, bool allow_auto_create, std::int16_t version) noexcept;
/// A Metadata request for `topics` at `version`, or for every topic when the list is empty (or
/// when metadata_asks_for_all says so).
protocol::MetadataRequest metadata_request(const std::vector<std::string>& topics, bool allow_auto_create,
                                           std::int16_t version);
/// The answer to that request as if `topics` had been named: only those topics, in that order,
/// and UNKNOWN_TOPIC_OR_PARTITION for the ones the cluster does not have. (For an empty list,
/// or an answer to a request that named them, nothing changes.)
void restrict_metadata(protocol::MetadataResponse& resp, const std::vector<std::string>& topics, bool asked_for_all);
/// The public view of a Metadata answer.
cluster_metadata to_cluster_metadata(const protocol::MetadataResponse& resp);

class cluster : public std::enable_shared_from_this<cluster> {
public:
    using refresh_done = std::function<void(std::error_code)>;
    using fetch_done = std::function<void(std::error_code, const protocol::MetadataResponse&, std::int16_t version)>;

    cluster(net::any_io_executor ex, connection_config cfg);
    ~cluster();

    const connection_config& config() const noexcept { return cfg_; }
    net::any_io_executor get_executor() const { return ex_; }

    /// Fetches metadata for `topics` (an empty list: every topic) into the cache.
    void refresh(std::vector<std::string> topics, refresh_done done);
    /// One Metadata request for `topics` (empty: every topic) to any broker, not coalesced: the
    /// cache is updated and `done` gets the answer (restricted to `topics`, see restrict_metadata).
    void fetch(std::vector<std::string> topics, fetch_done done);

    const topic_info* topic(std::string_view name) const;
    /// The metadata cache's topics.
    const std::map<std::string, topic_info, std::less<>>& topics() const noexcept { return topics_; }
    const std::map<std::int32_t, broker_info>& brokers() const noexcept { return broker_info_; }
    std::optional<std::string> cluster_id() const { return cluster_id_; }
    std::int32_t controller_id() const noexcept { return controller_id_; }

    /// CreateTopics for one topic, to the controller (any broker if none is known yet): for the
    /// producer's creation of a missing topic with allow.auto.create.topics=true when the broker
    /// does not create it. -1 partitions / replication factor: the broker's defaults (needs
    /// CreateTopics v4+). `done` gets success (also when the topic exists already) or the error.
    void create_topic(std::string name, std::int32_t partitions, std::int16_t replication_factor, refresh_done done);

    /// The connection to a broker known from metadata (created on first use), or nullptr.
    std::shared_ptr<broker_connection> broker(std::int32_t node_id);
    /// Any connection to send cluster-wide requests to: a ready one if there is one, else the
    /// next broker or bootstrap address in turn.
    std::shared_ptr<broker_connection> any_broker();
    /// Every connection: the bootstrap ones, then those to brokers known from metadata.
    std::vector<std::shared_ptr<broker_connection>> connections() const;

    /// statistics.interval.ms (observe/statistics.hpp): starts the statistics of a client of
    /// `type` ("producer", "consumer"), with its own fields from `contribute` (may be empty).
    /// Nothing when statistics are off.
    void start_statistics(std::string_view type, statistics_contributor contribute = {});
    /// The statistics emitter; null when statistics.interval.ms is 0.
    statistics_emitter* statistics() noexcept { return statistics_.get(); }

    /// Starts KIP-714 metrics pushes (enable.metrics.push) for a client of this kind ("producer",
    /// "consumer", "admin"): they begin once a broker answers and stop quietly if it does not
    /// speak KIP-714. Nothing when enable.metrics.push is off. close() sends the last push.
    void push_metrics(std::string kind);
    /// The pusher, null if none (tests).
    const telemetry_push* metrics_push() const noexcept { return pusher_.get(); }

    /// The client's logger, metrics registry and connection errors, shared with every connection.
    telemetry& observe() noexcept { return *telemetry_; }
    logger* log() noexcept { return telemetry_->log(); }
    /// The most recent connection failure of any broker, in words: for errors that say why
    /// ("record not acknowledged within delivery.timeout.ms (last error: connection to
    /// 127.0.0.1:1 refused)"). Empty if no connection has failed.
    std::optional<connection_error> last_error() const { return telemetry_->last_error(); }
    /// `what` followed by " (last error: ...)" when there is a last error, else `what` alone.
    std::string with_last_error(std::string_view what) const;

    /// A leader learned outside Metadata (KIP-951 CurrentLeader in Produce/Fetch responses).
    void update_leader(std::string_view topic, std::int32_t partition, std::int32_t leader, std::int32_t epoch);
    void add_broker(const broker_info& b);
    /// Moves on whenever cached leaders or brokers may have changed (a Metadata answer applied,
    /// a leader updated): the producer re-routes its partitions only when it differs.
    std::uint64_t leaders_version() const noexcept { return leaders_version_; }

    void close();

private:
    void start_refresh();
    void finish_refresh(std::error_code ec);
    void arm_age_timer();
    void apply(const protocol::MetadataResponse& resp, std::int16_t version);
    /// Logs what an answer changes: brokers that joined or left, leaders that moved, and leaders
    /// that are not among the brokers the metadata names (nobody to send to).
    void log_changes(const protocol::MetadataResponse& resp) ;

    net::any_io_executor ex_;
    connection_config cfg_;
    std::shared_ptr<telemetry> telemetry_;
    std::unique_ptr<statistics_emitter> statistics_;  // statistics.interval.ms > 0 only
    std::shared_ptr<telemetry_push> pusher_;  // KIP-714, when enable.metrics.push
    std::vector<std::shared_ptr<broker_connection>> bootstrap_;
    std::map<std::int32_t, std::shared_ptr<broker_connection>> connections_;
    std::map<std::int32_t, broker_info> broker_info_;
    std::map<std::string, topic_info, std::less<>> topics_;
    std::optional<std::string> cluster_id_;
    std::int32_t controller_id_ = -1;
    std::size_t next_broker_ = 0;
    std::uint64_t leaders_version_ = 0;

    net::steady_timer age_timer_;   // metadata.max.age.ms: refresh the cached topics this often
    bool age_timer_armed_ = false;
    bool refreshing_ = false;
    bool closed_ = false;
    std::set<std::string> next_topics_;  // asked for while a refresh was in flight
    bool next_all_ = false;
    std::vector<refresh_done> next_waiters_;
    std::vector<refresh_done> current_waiters_;
};

}  // namespace kwire::client::detail
