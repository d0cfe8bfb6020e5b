// The consumer: fetches records as zero-copy views, in a consumer group (subscribe) or from
// partitions chosen by the application (assign), and commits offsets only for records the
// application has acknowledged.
//
//   kwire::consumer c(io.get_executor(), cfg);          // cfg.group_id = "billing"
//   c.subscribe({"orders"});
//   for (;;) {
//       kwire::record_batch batch = co_await c.poll(use_awaitable);  // throws boost::system::system_error
//       for (const auto& r : batch) {
//           handle(r.value);
//           r.ack();                                     // or: co_await c.ack(r, use_awaitable)
//       }
//   }
//
// The commit rule: per partition, the offset committed is the one after the highest record that
// has been acknowledged together with every record handed out before it. Acknowledgements may
// come in any order; a record never acknowledged holds its partition's commit back, so a crash
// or a rebalance resumes at the first record not finished -- nothing is skipped.
//
// Completions carry a boost::system::error_code (kwire's categories inside: compare with
// kwire::client_errc, kwire::kafka_errc or std::errc), so use_awaitable and use_future throw
// boost::system::system_error; as_tuple(use_awaitable) gives the error as a value.
//
// When offsets are committed is the configured policy: manual (only commit()), interval(D)
// (every D; interval(0) after every acknowledgement, coalesced while a commit is in flight), or
// on_poll (the previous poll's records count as acknowledged at the next poll, like the Java
// client's auto-commit). Whatever the policy, marked offsets are committed before partitions
// are given up in a rebalance and on close().
//
// Records returned by poll() stay valid until the next poll() (or close()). The consumer runs
// on the executor it is given, starts no thread, and is not thread-safe: call it from that
// executor.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/assignor.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/codec/record.hpp"

namespace kwire {

using client::topic_partition;

namespace client {

/// auto.offset.reset: where to start when there is no committed offset, or the position is
/// out of range.
enum class offset_reset { earliest, latest, none };

/// isolation.level.
enum class isolation { read_uncommitted, read_committed };

/// partition.assignment.strategy.
enum class assignor_kind { range, roundrobin, cooperative_sticky };

/// group.protocol: the classic protocol (JoinGroup/SyncGroup, assignment by the group leader) or
/// KIP-848's (ConsumerGroupHeartbeat, assignment by the broker; Kafka 4.0+). A broker without
/// ConsumerGroupHeartbeat makes poll() fail with unsupported_version under `consumer`.
enum class group_protocol_kind { classic, consumer };

/// When marked (acknowledged) offsets are committed.
struct commit_policy {
    enum class kind { manual, interval, on_poll };
    kind k = kind::interval;
    milliseconds every{0};
    static commit_policy manual() noexcept { return {kind::manual, milliseconds(0)}; }
    static commit_policy interval(milliseconds d) noexcept { return {kind::interval, d}; }
    static commit_policy on_poll() noexcept { return {kind::on_poll, milliseconds(0)}; }
    friend bool operator==(const commit_policy&, const commit_policy&) = default;
};

struct consumer_config : connection_config {
    std::string group_id;                              ///< group.id; empty: no group (assign() only)
    std::optional<std::string> group_instance_id;      ///< group.instance.id: static membership
    group_protocol_kind group_protocol = group_protocol_kind::classic;  ///< group.protocol
    std::optional<std::string> group_remote_assignor;  ///< group.remote.assignor (consumer protocol; empty: the broker's)
    milliseconds session_timeout{45000};               ///< session.timeout.ms
    milliseconds heartbeat_interval{3000};             ///< heartbeat.interval.ms
    milliseconds max_poll_interval{300000};            ///< max.poll.interval.ms
    std::vector<assignor_kind> assignors{assignor_kind::range, assignor_kind::cooperative_sticky};
    std::int32_t fetch_min_bytes = 1;                  ///< fetch.min.bytes
    milliseconds fetch_max_wait{500};                  ///< fetch.max.wait.ms
    std::int32_t max_partition_fetch_bytes = 1 << 20;  ///< max.partition.fetch.bytes
    std::int32_t fetch_max_bytes = 50 << 20;           ///< fetch.max.bytes
    std::size_t max_poll_records = 500;                ///< max.poll.records
    offset_reset auto_offset_reset = offset_reset::latest;
    isolation isolation_level = isolation::read_uncommitted;
    /// Default interval(0): every acknowledged record is committed as soon as possible (commits
    /// coalesce while one is in flight), so a crash repeats at most the records in progress.
    commit_policy commit = commit_policy::interval(milliseconds(0));
    bool check_crcs = true;                            ///< check.crcs
    milliseconds retry_backoff{100};                   ///< retry.backoff.ms
    milliseconds retry_backoff_max{1000};              ///< retry.backoff.max.ms (KIP-580: retries back off
                                                       ///< exponentially from retry.backoff.ms to this)
    /// default.api.timeout.ms: with allow.auto.create.topics=false, how long a subscribed or
    /// assigned topic may stay missing before poll() fails with UNKNOWN_TOPIC_OR_PARTITION.
    milliseconds default_api_timeout{60000};
    std::string client_rack;                           ///< client.rack
};

/// Applies consumer and connection properties (Java/C names: group.id, auto.offset.reset,
/// enable.auto.commit, auto.commit.interval.ms, kwire.commit=manual|interval:MS|on_poll, ...).
std::error_code apply_properties(consumer_config& cfg, const properties& props, std::string* what = nullptr);
/// As validate(const producer_config&): ranges, and heartbeat.interval.ms below session.timeout.ms.
std::error_code validate(const consumer_config& cfg, std::string* what = nullptr);

/// Parses "manual", "on_poll", "interval:MS".
std::optional<commit_policy> parse_commit_policy(std::string_view s) noexcept;

namespace detail {
class consumer_impl;
}
}  // namespace client

using client::consumer_config;
using client::commit_policy;

/// Offsets an assignment can start from, besides an explicit offset.
namespace offset {
inline constexpr std::int64_t beginning = -2;   ///< the earliest available record
inline constexpr std::int64_t end = -1;         ///< only records produced from now on
inline constexpr std::int64_t committed = -1001; ///< the group's committed offset, else auto.offset.reset
}  // namespace offset

struct partition_offset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = offset::committed;
};

/// One consumed record. Views point into the fetched data and stay valid until the next poll.
struct consumer_record {
    std::string_view topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;
    codec::timestamp_type timestamp_kind = codec::timestamp_type::create_time;
    std::int32_t leader_epoch = -1;
    std::optional<protocol::bytes_view> key;
    std::optional<protocol::bytes_view> value;
    codec::headers_view headers;

    /// The application is done with this record: it may be committed (see the commit rule).
    /// Acknowledging twice, or after the partition was revoked, does nothing.
    void ack() const noexcept;

private:
    friend class client::detail::consumer_impl;
    client::detail::consumer_impl* owner_ = nullptr;
    std::uint32_t slot_ = 0;      // the partition's slot in the consumer
    std::uint32_t incarnation_ = 0;  // the slot's assignment incarnation when fetched
};

/// The records of one poll: a view, valid until the next poll.
class record_batch {
public:
    record_batch() noexcept = default;
    explicit record_batch(std::span<const consumer_record> r) noexcept : records_(r) {}
    auto begin() const noexcept { return records_.begin(); }
    auto end() const noexcept { return records_.end(); }
    std::size_t size() const noexcept { return records_.size(); }
    bool empty() const noexcept { return records_.empty(); }
    const consumer_record& operator[](std::size_t i) const noexcept { return records_[i]; }

private:
    std::span<const consumer_record> records_;
};

/// Rebalance callbacks (consumer groups). `revoked` runs after the partitions' marked offsets
/// were committed (or the commit failed); `lost` when the membership was lost without a chance
/// to commit (session expired, fenced).
struct rebalance_listener {
    std::function<void(const std::vector<topic_partition>&)> assigned;
    std::function<void(const std::vector<topic_partition>&)> revoked;
    std::function<void(const std::vector<topic_partition>&)> lost;
};

using poll_signature = void(boost::system::error_code, record_batch);
using commit_signature = void(boost::system::error_code);
using committed_signature = void(boost::system::error_code, std::map<topic_partition, std::int64_t>);

namespace client::detail {
void start_poll(const std::shared_ptr<consumer_impl>&, std::optional<std::chrono::milliseconds> timeout,
                boost::asio::any_completion_handler<poll_signature>);
void start_commit(const std::shared_ptr<consumer_impl>&, std::vector<partition_offset> offsets, bool all_marked,
                  boost::asio::any_completion_handler<commit_signature>);
void start_ack(const std::shared_ptr<consumer_impl>&, const consumer_record&,
               boost::asio::any_completion_handler<commit_signature>);
void start_committed(const std::shared_ptr<consumer_impl>&, std::vector<topic_partition>,
                     boost::asio::any_completion_handler<committed_signature>);
void start_close(const std::shared_ptr<consumer_impl>&, boost::asio::any_completion_handler<commit_signature>);
}  // namespace client::detail

class consumer {
public:
    using executor_type = boost::asio::any_io_executor;

    /// Throws std::system_error (client_errc::invalid_config) for an invalid configuration.
    consumer(executor_type ex, consumer_config cfg);
    /// Pending operations complete with operation_aborted; nothing is committed (use close()).
    ~consumer();
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;
    consumer(consumer&&) noexcept = default;
    consumer& operator=(consumer&&) noexcept = default;

    executor_type get_executor() const noexcept { return ex_; }
    const consumer_config& config() const noexcept;

    /// Joins the group (group.id required) and consumes what the group assigns.
    void subscribe(std::vector<std::string> topics, rebalance_listener listener = {});
    /// Consumes exactly these partitions, without group membership. offset::committed needs a
    /// group.id (offsets are fetched and committed for it, without joining).
    void assign(std::vector<partition_offset> partitions);

    /// Completes with the next records (at most max.poll.records), or an error: a fatal group
    /// error, auto.offset.reset=none without an offset, or a commit failure the policy reports.
    ///
    /// Cancellation: terminal, partial and total. A poll still waiting completes at once with
    /// boost::asio::error::operation_aborted and an empty batch; nothing is handed out, records
    /// already fetched stay buffered for the next poll, and the consumer stays usable:
    ///   co_await (c.poll(10s, use_awaitable) || timer.async_wait(use_awaitable));
    template <class Token> auto poll(Token&& token) {
        return boost::asio::async_initiate<Token, poll_signature>(
            [impl = impl_](auto handler) { client::detail::start_poll(impl, std::nullopt, std::move(handler)); }, token);
    }
    /// As poll(token), but completes with an empty batch after `timeout` without records.
    template <class Token> auto poll(std::chrono::milliseconds timeout, Token&& token) {
        return boost::asio::async_initiate<Token, poll_signature>(
            [impl = impl_, timeout](auto handler) { client::detail::start_poll(impl, timeout, std::move(handler)); },
            token);
    }

    /// Marks `r` done (as r.ack()) and completes once an offset covering it is committed, or
    /// with the error that prevented it. Under the manual policy that is the next commit().
    /// Cancellation: terminal and partial; the wait ends with operation_aborted, the record
    /// stays acknowledged and is committed as usual.
    template <class Token> auto ack(const consumer_record& r, Token&& token) {
        return boost::asio::async_initiate<Token, commit_signature>(
            [impl = impl_](auto handler, const consumer_record* rec) {
                client::detail::start_ack(impl, *rec, std::move(handler));
            },
            token, &r);
    }
    void ack(const consumer_record& r) noexcept { r.ack(); }

    /// Acknowledges `r` when the scope ends normally, not when an exception leaves it.
    class ack_guard {
    public:
        explicit ack_guard(const consumer_record& r) noexcept : r_(&r), exceptions_(std::uncaught_exceptions()) {}
        ~ack_guard() {
            if (r_ && std::uncaught_exceptions() == exceptions_) r_->ack();
        }
        ack_guard(const ack_guard&) = delete;
        ack_guard& operator=(const ack_guard&) = delete;
        /// Leaves the record unacknowledged.
        void dismiss() noexcept { r_ = nullptr; }

    private:
        const consumer_record* r_;
        int exceptions_;
    };
    [[nodiscard]] ack_guard ack_on_exit(const consumer_record& r) noexcept { return ack_guard(r); }

    /// Commits every marked offset now.
    ///
    /// Cancellation (every commit overload): terminal and partial (not total). The wait ends
    /// with operation_aborted; a commit already started goes on and may still take effect.
    template <class Token> auto commit(Token&& token) {
        return boost::asio::async_initiate<Token, commit_signature>(
            [impl = impl_](auto handler) { client::detail::start_commit(impl, {}, true, std::move(handler)); }, token);
    }
    /// Acknowledges `r` and commits what that makes committable.
    template <class Token> auto commit(const consumer_record& r, Token&& token) {
        r.ack();
        return commit(std::forward<Token>(token));
    }
    /// Commits these offsets (the next offset to read, per partition) as given.
    template <class Token> auto commit(std::vector<partition_offset> offsets, Token&& token) {
        return boost::asio::async_initiate<Token, commit_signature>(
            [impl = impl_](auto handler, std::vector<partition_offset> o) {
                client::detail::start_commit(impl, std::move(o), false, std::move(handler));
            },
            token, std::move(offsets));
    }

    /// The group's committed offsets for these partitions (-1: none).
    /// Cancellation: terminal and partial; the wait ends with operation_aborted (the request
    /// may still be answered; the answer is dropped).
    template <class Token> auto committed(std::vector<topic_partition> partitions, Token&& token) {
        return boost::asio::async_initiate<Token, committed_signature>(
            [impl = impl_](auto handler, std::vector<topic_partition> p) {
                client::detail::start_committed(impl, std::move(p), std::move(handler));
            },
            token, std::move(partitions));
    }

    /// Next fetches of the partition start at `offset` (records buffered for it are dropped).
    void seek(const topic_partition& tp, std::int64_t offset);
    void pause(const std::vector<topic_partition>& tps);
    void resume(const std::vector<topic_partition>& tps);
    /// The offset of the next record poll() will return for the partition, if known.
    std::optional<std::int64_t> position(const topic_partition& tp) const;
    /// The partition's high watermark as of the last fetch, if known.
    std::optional<std::int64_t> high_watermark(const topic_partition& tp) const;
    /// The offset a commit would name now for the partition (every record before it acknowledged).
    std::optional<std::int64_t> committable(const topic_partition& tp) const;
    std::vector<topic_partition> assignment() const;
    /// The group and this member's place in it now (generation or KIP-848 member epoch, member id,
    /// group.instance.id), for producer::send_offsets_to_transaction (KIP-447: the coordinator
    /// refuses offsets from a member it has replaced). Without group membership (assign()), the
    /// generation is -1 and the member id empty: the offsets are checked against nothing.
    client::consumer_group_metadata group_metadata() const;
    /// Commit requests sent so far (a counter, as a metric would report it).
    std::uint64_t commits_sent() const noexcept;

    /// Commits what is marked, leaves the group, closes connections. Then completes.
    /// Cancellation: terminal and partial; the wait ends with operation_aborted while the close
    /// goes on (the commit, leaving the group, closing the connections).
    template <class Token> auto close(Token&& token) {
        return boost::asio::async_initiate<Token, commit_signature>(
            [impl = impl_](auto handler) { client::detail::start_close(impl, std::move(handler)); }, token);
    }

private:
    executor_type ex_;
    std::shared_ptr<client::detail::consumer_impl> impl_;
};

}  // namespace kwire
