// The admin client: topics, configs, offsets, consumer groups and the cluster itself.
//
//   kwire::admin::admin_client admin(io.get_executor(), cfg);
//   admin.create_topics({{.name = "orders", .partitions = 6, .replication_factor = 3}}, {},
//                       [](boost::system::error_code ec, std::vector<kwire::admin::topic_result> r) { ... });
//   auto topics = co_await admin.describe_topics({"orders"}, use_awaitable);  // throws system_error
//   auto [ec, topics] = co_await admin.describe_topics({"orders"}, as_tuple(use_awaitable));
//
// Every call takes any Asio completion token (callback, use_awaitable, use_future, deferred),
// runs on the executor the client was given (no threads of its own), and is routed where Kafka
// wants it: the controller for topic changes and topic configs, the broker itself for its
// configs, the group coordinator (FindCoordinator) for group calls, and partition leaders for
// ListOffsets and DeleteRecords.
//
// Results are per item: one failing topic, partition or group does not hide the others' outcome.
// The call's own error_code says whether the call could be made at all (no broker reachable, the
// brokers lack the API, default.api.timeout.ms passed before any answer); each item carries its
// own error, a boost::system::error_code like the call's (a `kafka` category code such as
// TOPIC_ALREADY_EXISTS, or a client error). Retriable
// errors (NOT_CONTROLLER, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, NOT_LEADER_OR_FOLLOWER,
// a lost connection, ...) are retried with backoff (retry.backoff.ms up to retry.backoff.max.ms)
// until default.api.timeout.ms has passed since the call started.
//
// The admin client never creates topics implicitly: its Metadata requests say
// allow_auto_topic_creation=false, and to brokers whose Metadata has no such flag (v0-3) it asks
// for every topic rather than naming one, since naming it there may create it.
//
// Cancellation, for every call, through the handler's cancellation slot (bind_cancellation_slot,
// awaitable operators): terminal and partial (not total). The call completes at once with
// boost::asio::error::operation_aborted and makes no further attempt; a request already sent
// is not recalled and may still take effect (a topic created, offsets altered).
//
// Not thread-safe: call it from its executor (a strand, if the io_context runs several threads).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/assignor.hpp"
#include "kwire/client/config.hpp"

namespace kwire::admin {

struct admin_config : client::connection_config {
    /// default.api.timeout.ms: how long one call may take, retries included.
    std::chrono::milliseconds api_timeout{60000};
    std::chrono::milliseconds retry_backoff{100};      ///< retry.backoff.ms
    std::chrono::milliseconds retry_backoff_max{1000}; ///< retry.backoff.max.ms
};

/// Applies admin (default.api.timeout.ms, retry.backoff.ms, retry.backoff.max.ms) and connection
/// properties onto `cfg`; as client::apply_properties otherwise.
std::error_code apply_properties(admin_config& cfg, const client::properties& props, std::string* what = nullptr);
/// As client::validate: every value in range (the admin client's constructor runs it).
std::error_code validate(const admin_config& cfg, std::string* what = nullptr);
/// Whether `name` is one of the admin client's own properties (not a connection property).
bool is_admin_property(std::string_view name) noexcept;

/// A topic and partition: the client library's type (the consumer and the assignors use it too).
using client::topic_partition;

// --- topics ----------------------------------------------------------------------------------

struct new_topic {
    std::string name{};
    std::int32_t partitions = -1;          ///< -1: the broker's num.partitions (needs CreateTopics v4+)
    std::int16_t replication_factor = -1;  ///< -1: the broker's default.replication.factor (v4+)
    /// Explicit replica assignment: partition -> broker ids (then partitions and replication
    /// factor must stay -1).
    std::map<std::int32_t, std::vector<std::int32_t>> assignments{};
    std::map<std::string, std::string> configs{};  ///< e.g. cleanup.policy=compact
};

struct create_topics_options {
    bool validate_only = false;  ///< check everything, create nothing
};

/// One topic's (or one partition's, or one group's) outcome.
struct topic_result {
    std::string name{};
    boost::system::error_code error{};
    std::string message{};  ///< the broker's error message, if it sent one
};

struct topic_listing {
    std::string name{};
    bool internal = false;
    std::int32_t partitions = 0;
};

struct partition_description {
    std::int32_t id = 0;
    std::int32_t leader = -1;
    std::int32_t leader_epoch = -1;
    std::vector<std::int32_t> replicas{};
    std::vector<std::int32_t> isr{};
    std::vector<std::int32_t> offline{};
    boost::system::error_code error{};
};

struct topic_description {
    std::string name{};
    boost::system::error_code error{};  ///< e.g. UNKNOWN_TOPIC_OR_PARTITION
    bool internal = false;
    std::vector<partition_description> partitions{};  ///< sorted by id
};

struct new_partitions {
    std::string topic{};
    std::int32_t total_count = 0;  ///< the new number of partitions (only ever grows)
    /// Replicas of each new partition, in order; empty: the controller decides.
    std::vector<std::vector<std::int32_t>> assignments{};
};

// --- configs ---------------------------------------------------------------------------------

enum class resource_type : std::int8_t { topic = 2, broker = 4, broker_logger = 8 };

struct config_resource {
    resource_type type = resource_type::topic;
    std::string name{};  ///< the topic, or the broker id ("1"); "" for the cluster-wide broker default
    friend auto operator<=>(const config_resource&, const config_resource&) = default;
};

/// Where a config's value comes from (DescribeConfigs ConfigSource).
enum class config_source : std::int8_t {
    unknown = 0,
    dynamic_topic = 1,
    dynamic_broker = 2,
    dynamic_default_broker = 3,
    static_broker = 4,
    default_config = 5,
    dynamic_broker_logger = 6,
};
std::string_view to_string(config_source s) noexcept;

struct config_entry {
    std::string name{};
    std::optional<std::string> value{};  ///< nullopt for sensitive values
    bool read_only = false;
    bool sensitive = false;
    bool is_default = false;
    config_source source = config_source::unknown;
};

struct config_description {
    config_resource resource{};
    boost::system::error_code error{};
    std::string message{};
    std::vector<config_entry> entries{};
};

/// IncrementalAlterConfigs operations.
enum class alter_op : std::int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_alteration {
    std::string name{};
    alter_op op = alter_op::set;
    std::optional<std::string> value{};  ///< ignored by remove
};

struct resource_alterations {
    config_resource resource{};
    std::vector<config_alteration> alterations{};
};

struct resource_result {
    config_resource resource{};
    boost::system::error_code error{};
    std::string message{};
};

// --- offsets ---------------------------------------------------------------------------------

/// What ListOffsets looks up: a timestamp in ms, or one of these.
struct offset_spec {
    static constexpr std::int64_t earliest = -2;
    static constexpr std::int64_t latest = -1;
    static constexpr std::int64_t max_timestamp = -3;  ///< the record with the largest timestamp (v7+)
};

struct offset_query {
    topic_partition tp{};
    std::int64_t spec = offset_spec::latest;  ///< offset_spec::* or a timestamp (ms)
};

struct listed_offset {
    topic_partition tp{};
    boost::system::error_code error{};
    std::int64_t offset = -1;  ///< -1: no record at or after the timestamp
    std::int64_t timestamp = -1;
    std::int32_t leader_epoch = -1;
};

struct delete_records_request {
    topic_partition tp{};
    std::int64_t before_offset = -1;  ///< delete every record below it; -1: up to the high watermark
};

struct deleted_records {
    topic_partition tp{};
    boost::system::error_code error{};
    std::int64_t low_watermark = -1;
};

struct partition_result {
    topic_partition tp{};
    boost::system::error_code error{};
};

// --- groups ----------------------------------------------------------------------------------

struct group_listing {
    std::string group_id{};
    std::string protocol_type{};  ///< "consumer" for consumer groups
    std::string state{};          ///< ListGroups v4+; "" otherwise
    std::int32_t coordinator = -1;
};

struct member_description {
    std::string member_id{};
    std::optional<std::string> group_instance_id{};
    std::string client_id{};
    std::string client_host{};
    /// Decoded from the ConsumerProtocol assignment (protocol type "consumer"), sorted.
    std::vector<topic_partition> assignment{};
    boost::system::error_code assignment_error{};  ///< set when the assignment bytes could not be decoded
};

struct group_description {
    std::string group_id{};
    boost::system::error_code error{};
    std::string state{};          ///< Empty, Stable, PreparingRebalance, CompletingRebalance, Dead
    std::string protocol_type{};  ///< "consumer"
    std::string protocol{};       ///< the assignor, e.g. "range"
    std::int32_t coordinator = -1;
    std::vector<member_description> members{};
};

struct group_result {
    std::string group_id{};
    boost::system::error_code error{};
};

struct committed_offset {
    topic_partition tp{};
    boost::system::error_code error{};
    std::int64_t offset = -1;  ///< -1: nothing committed
    std::int32_t leader_epoch = -1;
    std::optional<std::string> metadata{};
};

struct partition_lag {
    topic_partition tp{};
    boost::system::error_code error{};
    std::int64_t committed = -1;   ///< -1: nothing committed
    std::int64_t end_offset = -1;  ///< the high watermark
    std::int64_t lag = -1;         ///< end_offset - committed, or -1 when either is unknown
};

// --- cluster ---------------------------------------------------------------------------------

struct broker_description {
    std::int32_t node_id = -1;
    std::string host{};
    std::int32_t port = 0;
    std::optional<std::string> rack{};
};

struct cluster_description {
    std::optional<std::string> cluster_id{};
    std::int32_t controller_id = -1;
    std::vector<broker_description> brokers{};  ///< sorted by id
    bool from_describe_cluster = false;       ///< false: the brokers lack DescribeCluster; from Metadata
};

struct api_version_range {
    std::int16_t api_key = 0;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;
};

struct broker_api_versions {
    std::int32_t node_id = -1;
    std::string address{};
    boost::system::error_code error{};
    std::vector<api_version_range> apis{};  ///< sorted by key
};

/// The name of a Kafka API key ("Metadata"), or "" if kwire does not know it.
std::string_view api_name(std::int16_t api_key) noexcept;

// --- signatures ------------------------------------------------------------------------------

using topics_signature = void(boost::system::error_code, std::vector<topic_result>);
using list_topics_signature = void(boost::system::error_code, std::vector<topic_listing>);
using describe_topics_signature = void(boost::system::error_code, std::vector<topic_description>);
using describe_configs_signature = void(boost::system::error_code, std::vector<config_description>);
using alter_configs_signature = void(boost::system::error_code, std::vector<resource_result>);
using list_offsets_signature = void(boost::system::error_code, std::vector<listed_offset>);
using delete_records_signature = void(boost::system::error_code, std::vector<deleted_records>);
using list_groups_signature = void(boost::system::error_code, std::vector<group_listing>);
using describe_groups_signature = void(boost::system::error_code, std::vector<group_description>);
using groups_signature = void(boost::system::error_code, std::vector<group_result>);
using group_offsets_signature = void(boost::system::error_code, std::vector<committed_offset>);
using group_lag_signature = void(boost::system::error_code, std::vector<partition_lag>);
using alter_offsets_signature = void(boost::system::error_code, std::vector<partition_result>);
using describe_cluster_signature = void(boost::system::error_code, cluster_description);
using api_versions_signature = void(boost::system::error_code, std::vector<broker_api_versions>);

namespace detail {
class admin_impl;
template <class Sig> using handler = boost::asio::any_completion_handler<Sig>;
using impl_ptr = std::shared_ptr<admin_impl>;
void start_create_topics(impl_ptr, std::vector<new_topic>, create_topics_options, handler<topics_signature>);
void start_delete_topics(impl_ptr, std::vector<std::string>, handler<topics_signature>);
void start_list_topics(impl_ptr, bool include_internal, handler<list_topics_signature>);
void start_describe_topics(impl_ptr, std::vector<std::string>, handler<describe_topics_signature>);
void start_create_partitions(impl_ptr, std::vector<new_partitions>, bool validate_only, handler<topics_signature>);
void start_describe_configs(impl_ptr, std::vector<config_resource>, handler<describe_configs_signature>);
void start_alter_configs(impl_ptr, std::vector<resource_alterations>, bool validate_only,
                         handler<alter_configs_signature>);
void start_list_offsets(impl_ptr, std::vector<offset_query>, handler<list_offsets_signature>);
void start_delete_records(impl_ptr, std::vector<delete_records_request>, handler<delete_records_signature>);
void start_list_groups(impl_ptr, handler<list_groups_signature>);
void start_describe_groups(impl_ptr, std::vector<std::string>, handler<describe_groups_signature>);
void start_delete_groups(impl_ptr, std::vector<std::string>, handler<groups_signature>);
void start_list_group_offsets(impl_ptr, std::string group, handler<group_offsets_signature>);
void start_group_lag(impl_ptr, std::string group, handler<group_lag_signature>);
void start_alter_group_offsets(impl_ptr, std::string group, std::vector<std::pair<topic_partition, std::int64_t>>,
                               handler<alter_offsets_signature>);
void start_describe_cluster(impl_ptr, handler<describe_cluster_signature>);
void start_api_versions(impl_ptr, handler<api_versions_signature>);

/// async_initiate with the arguments moved into a start_* function.
template <class Sig, class Token, class Start, class... Args>
auto initiate(Token&& token, Start start, impl_ptr impl, Args&&... args) {
    return boost::asio::async_initiate<Token, Sig>(
        [start](auto h, impl_ptr i, auto... a) {
            start(std::move(i), std::move(a)..., handler<Sig>(std::move(h)));
        },
        token, std::move(impl), std::forward<Args>(args)...);
}
}  // namespace detail

class admin_client {
public:
    /// Connects lazily, on the first call. `cfg.allow_auto_create_topics` is ignored: the admin
    /// client never creates topics implicitly. Throws std::system_error (client_errc::invalid_config)
    /// for a configuration validate() rejects.
    admin_client(boost::asio::any_io_executor ex, admin_config cfg);
    /// Closes the connections; calls still pending complete with client_errc::closed.
    ~admin_client();
    admin_client(const admin_client&) = delete;
    admin_client& operator=(const admin_client&) = delete;

    void close();

    // --- topics (the controller) ---
    /// CreateTopics; per topic: success, TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...
    template <class Token> auto create_topics(std::vector<new_topic> topics, create_topics_options options, Token&& token) {
        return detail::initiate<topics_signature>(token, &detail::start_create_topics, impl_, std::move(topics), options);
    }
    template <class Token> auto delete_topics(std::vector<std::string> topics, Token&& token) {
        return detail::initiate<topics_signature>(token, &detail::start_delete_topics, impl_, std::move(topics));
    }
    /// Every topic (internal ones such as __consumer_offsets too if asked), sorted by name.
    template <class Token> auto list_topics(bool include_internal, Token&& token) {
        return detail::initiate<list_topics_signature>(token, &detail::start_list_topics, impl_, include_internal);
    }
    /// Partitions, leaders, replicas, ISR; one entry per name asked for, in that order.
    template <class Token> auto describe_topics(std::vector<std::string> topics, Token&& token) {
        return detail::initiate<describe_topics_signature>(token, &detail::start_describe_topics, impl_,
                                                           std::move(topics));
    }
    template <class Token> auto create_partitions(std::vector<new_partitions> topics, bool validate_only, Token&& token) {
        return detail::initiate<topics_signature>(token, &detail::start_create_partitions, impl_, std::move(topics),
                                                  validate_only);
    }

    // --- configs (topics: the controller; brokers: the broker itself) ---
    template <class Token> auto describe_configs(std::vector<config_resource> resources, Token&& token) {
        return detail::initiate<describe_configs_signature>(token, &detail::start_describe_configs, impl_,
                                                            std::move(resources));
    }
    /// IncrementalAlterConfigs: set, remove (back to the default), append to / subtract from a list.
    template <class Token> auto alter_configs(std::vector<resource_alterations> changes, bool validate_only, Token&& token) {
        return detail::initiate<alter_configs_signature>(token, &detail::start_alter_configs, impl_, std::move(changes),
                                                         validate_only);
    }

    // --- offsets (partition leaders) ---
    template <class Token> auto list_offsets(std::vector<offset_query> queries, Token&& token) {
        return detail::initiate<list_offsets_signature>(token, &detail::start_list_offsets, impl_, std::move(queries));
    }
    template <class Token> auto delete_records(std::vector<delete_records_request> requests, Token&& token) {
        return detail::initiate<delete_records_signature>(token, &detail::start_delete_records, impl_,
                                                          std::move(requests));
    }

    // --- groups (the group coordinator) ---
    /// ListGroups on every broker. If some broker fails, the groups of the others are still
    /// returned and the error is that broker's.
    template <class Token> auto list_groups(Token&& token) {
        return detail::initiate<list_groups_signature>(token, &detail::start_list_groups, impl_);
    }
    template <class Token> auto describe_groups(std::vector<std::string> groups, Token&& token) {
        return detail::initiate<describe_groups_signature>(token, &detail::start_describe_groups, impl_,
                                                           std::move(groups));
    }
    template <class Token> auto delete_groups(std::vector<std::string> groups, Token&& token) {
        return detail::initiate<groups_signature>(token, &detail::start_delete_groups, impl_, std::move(groups));
    }
    /// The group's committed offsets (OffsetFetch for every topic), sorted.
    template <class Token> auto list_group_offsets(std::string group, Token&& token) {
        return detail::initiate<group_offsets_signature>(token, &detail::start_list_group_offsets, impl_,
                                                         std::move(group));
    }
    /// Committed offsets against each partition's high watermark, for the partitions the group has
    /// committed to.
    template <class Token> auto group_lag(std::string group, Token&& token) {
        return detail::initiate<group_lag_signature>(token, &detail::start_group_lag, impl_, std::move(group));
    }
    /// Commits `offsets` for a group with no active members (OffsetCommit with generation -1 and
    /// no member id). An active group rejects it (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION).
    template <class Token>
    auto alter_group_offsets(std::string group, std::vector<std::pair<topic_partition, std::int64_t>> offsets,
                             Token&& token) {
        return detail::initiate<alter_offsets_signature>(token, &detail::start_alter_group_offsets, impl_,
                                                         std::move(group), std::move(offsets));
    }

    // --- cluster ---
    /// DescribeCluster where the brokers speak it (Kafka 2.8+), else Metadata.
    template <class Token> auto describe_cluster(Token&& token) {
        return detail::initiate<describe_cluster_signature>(token, &detail::start_describe_cluster, impl_);
    }
    /// ApiVersions of every broker, each asked directly.
    template <class Token> auto api_versions(Token&& token) {
        return detail::initiate<api_versions_signature>(token, &detail::start_api_versions, impl_);
    }

private:
    std::shared_ptr<detail::admin_impl> impl_{};
};

}  // namespace kwire::admin
