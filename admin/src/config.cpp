// The admin client's own properties, names, and the names of Kafka's APIs.
#include "core/settings.hpp"
#include "kwire/admin/admin.hpp"

namespace kwire::admin {

namespace {

const client::detail::setting_table<admin_config>& admin_settings() {
    using A = admin_config;
    static const client::detail::setting_table<A> table = {
        client::detail::duration<A>("default.api.timeout.ms", &A::api_timeout, 1),
        client::detail::duration<A>("retry.backoff.ms", &A::retry_backoff),
        client::detail::duration<A>("retry.backoff.max.ms", &A::retry_backoff_max),
    };
    return table;
}

}  // namespace

bool is_admin_property(std::string_view name) noexcept {
    for (const auto& s : admin_settings())
        if (s.name == name) return true;
    return false;
}

std::error_code validate(const admin_config& cfg, std::string* what) {
    if (auto ec = client::validate(static_cast<const client::connection_config&>(cfg), what)) return ec;
    if (auto err = client::detail::check_all(cfg, admin_settings()); !err.empty())
        return client::detail::config_error(what, std::move(err));
    return {};
}

std::error_code apply_properties(admin_config& cfg, const client::properties& props, std::string* what) {
    if (auto ec = client::detail::parse_layered(cfg, admin_settings(), props, what)) return ec;
    return validate(cfg, what);
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
