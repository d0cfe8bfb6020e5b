// One-shot cluster metadata: brokers, topics, partitions, leaders. For tools and admin code;
// the producer and consumer keep their own cache.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"

namespace kwire {

struct cluster_metadata {
    struct broker {
        std::int32_t node_id = -1;
        std::string host;
        std::int32_t port = 0;
        std::optional<std::string> rack;
    };
    struct partition {
        std::int32_t id = 0;
        std::int32_t leader = -1;
        std::int32_t leader_epoch = -1;
        std::int16_t error = 0;
        std::vector<std::int32_t> replicas;
        std::vector<std::int32_t> isr;
    };
    struct topic {
        std::string name;
        std::int16_t error = 0;  ///< e.g. 3 = UNKNOWN_TOPIC_OR_PARTITION
        bool internal = false;
        std::vector<partition> partitions;
    };
    std::optional<std::string> cluster_id;
    std::int32_t controller_id = -1;
    std::vector<broker> brokers;
    std::vector<topic> topics;
};

using metadata_signature = void(boost::system::error_code, cluster_metadata);

namespace client::detail {
void start_metadata(boost::asio::any_io_executor ex, connection_config cfg, std::vector<std::string> topics,
                    boost::asio::any_completion_handler<metadata_signature> handler);
}

/// Fetches metadata for `topics` (empty: every topic) from any bootstrap broker, trying each in
/// turn, within cfg.request_timeout per attempt. Cancellation: terminal and partial; the call
/// completes with operation_aborted and tries no further broker.
template <class Token>
auto fetch_metadata(boost::asio::any_io_executor ex, client::connection_config cfg,
                          std::vector<std::string> topics, Token&& token) {
    return boost::asio::async_initiate<Token, metadata_signature>(
        [ex](auto handler, client::connection_config c, std::vector<std::string> t) {
            client::detail::start_metadata(ex, std::move(c), std::move(t), std::move(handler));
        },
        token, std::move(cfg), std::move(topics));
}

}  // namespace kwire
