// The consumer's inside, split by role as franz-go splits kgo:
//   consumer/consumer_impl    the application side: assign/subscribe, poll, acknowledgements,
//                             seek, pause, close, revocation; the public object; it wires the
//                             parts below together and is the membership's host;
//   consumer/consumer_core    what the parts share: the partition slots, config, cluster, and
//                             a partition's life (read that first);
//   consumer/fetcher, source  fetching: one source per leader broker, each with its fetch
//                             session and one Fetch in flight;
//   consumer/start_offsets    a partition's start offset (OffsetFetch, ListOffsets);
//   group/coordinator         FindCoordinator, with backoff;
//   group/committer           OffsetCommit per the commit policy, commit()/committed(), waiters;
//   group/membership          classic (classic_member) or KIP-848 (consumer_member) membership
//                             behind one interface.
// Everything runs on the consumer's executor; nothing here locks.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "consumer/fetcher.hpp"
#include "consumer/start_offsets.hpp"
#include "group/committer.hpp"
#include "group/coordinator.hpp"
#include "group/membership.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::client::detail {

using poll_handler = net::any_completion_handler<poll_signature>;

class consumer_impl final : public std::enable_shared_from_this<consumer_impl>, private membership_host {
public:
    static std::shared_ptr<consumer_impl> create(net::any_io_executor ex, consumer_config cfg);
    consumer_impl(net::any_io_executor ex, consumer_config cfg);  // through create()
    ~consumer_impl() override;

    const consumer_config& config() const noexcept { return core_.cfg; }

    void subscribe(std::vector<std::string> topics, rebalance_listener listener);
    void assign(std::vector<partition_offset> partitions);
    void poll(std::optional<std::chrono::milliseconds> timeout, poll_handler h);
    /// A cancellation of poll number `id`: if it still waits, it completes with operation_aborted
    /// and hands out nothing (buffered records stay for the next poll).
    void cancel_poll(std::uint64_t id);
    void ack(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset) noexcept;
    void ack_and_wait(const consumer_record& r, commit_handler h);
    void commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h) {
        committer_.commit(std::move(offsets), all_marked, std::move(h));
    }
    void committed(std::vector<topic_partition> tps, committed_handler h) {
        committer_.committed(std::move(tps), std::move(h));
    }
    void seek(const topic_partition& tp, std::int64_t offset);
    void set_paused(const std::vector<topic_partition>& tps, bool paused);
    std::optional<std::int64_t> position(const topic_partition& tp) const;
    std::optional<std::int64_t> high_watermark(const topic_partition& tp) const;
    std::optional<std::int64_t> committable(const topic_partition& tp) const;
    std::vector<topic_partition> assignment() const { return core_.slots.owned(); }
    client::consumer_group_metadata group_metadata() const;
    std::uint64_t commits_sent() const noexcept { return committer_.commits_sent(); }
    void close(commit_handler h);
    void shutdown();  // the destructor's path: abort everything, no commits

private:
    // membership_host
    std::vector<topic_partition> owned() const override { return core_.slots.owned(); }
    void take(const std::vector<topic_partition>& added, bool notify_empty) override;
    void commit_soon() override { committer_.schedule(); }
    void revoke(const std::vector<topic_partition>& tps, bool lost, std::function<void()> then) override;

    void note_rebalance() {
        ++rebalances_;
        last_rebalance_ = std::chrono::steady_clock::now();
    }
    void write_statistics(statistics_document& doc) const;
    void try_complete_poll();
    void finish_poll(std::error_code ec);
    void add_partition(const topic_partition& tp, std::int64_t start);
    void remove_partition(const topic_partition& tp);
    /// Drops a slot's buffered chunks, retiring one the last poll handed records out of.
    void drop_buffered(partition_slot& s);
    void check_topics_exist(std::vector<std::string> topics, clock::time_point deadline);
    void arm_poll_interval_timer();

    consumer_core core_;
    fetcher fetcher_;
    start_offsets start_offsets_;
    coordinator coordinator_;
    std::unique_ptr<membership> membership_;
    committer committer_;

    // poll
    std::optional<poll_handler> pending_poll_;
    std::uint64_t poll_id_ = 0;  // which poll pending_poll_ is (a cancellation names it)
    net::steady_timer poll_timer_;
    std::vector<consumer_record> handed_out_;  // the last poll's records
    std::vector<fetched_chunk> retired_;       // fully handed out, freed at the next poll
    std::uint32_t poll_cursor_ = 0;            // round robin over slots

    // group
    std::vector<std::string> topics_;
    rebalance_listener listener_;
    net::steady_timer poll_interval_timer_;
    net::steady_timer topic_check_timer_;
    std::uint64_t rebalances_ = 0;  // assignments and revocations (statistics' rebalance_cnt)
    std::chrono::steady_clock::time_point last_rebalance_{};
};

}  // namespace kwire::client::detail
