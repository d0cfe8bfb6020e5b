// A fetch source: the fetch path to one leader broker, as franz-go's source. It owns the
// partitions this broker leads for the consumer, its KIP-227 fetch session (fetch_session.hpp),
// and its one Fetch in flight; it decodes the answer into chunks of record views and applies
// each partition's outcome: records buffered, leadership moved (metadata refreshed, the
// partition moves to its new leader's source at the next round), out of range (reset per
// auto.offset.reset), or an error the next poll reports.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "consumer/fetch_session.hpp"
#include "kwire/protocol/messages/fetch.hpp"

namespace kwire::client::detail {

class fetcher;

class source {
public:
    source(consumer_core& core, fetcher& owner, std::int32_t leader) : core_(core), fetcher_(owner), leader_(leader) {}

    std::int32_t leader() const noexcept { return leader_; }
    bool in_flight() const noexcept { return in_flight_; }
    /// The partitions (slots) this broker leads, as far as the consumer knows.
    const std::vector<std::uint32_t>& partitions() const noexcept { return partitions_; }
    void add(std::uint32_t slot);
    void remove(std::uint32_t slot);

    /// Sends one Fetch wanting `slots` (those of its partitions fetchable now); the session
    /// decides which of them the request lists (all of them when it is full) and which it forgets.
    void fetch(const std::vector<std::uint32_t>& slots);
    /// Ends the session on the broker (epoch -1) if the connection is up; then `done`, answered
    /// or not. Returns false when there is nothing to send (`done` is not called).
    bool close(std::function<void()> done);

private:
    protocol::FetchRequest request(const fetch_plan& plan) const;
    void on_response(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent, std::error_code ec,
                     protocol::bytes_view frame, std::int16_t version);
    /// One answered partition of slot `i`; returns whether it buffered records.
    bool take_partition(std::uint32_t i, const protocol::FetchResponse::PartitionData& pd,
                        const std::shared_ptr<const std::vector<std::uint8_t>>& owned,
                        std::vector<std::uint32_t>& reset, std::vector<std::string>& refresh);

    consumer_core& core_;
    fetcher& fetcher_;
    std::int32_t leader_;
    std::vector<std::uint32_t> partitions_;
    fetch_session session_;
    bool in_flight_ = false;
    std::vector<fetch_want> wanted_;       // scratch for fetch
    fetch_plan plan_;                      // scratch for fetch
    std::vector<std::uint32_t> answered_;  // scratch for on_response
    std::unique_ptr<fetch_meters> meters_;  // made with the first Fetch when metrics are on
    clock::time_point sent_at_{};           // of the Fetch in flight
};

}  // namespace kwire::client::detail
