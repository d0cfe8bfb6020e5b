#include "routing.hpp"

#include <algorithm>

#include "group/consumer_protocol.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::admin::detail {

next_step classify(std::int16_t error, bool unknown_topic_retriable) noexcept {
    switch (static_cast<kafka_errc>(error)) {
        case kafka_errc::none: return next_step::done;
        case kafka_errc::not_controller: return next_step::find_controller;
        case kafka_errc::not_coordinator:
        case kafka_errc::coordinator_not_available: return next_step::find_coordinator;
        case kafka_errc::coordinator_load_in_progress: return next_step::retry;
        case kafka_errc::unknown_topic_or_partition:
            return unknown_topic_retriable ? next_step::refresh_metadata : next_step::done;
        case kafka_errc::not_leader_or_follower:
        case kafka_errc::leader_not_available:
        case kafka_errc::fenced_leader_epoch:
        case kafka_errc::unknown_leader_epoch: return next_step::refresh_metadata;
        default: return is_retriable(error) ? next_step::retry : next_step::done;
    }
}

next_step classify(std::error_code ec) noexcept {
    if (!ec) return next_step::done;
    if (ec.category() == kafka_category()) return classify(static_cast<std::int16_t>(ec.value()));
    if (ec.category() == client::client_category()) {
        switch (static_cast<client::client_errc>(ec.value())) {
            case client::client_errc::no_brokers:
            case client::client_errc::connection_closed:
            case client::client_errc::request_timed_out: return next_step::refresh_metadata;
            default: return next_step::done;
        }
    }
    // Socket errors (refused, reset, unreachable) are worth another broker or another try.
    return ec.category() == std::system_category() || ec.category() == std::generic_category() ||
                   ec.category().name() == std::string_view("asio.misc") ||
                   ec.category().name() == std::string_view("asio.netdb")
               ? next_step::refresh_metadata
               : next_step::done;
}

leader_routes route_by_leader(const std::vector<topic_partition>& partitions,
                              const std::function<std::pair<std::int32_t, std::int16_t>(const topic_partition&)>& leader_of) {
    leader_routes out;
    for (const auto& tp : partitions) {
        const auto [leader, error] = leader_of(tp);
        if (error != 0 || leader < 0)
            out.unroutable.emplace_back(tp, error != 0 ? error : static_cast<std::int16_t>(kafka_errc::leader_not_available));
        else
            out.by_leader[leader].push_back(tp);
    }
    return out;
}

std::error_code decode_consumer_assignment(std::span<const std::uint8_t> bytes, std::vector<topic_partition>& out) {
    out.clear();
    if (bytes.empty()) return {};  // a member that has no assignment yet
    // The consumer's own decoder (generated from protocol/schema, bounds-checked).
    client::detail::consumer_assignment a;
    if (auto ec = client::detail::decode_assignment(protocol::bytes_view(bytes.data(), bytes.size()), a)) return ec;
    out = client::detail::assigned_partitions(a);
    return {};
}

}  // namespace kwire::admin::detail
