// The consumer's inside, split by role as franz-go splits kgo:
//   consumer/consumer_impl.cpp  the application side: slots, assign/subscribe, poll,
//                               acknowledgements, seek, pause, close; the public object;
//   consumer/fetcher.cpp        fetching (one Fetch in flight per leader, prefetching while the
//                               application works through what was handed out);
//   consumer/start_offsets.cpp  a partition's start offset (OffsetFetch on assignment,
//                               ListOffsets for auto.offset.reset);
//   group/coordinator.cpp       FindCoordinator, and the consumer's fatal group error;
//   group/classic_join.cpp      classic membership (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//                               assignors, rebalance callbacks, revocation);
//   group/consumer_member.cpp   KIP-848 membership (ConsumerGroupHeartbeat);
//   group/offset_commit.cpp     OffsetCommit per the commit policy, commit()/committed() and the
//                               acknowledgement waiters.
// Everything runs on the consumer's executor; nothing here locks.
//
// A partition's life: assigned (a slot, with a new incarnation) -> its start offset resolved
// (committed offset, else auto.offset.reset through ListOffsets) -> fetched (chunks of decoded
// record views, pointing into the Fetch response copied once) -> handed out by poll (the
// offset_tracker learns each record) -> acknowledged -> committed. Revocation commits what is
// marked, then frees the slot (acknowledgements of its old records are ignored).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/completion.hpp"
#include "net/cluster.hpp"
#include "kwire/client/consumer.hpp"
#include "group/classic_membership.hpp"
#include "consumer/fetch_session.hpp"
#include "group/group_errors.hpp"
#include "group/group_membership.hpp"
#include "consumer/offset_tracker.hpp"
#include "kwire/protocol/messages/fetch.hpp"

namespace kwire::client::detail {

using poll_handler = net::any_completion_handler<poll_signature>;
using commit_handler = net::any_completion_handler<commit_signature>;
using committed_handler = net::any_completion_handler<committed_signature>;

/// One partition's records from one Fetch response, decoded into views.
struct fetched_chunk {
    std::shared_ptr<const std::vector<std::uint8_t>> frame;  // the response the views point into
    std::vector<std::vector<std::uint8_t>> inflated;         // decompressed batches, likewise
    std::vector<consumer_record> records;
    std::size_t next = 0;         // the next record to hand out
    std::int64_t end_offset = 0;  // the offset after everything this chunk covers
};

struct partition_slot {
    std::string topic;
    std::int32_t partition = 0;
    std::uint32_t incarnation = 0;   // bumps on (re)assignment and seek: older acks are ignored
    std::uint32_t ownership = 0;     // bumps when assigned or removed: a revocation or commit that
                                     // began in one ownership never touches the next
    bool assigned = false;
    bool paused = false;
    enum class start { ready, committed, reset, resolving } state = start::committed;
    std::int64_t reset_to = offset::end;  // for start::reset: beginning or end
    std::int64_t fetch_offset = -1;       // the next offset to fetch
    offset_tracker tracker;
    std::int64_t committed = -1;          // last offset known committed for the group
    std::int64_t high_watermark = -1;
    std::int32_t leader_epoch = -1;
    std::deque<fetched_chunk> buffered;
    bool fetching = false;
    clock::time_point not_before{};       // backoff after an error
};

class consumer_impl : public std::enable_shared_from_this<consumer_impl> {
public:
    consumer_impl(net::any_io_executor ex, consumer_config cfg);
    ~consumer_impl();

    const consumer_config& config() const noexcept { return cfg_; }

    void subscribe(std::vector<std::string> topics, rebalance_listener listener);
    void assign(std::vector<partition_offset> partitions);
    void poll(std::optional<std::chrono::milliseconds> timeout, poll_handler h);
    /// A cancellation of poll number `id`: if it still waits, it completes with operation_aborted
    /// and hands out nothing (buffered records stay for the next poll).
    void cancel_poll(std::uint64_t id);
    void ack(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset) noexcept;
    void ack_and_wait(const consumer_record& r, commit_handler h);
    void commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h);
    void committed(std::vector<topic_partition> tps, committed_handler h);
    void seek(const topic_partition& tp, std::int64_t offset);
    void set_paused(const std::vector<topic_partition>& tps, bool paused);
    std::optional<std::int64_t> position(const topic_partition& tp) const;
    std::optional<std::int64_t> high_watermark(const topic_partition& tp) const;
    std::optional<std::int64_t> committable(const topic_partition& tp) const;
    std::vector<topic_partition> assignment() const;
    std::uint64_t commits_sent() const noexcept { return commits_sent_; }
    void close(commit_handler h);
    void shutdown();  // the destructor's path: abort everything, no commits

    // --- fetcher.cpp ---
    void schedule_fetch();
    void fetch_round();
    void send_fetch(std::int32_t leader, const std::vector<std::uint32_t>& slots);
    void on_fetch_response(std::int32_t leader, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent,
                           std::error_code ec, protocol::bytes_view frame, std::int16_t version);
    protocol::FetchRequest fetch_request(const fetch_plan& plan) const;
    void close_fetch_sessions(std::function<void()> then);

    // --- consumer_impl.cpp: poll and slots ---
    void try_complete_poll();
    void finish_poll(std::error_code ec);
    std::uint32_t slot_for(const std::string& topic, std::int32_t partition);
    partition_slot* find_slot(const topic_partition& tp);
    const partition_slot* find_slot(const topic_partition& tp) const;
    void add_partition(const topic_partition& tp, std::int64_t start);
    void remove_partition(const topic_partition& tp);
    void drop_buffered(partition_slot& s);
    std::vector<topic_partition> owned() const;
    void check_topics_exist(std::vector<std::string> topics, clock::time_point deadline);

    // --- start_offsets.cpp ---
    void resolve_offsets();
    void resolve_offsets_later();  // after retry.backoff.ms
    void fetch_committed_offsets(std::vector<std::uint32_t> slots);
    void list_offsets(std::vector<std::uint32_t> slots);

    // --- group/offset_commit.cpp ---
    void on_acked(partition_slot& s);
    void schedule_commit();
    void commit_marked();
    void send_commit(std::map<std::uint32_t, std::int64_t> offsets, std::function<void(std::error_code)> done);
    void complete_ack_waiters(std::error_code ec);
    void arm_commit_timer();

    // --- group/coordinator.cpp ---
    void with_coordinator(std::function<void(std::error_code)> then);
    void coordinator_lost();
    void set_fatal(std::error_code ec);

    // --- group/classic_join.cpp: classic membership ---
    void join_group();
    void sync_group(std::vector<std::pair<std::string, std::vector<std::uint8_t>>> assignments);
    void on_sync(std::error_code ec, std::int16_t error, protocol::bytes_view assignment);
    void apply_assignment(const std::vector<topic_partition>& assigned);
    void revoke(const std::vector<topic_partition>& tps, bool lost, std::function<void()> then);
    void lose_all();
    void request_rejoin();
    void rejoin_after(std::chrono::milliseconds delay);
    void arm_heartbeat(std::chrono::milliseconds delay);
    static classic_membership::options classic_options(const consumer_config& cfg);
    void heartbeat();
    void leave_group(std::function<void()> then);
    void arm_poll_interval_timer();

    // --- group/consumer_member.cpp: KIP-848 membership (group.protocol=consumer) ---
    bool consumer_protocol() const noexcept { return cfg_.group_protocol == group_protocol_kind::consumer; }
    void member_join();
    void member_schedule();
    void member_heartbeat();
    void member_on(group_membership::action a);
    void member_reconcile(bool ids_refreshed = false);
    void member_leave(std::function<void()> then);
    void refresh_topic_ids(std::function<void()> then);

    net::any_io_executor ex_;
    consumer_config cfg_;
    std::shared_ptr<cluster> cluster_;

    std::vector<std::unique_ptr<partition_slot>> slots_;
    std::map<topic_partition, std::uint32_t> slot_index_;
    std::set<std::int32_t> fetching_from_;   // leaders with a Fetch in flight
    std::map<std::int32_t, fetch_session> fetch_sessions_;  // by broker (KIP-227)
    std::vector<fetch_want> fetch_wanted_;          // scratch for send_fetch
    fetch_plan fetch_plan_;                         // scratch for send_fetch
    std::vector<std::uint32_t> fetch_answered_;     // scratch for on_fetch_response
    bool fetch_scheduled_ = false;
    net::steady_timer fetch_retry_timer_;
    bool fetch_retry_armed_ = false;

    // poll
    std::optional<poll_handler> pending_poll_;
    std::uint64_t poll_id_ = 0;  // which poll pending_poll_ is (a cancellation names it)
    net::steady_timer poll_timer_;
    std::vector<consumer_record> handed_out_;              // the last poll's records
    std::vector<fetched_chunk> retired_;                   // fully handed out, freed at the next poll
    std::uint32_t poll_cursor_ = 0;                        // round robin over slots
    std::error_code deferred_error_;                       // reported by the next poll
    std::error_code fatal_;
    std::vector<std::vector<std::uint8_t>> spare_buffers_; // decompression buffers to reuse

    // offsets and commits
    bool commit_scheduled_ = false;
    bool commit_in_flight_ = false;
    bool commit_again_ = false;
    std::uint64_t commit_round_ = 0;       // commit rounds begun (the one in flight, if any, included)
    std::uint64_t commits_sent_ = 0;
    struct commit_waiter {
        std::uint64_t round;                // the first commit round begun after the request (commit_round_ + 1):
                                            // completes when that round does
        std::function<void(std::error_code)> handler;
    };
    std::list<commit_waiter> commit_waiters_;
    struct ack_waiter {
        std::uint32_t slot;
        std::uint32_t incarnation;
        std::int64_t offset;                // completes when committed > offset
        completion<commit_signature> done;
    };
    std::list<ack_waiter> ack_waiters_;
    clock::time_point last_poll_commit_{};
    net::steady_timer commit_timer_;
    bool commit_timer_armed_ = false;

    // group
    bool subscribed_ = false;
    std::vector<std::string> topics_;
    rebalance_listener listener_;
    std::int32_t coordinator_ = -1;
    bool finding_coordinator_ = false;
    std::vector<std::function<void(std::error_code)>> coordinator_waiters_;
    // Classic protocol: the membership's decisions (ids, generation, what each answer means).
    classic_membership classic_{classic_options(cfg_)};
    // KIP-848: the member's id and epoch, for offset commits (classic uses classic_'s).
    std::string member_id_;
    std::int32_t generation_ = -1;
    bool joining_ = false;
    bool rejoin_needed_ = false;
    bool stable_ = false;
    std::uint64_t join_epoch_ = 0;         // bumps per join attempt: stale answers are ignored
    net::steady_timer heartbeat_timer_;
    net::steady_timer rejoin_timer_;
    net::steady_timer poll_interval_timer_;
    net::steady_timer topic_check_timer_;
    bool closing_ = false;
    bool closed_ = false;

    // KIP-848 membership
    std::optional<group_membership> member_;
    net::steady_timer member_timer_;
    bool member_sending_ = false;              // a heartbeat is on its way (from with_coordinator to its answer)
    std::function<void()> member_left_;        // leave_group's continuation
    std::map<protocol::uuid, std::string, uuid_less> topic_names_;  // topic ids from Metadata v10+
    std::map<std::string, protocol::uuid> topic_ids_;
};

}  // namespace kwire::client::detail
