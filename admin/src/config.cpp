// The admin client's own properties, names, and the names of Kafka's APIs.
#include <charconv>

#include "kwire/admin/admin.hpp"
#include "kwire/client/error.hpp"

namespace kwire::admin {

namespace {

constexpr std::string_view admin_properties[] = {"default.api.timeout.ms", "retry.backoff.ms", "retry.backoff.max.ms"};

}  // namespace

bool is_admin_property(std::string_view name) noexcept {
    for (const auto p : admin_properties)
        if (p == name) return true;
    return false;
}

std::error_code apply_properties(admin_config& cfg, const client::properties& props, std::string* what) {
    client::properties rest;
    for (const auto& [name, value] : props) {
        if (!is_admin_property(name)) {
            rest.emplace(name, value);
            continue;
        }
        std::int64_t ms = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
        if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || ms < 0 || ms > (std::int64_t{1} << 40)) {
            if (what) *what = name + "=" + value + ": expected a number of milliseconds";
            return make_error_code(client::client_errc::invalid_config);
        }
        if (name == "default.api.timeout.ms") cfg.api_timeout = std::chrono::milliseconds(std::max<std::int64_t>(ms, 1));
        else if (name == "retry.backoff.ms") cfg.retry_backoff = std::chrono::milliseconds(ms);
        else cfg.retry_backoff_max = std::chrono::milliseconds(ms);
    }
    return client::apply_properties(static_cast<client::connection_config&>(cfg), rest, what);
}

std::string_view to_string(config_source s) noexcept {
    switch (s) {
        case config_source::dynamic_topic: return "DYNAMIC_TOPIC_CONFIG";
        case config_source::dynamic_broker: return "DYNAMIC_BROKER_CONFIG";
        case config_source::dynamic_default_broker: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
        case config_source::static_broker: return "STATIC_BROKER_CONFIG";
        case config_source::default_config: return "DEFAULT_CONFIG";
        case config_source::dynamic_broker_logger: return "DYNAMIC_BROKER_LOGGER_CONFIG";
        case config_source::unknown: break;
    }
    return "UNKNOWN";
}

std::string_view api_name(std::int16_t key) noexcept {
    // Kafka's API keys, as the protocol guide names them.
    static constexpr std::pair<std::int16_t, std::string_view> names[] = {
        {0, "Produce"}, {1, "Fetch"}, {2, "ListOffsets"}, {3, "Metadata"}, {4, "LeaderAndIsr"}, {5, "StopReplica"},
        {6, "UpdateMetadata"}, {7, "ControlledShutdown"}, {8, "OffsetCommit"}, {9, "OffsetFetch"},
        {10, "FindCoordinator"}, {11, "JoinGroup"}, {12, "Heartbeat"}, {13, "LeaveGroup"}, {14, "SyncGroup"},
        {15, "DescribeGroups"}, {16, "ListGroups"}, {17, "SaslHandshake"}, {18, "ApiVersions"}, {19, "CreateTopics"},
        {20, "DeleteTopics"}, {21, "DeleteRecords"}, {22, "InitProducerId"}, {23, "OffsetForLeaderEpoch"},
        {24, "AddPartitionsToTxn"}, {25, "AddOffsetsToTxn"}, {26, "EndTxn"}, {27, "WriteTxnMarkers"},
        {28, "TxnOffsetCommit"}, {29, "DescribeAcls"}, {30, "CreateAcls"}, {31, "DeleteAcls"}, {32, "DescribeConfigs"},
        {33, "AlterConfigs"}, {34, "AlterReplicaLogDirs"}, {35, "DescribeLogDirs"}, {36, "SaslAuthenticate"},
        {37, "CreatePartitions"}, {38, "CreateDelegationToken"}, {39, "RenewDelegationToken"},
        {40, "ExpireDelegationToken"}, {41, "DescribeDelegationToken"}, {42, "DeleteGroups"}, {43, "ElectLeaders"},
        {44, "IncrementalAlterConfigs"}, {45, "AlterPartitionReassignments"}, {46, "ListPartitionReassignments"},
        {47, "OffsetDelete"}, {48, "DescribeClientQuotas"}, {49, "AlterClientQuotas"},
        {50, "DescribeUserScramCredentials"}, {51, "AlterUserScramCredentials"}, {55, "DescribeQuorum"},
        {56, "AlterPartition"}, {57, "UpdateFeatures"}, {58, "Envelope"}, {60, "DescribeCluster"},
        {61, "DescribeProducers"}, {64, "UnregisterBroker"}, {65, "DescribeTransactions"}, {66, "ListTransactions"},
        {67, "AllocateProducerIds"}, {68, "ConsumerGroupHeartbeat"}, {69, "ConsumerGroupDescribe"},
        {71, "GetTelemetrySubscriptions"}, {72, "PushTelemetry"}, {74, "ListClientMetricsResources"},
        {75, "DescribeTopicPartitions"},
    };
    for (const auto& [k, n] : names)
        if (k == key) return n;
    return {};
}

}  // namespace kwire::admin
