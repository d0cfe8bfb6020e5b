// The producer: send() completes only when the broker has acknowledged the record (per acks)
// with its partition, offset and timestamp, or with an error saying why it was not. Every send
// completes exactly once; closing or destroying the producer completes what is still pending.
//
//   kwire::producer p(io.get_executor(), cfg);
//   kwire::delivery d = co_await p.send({.topic = "orders", .value = payload}, use_awaitable);
//                                      // throws boost::system::system_error if not delivered
//   auto [ec, d] = co_await p.send(rec, as_tuple(use_awaitable));          // without exceptions
//   p.send(rec, [](boost::system::error_code ec, kwire::delivery d) { ... }); // callback
//   std::future<kwire::delivery> f = p.send(rec, boost::asio::use_future);
//
// Every completion carries a boost::system::error_code (Asio's own type, so use_awaitable and
// use_future throw it as boost::system::system_error). It holds kwire's categories unchanged:
// `ec == kwire::client_errc::delivery_timed_out`, `ec == kwire::kafka_errc::...` and
// `ec == std::errc::...` compare as with std::error_code, to which it converts.
//
// The producer runs on the executor it is given and starts no thread of its own. (Broker host
// names are resolved with Asio's resolver, which runs getaddrinfo on a helper thread; numeric
// addresses skip it. A c-ares resolver replaces it with the TLS/SASL work.) It is not thread-safe:
// call it from that executor (a strand, if the io_context has several threads). send() encodes
// the record into its partition's batch before it returns, so the record's buffers need to live
// only for the call -- except with `deferred`, where the operation starts when it is launched.
//
// Compression on other threads: by default batches are compressed on the producer's executor
// too (lz4 block by block as records are appended, other codecs when a batch is sealed). Set
// producer_config::compression_executor to an executor you own, e.g. a boost::asio::thread_pool's,
// and each sealed batch's records are compressed there instead, one job per batch; the result
// comes back to the producer's executor, where the batch gets its producer id, epoch, sequence
// and CRC and is sent. Nothing else changes: a partition's batches go out in the order they were
// sealed (one that finishes compressing early waits for those before it), and linger, flush,
// close, delivery.timeout.ms, retries and epoch bumps cover batches being compressed. Keep the
// executor running while the producer has records pending (a batch whose job never runs fails
// at its delivery timeout). The producer, and then its own execution context, may be destroyed
// while jobs are still running: their results are dropped, and nothing is posted to it. A batch
// being compressed holds its uncompressed and its compressed bytes at once, and the producer keeps
// a few spare buffers for reuse (up to 8 uncompressed batches, 32 compressed), beyond
// buffer.memory. If the executor compresses more slowly than records arrive, sealed batches wait
// for it (up to buffer.memory) and latency grows: give it enough threads (bench/RESULTS.md: one
// thread was not enough for lz4 on a busy two-core machine). Without a codec it is not used.
//
//   boost::asio::thread_pool pool(2);          // declared before the producer: it outlives it
//   cfg.compression = kwire::codec::compression::lz4;
//   cfg.compression_executor = pool.get_executor();
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/partitioner.hpp"
#include "kwire/codec/record.hpp"

namespace kwire {

using client::producer_config;

/// A record to send. Every view needs to stay valid only until send() returns.
struct record {
    std::string_view topic{};
    std::optional<protocol::bytes_view> key{};    ///< nullopt: null key (sticky partitioning)
    std::optional<protocol::bytes_view> value{};  ///< nullopt: null value (a tombstone)
    std::span<const codec::header_view> headers{};
    std::optional<std::int32_t> partition{};    ///< explicit partition; otherwise the partitioner decides
    std::optional<std::int64_t> timestamp{};    ///< CreateTime in ms; now when absent
};

/// Where an acknowledged record landed. With acks=0 the offset is -1 (the broker says nothing).
struct delivery {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;  ///< the broker's LogAppendTime if the topic uses it, else CreateTime
};

using delivery_signature = void(boost::system::error_code, delivery);
using flush_signature = void(boost::system::error_code);

struct partition_offset;  // kwire/client/consumer.hpp

namespace client::detail {
class producer_impl;
struct topic_state;  // a topic inside the producer: what a publisher holds on to
void start_send(const std::shared_ptr<producer_impl>&, const record&,
                boost::asio::any_completion_handler<delivery_signature>, topic_state* topic);
void start_flush(const std::shared_ptr<producer_impl>&, std::optional<std::chrono::milliseconds> timeout,
                 boost::asio::any_completion_handler<flush_signature>);
void start_close(const std::shared_ptr<producer_impl>&, boost::asio::any_completion_handler<flush_signature>);
topic_state* find_topic(const std::shared_ptr<producer_impl>&, std::string_view topic, bool autoflush);
enum class transaction_call_kind { init, begin, commit, abort };
void start_transaction_call(const std::shared_ptr<producer_impl>&, transaction_call_kind,
                            boost::asio::any_completion_handler<flush_signature>);
void start_send_offsets(const std::shared_ptr<producer_impl>&, std::vector<partition_offset> offsets,
                        consumer_group_metadata group, boost::asio::any_completion_handler<flush_signature>);
}  // namespace client::detail

struct publisher_options {
    /// Sends through this publisher skip linger.ms and go out at once (other topics keep batching).
    bool autoflush = false;
};

class producer {
public:
    using executor_type = boost::asio::any_io_executor;

    /// Throws std::system_error (client_errc::invalid_config) for an invalid configuration.
    producer(executor_type ex, producer_config cfg);
    /// Fails whatever is still pending with operation_aborted (use close() to deliver it first).
    ~producer();
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    producer(producer&&) noexcept = default;
    producer& operator=(producer&&) noexcept = default;

    executor_type get_executor() const noexcept { return ex_; }
    const producer_config& config() const noexcept;

    /// Completes once the record is acknowledged (delivery) or failed (the error says why).
    ///
    /// Per-operation cancellation (the handler's cancellation slot; e.g. a timer through
    /// awaitable operators, or bind_cancellation_slot): terminal, partial and total are all
    /// supported, and honoured only while the record can still be taken back -- it is waiting
    /// for the topic's metadata or for buffer.memory, or it is the last record appended to its
    /// partition's open batch (nothing appended after it, linger not over). Then it is removed,
    /// never sent, and the send completes with boost::asio::error::operation_aborted. Otherwise
    /// (an earlier record of the open batch, or a sealed, compressing or in-flight batch, whose
    /// idempotent sequence numbers are fixed) the cancellation is ignored and the send completes
    /// with its real outcome.
    template <class Token> auto send(const record& r, Token&& token) {
        return boost::asio::async_initiate<Token, delivery_signature>(
            [impl = impl_](auto handler, const record& rec) {
                client::detail::start_send(impl, rec, std::move(handler), nullptr);
            },
            token, r);
    }

    /// Sends everything lingering now, and completes once every record sent before the call is
    /// acknowledged or failed (each send reports its own outcome).
    ///
    /// Cancellation: terminal and partial (not total). The wait ends with operation_aborted; the
    /// records keep going out and each send still reports its outcome.
    template <class Token> auto flush(Token&& token) {
        return boost::asio::async_initiate<Token, flush_signature>(
            [impl = impl_](auto handler) { client::detail::start_flush(impl, std::nullopt, std::move(handler)); },
            token);
    }
    /// As flush(token), but completes with client_errc::request_timed_out after `timeout`
    /// if records are still outstanding (they stay pending and report later).
    template <class Token> auto flush(std::chrono::milliseconds timeout, Token&& token) {
        return boost::asio::async_initiate<Token, flush_signature>(
            [impl = impl_, timeout](auto handler) {
                client::detail::start_flush(impl, timeout, std::move(handler));
            },
            token);
    }

    /// Flushes, then closes every connection. Sends after close fail with client_errc::closed.
    ///
    /// Cancellation: terminal and partial (not total). The wait ends with operation_aborted; the
    /// close goes on (pending records are delivered, then the connections close).
    template <class Token> auto close(Token&& token) {
        return boost::asio::async_initiate<Token, flush_signature>(
            [impl = impl_](auto handler) { client::detail::start_close(impl, std::move(handler)); }, token);
    }

    // --- transactions (producer_config::transactional_id; kwire/client/transaction.hpp) -------
    //
    //   co_await p.init_transactions(use_awaitable);        // once, before the first transaction
    //   co_await p.begin_transaction(use_awaitable);
    //   p.send(...);                                        // as usual, inside the transaction
    //   co_await p.send_offsets_to_transaction(offsets, consumer.group_metadata(), use_awaitable);
    //   co_await p.commit_transaction(use_awaitable);       // or abort_transaction
    //
    // Each completes with an error a caller tests against kwire::txn_error_class: retriable
    // (call it again), abortable (abort_transaction, then go on), fatal (close the producer;
    // fenced is one). A record that fails inside a transaction makes its commit fail (abortable);
    // an abort fails the records not yet sent with txn_errc::aborted, and no read_committed
    // consumer ever sees the aborted ones that were. Sends outside a transaction fail with
    // txn_errc::no_transaction. Transactions v2 (KIP-890) are used when the cluster has them.
    //
    // Cancellation: terminal and partial. The wait ends with operation_aborted; the call goes on,
    // and calling it again waits for the same outcome (an EndTxn whose answer was lost is
    // resolved before anything else: the next transaction never starts on a guess).

    /// InitProducerId with the transactional id: fences any earlier producer with the same id
    /// (aborting its open transaction) and gets this one's producer id and epoch.
    template <class Token> auto init_transactions(Token&& token) {
        return transaction_call(client::detail::transaction_call_kind::init, std::forward<Token>(token));
    }
    /// Opens a transaction (no request: it completes at once).
    template <class Token> auto begin_transaction(Token&& token) {
        return transaction_call(client::detail::transaction_call_kind::begin, std::forward<Token>(token));
    }
    /// Waits for every record of the transaction, then commits it (EndTxn).
    template <class Token> auto commit_transaction(Token&& token) {
        return transaction_call(client::detail::transaction_call_kind::commit, std::forward<Token>(token));
    }
    /// Fails the records not yet sent, waits for those in flight, then aborts (EndTxn).
    template <class Token> auto abort_transaction(Token&& token) {
        return transaction_call(client::detail::transaction_call_kind::abort, std::forward<Token>(token));
    }
    /// Commits the consumer's offsets with the transaction (KIP-447: the group coordinator refuses
    /// them, abortably, if `group`'s generation is no longer the group's -- a zombie consumer).
    template <class Token>
    auto send_offsets_to_transaction(std::vector<partition_offset> offsets, client::consumer_group_metadata group,
                                     Token&& token) {
        return boost::asio::async_initiate<Token, flush_signature>(
            [impl = impl_](auto handler, std::vector<partition_offset> o, client::consumer_group_metadata g) {
                client::detail::start_send_offsets(impl, std::move(o), std::move(g), std::move(handler));
            },
            token, std::move(offsets), std::move(group));
    }

    /// A handle for one topic, resolved once. With `autoflush`, its sends go out immediately.
    /// Its send() is producer::send (same completion and cancellation).
    class publisher {
    public:
        template <class Token>
        auto send(std::optional<protocol::bytes_view> key, std::optional<protocol::bytes_view> value,
                  Token&& token, std::span<const codec::header_view> headers = {}) {
            record r{topic_, key, value, headers, std::nullopt, std::nullopt};
            return boost::asio::async_initiate<Token, delivery_signature>(
                [impl = impl_, state = state_](auto handler, const record& rec) {
                    client::detail::start_send(impl, rec, std::move(handler), state);
                },
                token, r);
        }
        const std::string& topic() const noexcept { return topic_; }

    private:
        friend class producer;
        publisher(std::shared_ptr<client::detail::producer_impl> impl, std::string topic,
                  client::detail::topic_state* state)
            : impl_(std::move(impl)), topic_(std::move(topic)), state_(state) {}
        std::shared_ptr<client::detail::producer_impl> impl_;
        std::string topic_;
        client::detail::topic_state* state_;  // lives as long as the producer_impl impl_ holds
    };

    // --- errors that say why --------------------------------------------------------------------
    //
    // An error code has one fixed message ("record not acknowledged within delivery.timeout.ms");
    // what lay behind it is kept apart, at no cost until asked for:
    //
    //   p.send(rec, [&](boost::system::error_code ec, kwire::delivery d) {
    //       if (ec) std::cerr << p.describe(ec, rec_topic, d.partition) << '\n';
    //   });  // record not acknowledged within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)
    //
    // Call them from the producer's executor, as everything else.

    /// The most recent underlying cause, in words: for a partition (its last Produce error, such as
    /// "NOT_LEADER_OR_FOLLOWER from broker 2", or the client's last connection failure, such as
    /// "connection to 127.0.0.1:1 refused" or "host broker.example does not resolve", whichever
    /// came later); with no topic or partition (-1: a record that never had one), the same over
    /// the whole producer. Empty if nothing has failed.
    std::string last_error(std::string_view topic = {}, std::int32_t partition = -1) const;
    /// `ec`'s message, and for the errors that end retries without being the cause themselves
    /// (delivery or request timeouts, no broker reachable, a connection lost) " (last error: ...)"
    /// with last_error(topic, partition), if any.
    std::string describe(boost::system::error_code ec, std::string_view topic = {}, std::int32_t partition = -1) const;

    publisher make_publisher(std::string topic, publisher_options options = {}) {
        auto* state = client::detail::find_topic(impl_, topic, options.autoflush);
        return publisher(impl_, std::move(topic), state);
    }

private:
    template <class Token> auto transaction_call(client::detail::transaction_call_kind kind, Token&& token) {
        return boost::asio::async_initiate<Token, flush_signature>(
            [impl = impl_, kind](auto handler) { client::detail::start_transaction_call(impl, kind, std::move(handler)); },
            token);
    }

    executor_type ex_;
    std::shared_ptr<client::detail::producer_impl> impl_;
};

}  // namespace kwire
