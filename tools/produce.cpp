// kwire produce: stdin, one record per line, to one topic.
//
// Everything runs on one io_context in the main thread. Stdin is read asynchronously in large
// chunks (so a slow pipe such as `tail -f` delivers each line as it comes, and the producer's
// timers keep running while we wait for input); each chunk's lines are sent as soon as it
// arrives, and the next read is started only while the bytes not yet acknowledged stay below
// buffer.memory. Once they reach it, reading pauses until acknowledgements bring them back under
// half of it: memory stays bounded by buffer.memory plus a chunk, however big the input.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "metrics_endpoint.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace kwire::tools {

namespace {

constexpr std::string_view help_text =
    "Usage: kwire produce -b HOST:PORT[,...] -t TOPIC [OPTIONS] < INPUT\n"
    "\n"
    "Reads stdin and produces one record per line (without its newline) to TOPIC, sending while\n"
    "it reads. With -K, the line is split at the first occurrence of DELIM into key and value; a\n"
    "line without DELIM has no key (a null key). Empty lines are records with an empty value.\n"
    "Without -p, records with a key go to the partition its hash picks (murmur2, as the Java\n"
    "client), records without one fill one partition's batch at a time.\n"
    "\n"
    "Waits until every record is acknowledged, then prints a summary on stderr: records\n"
    "produced, their bytes (keys and values), and errors. Exits 1 if any record failed, naming\n"
    "each error (topic, partition, Kafka error name) on stderr. Records are retried until\n"
    "delivery.timeout.ms (default 120000) has passed. An interrupt (Ctrl-C) stops reading and\n"
    "waits for what was read, then exits 130; a second one aborts.\n"
    "\n"
    "The producer's defaults: acks=all with idempotence (no duplicates or reordering on retry),\n"
    "linger.ms=5, batch.size=1048576, buffer.memory=33554432 (reading waits when it is full).\n"
    "\n"
    "Transactions: with -X transactional.id=ID the records are produced in transactions, one\n"
    "for the whole input, or one every --transaction-records N records; each is committed (or\n"
    "aborted, with --abort) before the next begins, and the last one at the end of input. A\n"
    "read_committed consumer (kwire consume -X isolation.level=read_committed) sees committed\n"
    "records only. A failed transaction is reported and ends the run (exit 1).\n"
    "\n"
    "Options:\n";

constexpr std::size_t read_chunk = 256 * 1024;

std::string unescape_delimiter(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == '\\')) {
            out += s[i + 1] == 't' ? '\t' : '\\';
            ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

protocol::bytes_view bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct produce_settings {
    std::string topic;
    std::optional<std::int32_t> partition;
    std::optional<std::string> key_delimiter;
    std::uint64_t transaction_records = 0;  // 0: one transaction for the whole input
    bool abort_transactions = false;
};

class line_producer {
public:
    line_producer(boost::asio::io_context& io, const client::producer_config& cfg, produce_settings settings)
        : io_(io),
          settings_(std::move(settings)),
          high_water_(cfg.buffer_memory),
          low_water_(cfg.buffer_memory / 2),
          max_line_(cfg.max_request_size),
          input_(io),
          signals_(io, SIGINT, SIGTERM),
          progress_(io,
                    [this] {
                        return "kwire: " + std::to_string(acked_) + " records acknowledged, " +
                               std::to_string(read_ - acked_ - failed_) + " in flight, " + std::to_string(failed_) +
                               " failed";
                    }),
          transactional_(cfg.transactional()),
          producer_(std::in_place, io.get_executor(), cfg) {}

    ~line_producer() {
        producer_.reset();  // fails what is still pending while the counters are alive
        if (saved_flags_ >= 0) ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
    }

    void start() {
        progress_.start();
        signals_.async_wait([this](const boost::system::error_code& ec, int) { on_signal(ec); });
        // The async reads put the file description in non-blocking mode, which a terminal shares
        // with the shell: restore its flags when done.
        saved_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
        const int fd = ::dup(STDIN_FILENO);
        if (fd < 0) return end_of_input();  // no stdin at all: nothing to send
        boost::system::error_code ec;
        input_.assign(fd, ec);
        if (ec) {
            ::close(fd);
            input_error_ = "cannot read stdin: " + ec.message();
            return end_of_input();
        }
        buffer_.resize(read_chunk);
        if (!transactional_) return read();
        producer_->init_transactions([this](std::error_code init) {
            if (init) return transaction_failed("init_transactions", init);
            begin_transaction([this] { read(); });
        });
    }

    /// After io_context::run() returned: drops what a second interrupt left pending.
    void abort_pending() { producer_.reset(); }

    int report() const {
        const auto unacknowledged = read_ - acked_ - failed_;
        std::fprintf(stderr, "kwire: %llu records (%llu bytes) produced to '%s', %llu errors\n",
                     static_cast<unsigned long long>(acked_), static_cast<unsigned long long>(acked_bytes_),
                     settings_.topic.c_str(), static_cast<unsigned long long>(failed_ + unacknowledged));
        std::size_t shown = 0;
        for (const auto& [what, count] : errors_) {
            if (++shown > 10) {
                std::fprintf(stderr, "kwire: ... and %zu more kinds of error\n", errors_.size() - 10);
                break;
            }
            std::fprintf(stderr, "kwire: %llu record%s failed: %s\n", static_cast<unsigned long long>(count),
                         count == 1 ? "" : "s", what.c_str());
        }
        if (unacknowledged)
            std::fprintf(stderr, "kwire: %llu records aborted before their acknowledgement\n",
                         static_cast<unsigned long long>(unacknowledged));
        if (transactional_)
            std::fprintf(stderr, "kwire: %llu transactions committed, %llu aborted\n",
                         static_cast<unsigned long long>(committed_transactions_),
                         static_cast<unsigned long long>(aborted_transactions_));
        if (!input_error_.empty()) std::fprintf(stderr, "kwire: %s\n", input_error_.c_str());
        if (interrupted_) return exit_interrupted;
        if (failed_ || unacknowledged || !input_error_.empty()) return exit_failure;
        return exit_ok;
    }

    bool aborted() const noexcept { return aborted_; }

private:
    void read() {
        input_.async_read_some(boost::asio::buffer(buffer_),
                               [this](const boost::system::error_code& ec, std::size_t n) { on_read(ec, n); });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (input_done_) return;  // interrupted meanwhile
        consume(std::string_view(buffer_.data(), n));
        if (ending_transaction_) {
            // The rest of the chunk waits for the next transaction (and so does reading).
            read_error_after_ = ec;
            return;
        }
        if (ec == boost::asio::error::eof) return end_of_input();
        if (ec) {
            input_error_ = "reading stdin: " + ec.message();
            return end_of_input();
        }
        if (in_flight_memory_ >= high_water_) paused_ = true;
        else read();
    }

    /// Sends every complete line in `data`; keeps a trailing partial line for the next chunk.
    /// When a transaction fills up, the rest of `data` is kept for the next one.
    void consume(std::string_view data) {
        while (!data.empty()) {
            if (ending_transaction_) {
                held_.assign(data.data(), data.size());
                return;
            }
            const auto* nl = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
            const std::size_t len = nl ? static_cast<std::size_t>(nl - data.data()) : data.size();
            const auto piece = data.substr(0, len);
            data.remove_prefix(nl ? len + 1 : len);
            if (skipping_) {
                if (nl) skipping_ = false;
                continue;
            }
            if (!nl) {
                partial_.append(piece);
                if (partial_.size() > max_line_) {
                    // It can only fail (max.request.size): drop it rather than hold it in memory.
                    ++read_;
                    fail_early(make_error_code(client::client_errc::record_too_large));
                    partial_.clear();
                    skipping_ = true;
                }
                continue;
            }
            if (partial_.empty()) {
                send_line(piece);
            } else {
                partial_.append(piece);
                send_line(partial_);
                partial_.clear();
            }
        }
    }

    void send_line(std::string_view line) {
        ++read_;
        record r;
        r.topic = settings_.topic;
        r.partition = settings_.partition;
        if (settings_.key_delimiter) {
            const auto at = line.find(*settings_.key_delimiter);
            if (at != std::string_view::npos) {
                r.key = bytes(line.substr(0, at));
                line.remove_prefix(at + settings_.key_delimiter->size());
            }
        }
        r.value = bytes(line);
        const auto payload = line.size() + (r.key ? r.key->size() : 0);
        const auto memory = codec::batch_builder::max_record_size(r.key, r.value);
        in_flight_memory_ += memory;
        if (transactional_ && settings_.transaction_records > 0 && ++in_transaction_ >= settings_.transaction_records)
            ending_transaction_ = true;  // after this record (consume() stops)
        producer_->send(r, [this, payload, memory](std::error_code ec, delivery d) {
            in_flight_memory_ -= memory;
            if (ec) {
                ++failed_;
                note_error(ec, d.partition);
            } else {
                ++acked_;
                acked_bytes_ += payload;
            }
            if (paused_ && in_flight_memory_ <= low_water_ && !input_done_ && !ending_transaction_) {
                paused_ = false;
                read();
            }
        });
        if (ending_transaction_ && in_transaction_ >= settings_.transaction_records) end_transaction(false);
    }

    void fail_early(std::error_code ec) {
        ++failed_;
        note_error(ec, -1);
    }

    void note_error(std::error_code ec, std::int32_t partition) {
        std::string what = "topic '" + settings_.topic + "'";
        if (partition < 0 && settings_.partition) partition = *settings_.partition;  // e.g. it does not exist
        if (partition >= 0) what += " partition " + std::to_string(partition);
        what += ": " + explain(ec, partition);
        auto [it, first] = errors_.try_emplace(what, 0);
        ++it->second;
        // While input is still coming (a pipe that stays open), say so now, not only at the end.
        if (first && !input_done_) std::fprintf(stderr, "kwire: delivery failed: %s\n", what.c_str());
    }

    /// The error in words; a timeout says what lay behind it (the last connection failure or
    /// Kafka error: "(last error: connection to 127.0.0.1:1 refused)").
    std::string explain(std::error_code ec, std::int32_t partition) const {
        if (ec.category() == kafka_category() || !producer_) return describe_error(ec);
        return producer_->describe(ec, settings_.topic, partition);
    }

    // --- transactions --------------------------------------------------------------------------

    void begin_transaction(std::function<void()> then) {
        producer_->begin_transaction([this, then = std::move(then)](std::error_code ec) {
            if (ec) return transaction_failed("begin_transaction", ec);
            in_transaction_ = 0;
            then();
        });
    }

    /// Commits (or, with --abort, aborts) the open transaction; then, unless it was the last, the
    /// next one begins and the input held back goes into it.
    void end_transaction(bool last) {
        ending_transaction_ = true;
        auto done = [this, last](std::error_code ec) {
            if (ec) return transaction_failed(settings_.abort_transactions ? "abort_transaction" : "commit_transaction", ec);
            ++(settings_.abort_transactions ? aborted_transactions_ : committed_transactions_);
            if (last) return close_producer();
            begin_transaction([this] {
                ending_transaction_ = false;
                auto held = std::move(held_);
                held_.clear();
                consume(held);
                if (ending_transaction_) return;  // the held input filled this one too
                const auto read_ended = std::exchange(read_error_after_, {});
                if (read_ended == boost::asio::error::eof) return end_of_input();
                if (read_ended) {
                    input_error_ = "reading stdin: " + read_ended.message();
                    return end_of_input();
                }
                if (input_done_) return end_of_input_transactional();
                if (in_flight_memory_ >= high_water_) paused_ = true;
                else read();
            });
        };
        if (!settings_.abort_transactions) return producer_->commit_transaction(done);
        // --abort shows what read_committed hides: the records are written first (an abort
        // would drop those not yet sent), then the transaction is aborted.
        producer_->flush([this, done](std::error_code) { producer_->abort_transaction(done); });
    }

    void transaction_failed(const char* what, std::error_code ec) {
        input_error_ = std::string(what) + " failed: " + explain(ec, -1);
        transaction_failed_ = true;
        input_done_ = true;
        boost::system::error_code ignored;
        input_.close(ignored);
        close_producer();
    }

    /// End of input inside a transaction: the last one ends (once it is not ending already).
    void end_of_input_transactional() {
        if (ending_transaction_) return;  // the transaction ending now ends the input too
        // An empty last transaction (the input ended right after one filled up) is left alone.
        if (in_transaction_ == 0 && committed_transactions_ + aborted_transactions_ > 0) return close_producer();
        end_transaction(true);
    }

    void end_of_input() {
        if (input_done_ && !transactional_) return;
        if (input_done_ && transactional_) return end_of_input_transactional();
        input_done_ = true;
        if (!partial_.empty() && !interrupted_) send_line(partial_);  // a last line without newline
        partial_.clear();
        boost::system::error_code ignored;
        input_.close(ignored);
        if (transactional_) return end_of_input_transactional();
        close_producer();
    }

    void close_producer() {
        // Flush first and close once that is done, then stop the io_context. Two workarounds
        // (kwire::producer, as of this writing): close() stops the delivery-timeout expiry and
        // the metadata retries of records still waiting for metadata, so closing with an unknown
        // topic or an unreachable cluster would never complete; and after close() the idempotent
        // producer may keep retrying InitProducerId (reconnecting), so the io_context never runs
        // out of work. Once close() completed, every send has completed: stopping loses nothing.
        producer_->flush([this](std::error_code) {
            producer_->close([this](std::error_code) {
                progress_.stop();
                signals_.cancel();
                io_.stop();
            });
        });
    }

    void on_signal(const boost::system::error_code& ec) {
        if (ec) return;
        if (interrupted_) {  // the second one
            aborted_ = true;
            io_.stop();
            return;
        }
        interrupted_ = true;
        const auto pending = read_ - acked_ - failed_;
        std::fprintf(stderr, "kwire: interrupted: waiting for %llu records in flight (interrupt again to abort)\n",
                     static_cast<unsigned long long>(pending));
        signals_.async_wait([this](const boost::system::error_code& e, int) { on_signal(e); });
        end_of_input();
    }

    boost::asio::io_context& io_;
    produce_settings settings_;
    const std::uint64_t high_water_;
    const std::uint64_t low_water_;
    const std::size_t max_line_;
    std::vector<char> buffer_;
    std::string partial_;   // a line split across reads
    bool skipping_ = false; // dropping the rest of an oversized line
    int saved_flags_ = -1;
    boost::asio::posix::stream_descriptor input_;
    boost::asio::signal_set signals_;

    std::uint64_t read_ = 0;
    std::uint64_t acked_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t acked_bytes_ = 0;
    std::uint64_t in_flight_memory_ = 0;
    bool paused_ = false;
    bool input_done_ = false;
    bool interrupted_ = false;
    bool aborted_ = false;
    std::string input_error_;
    std::map<std::string, std::uint64_t> errors_;  // "topic 'x' partition 1: ERROR" -> records
    progress_line progress_;

    // transactions (transactional.id)
    const bool transactional_;
    std::uint64_t in_transaction_ = 0;     // records sent in the open transaction
    bool ending_transaction_ = false;      // its commit (abort) is under way: input waits
    std::string held_;                     // input read past the transaction's last record
    boost::system::error_code read_error_after_;  // how the read that filled it ended (eof...)
    std::uint64_t committed_transactions_ = 0;
    std::uint64_t aborted_transactions_ = 0;
    bool transaction_failed_ = false;

    std::optional<kwire::producer> producer_;  // last: destroyed first (see the destructor)
};

}  // namespace

int run_produce(const command_context& ctx) {
    client_options common;
    produce_settings settings;

    option_parser parser;
    common.add_bootstrap(parser);
    parser.add({'t', "topic", "TOPIC", "topic to produce to (required)", [&](std::string_view v) {
                    if (v.empty()) throw usage_error("-t needs a topic name");
                    settings.topic = v;
                }});
    parser.add({'p', "partition", "N", "send every record to partition N (default: by key, see above)",
                [&](std::string_view v) {
                    const auto n = parse_integer(v, 0, 0x7fffffff);
                    if (!n) throw usage_error("-p expects a partition number >= 0, got '" + std::string(v) + "'");
                    settings.partition = static_cast<std::int32_t>(*n);
                }});
    parser.add({'K', "key-delimiter", "DELIM",
                "split each line at the first DELIM into key and value\n(\\t means a tab)",
                [&](std::string_view v) {
                    auto d = unescape_delimiter(v);
                    if (d.empty()) throw usage_error("-K needs a non-empty delimiter");
                    settings.key_delimiter = std::move(d);
                }});
    parser.add({'z', "compression", "CODEC", "none, gzip, snappy, lz4 or zstd (compression.type; default none)",
                [&](std::string_view v) {
                    if (!client::parse_compression(v))
                        throw usage_error("-z expects none, gzip, snappy, lz4 or zstd, got '" + std::string(v) + "'");
                    common.properties.set("compression.type", std::string(v), "-z");
                }});
    parser.add({0, "acks", "0|1|all", "acknowledgements to wait for (acks; default all)", [&](std::string_view v) {
                    if (v != "0" && v != "1" && v != "all" && v != "-1")
                        throw usage_error("--acks expects 0, 1 or all, got '" + std::string(v) + "'");
                    common.properties.set("acks", std::string(v), "--acks");
                }});
    parser.add({0, "linger", "MS", "wait up to MS milliseconds to fill a batch (linger.ms; default 5)",
                [&](std::string_view v) {
                    if (!parse_integer(v, 0, std::int64_t{1} << 40))
                        throw usage_error("--linger expects milliseconds >= 0, got '" + std::string(v) + "'");
                    common.properties.set("linger.ms", std::string(v), "--linger");
                }});
    parser.add({0, "transaction-records", "N",
                "with transactional.id: commit a transaction every N records\n(default: one for the whole input)",
                [&](std::string_view v) {
                    const auto n = parse_integer(v, 1, std::int64_t{1} << 40);
                    if (!n) throw usage_error("--transaction-records expects a count >= 1, got '" + std::string(v) + "'");
                    settings.transaction_records = static_cast<std::uint64_t>(*n);
                }});
    parser.add({0, "abort", "", "with transactional.id: abort each transaction instead of committing it",
                [&](std::string_view) { settings.abort_transactions = true; }});
    metrics_endpoint metrics;
    metrics.add_option(parser);
    if (common.parse_command_line(parser, ctx.args, help_text)) return exit_ok;
    if (settings.topic.empty()) throw usage_error("missing -t TOPIC");

    client::producer_config cfg;
    cfg.on_buffer_full = client::buffer_full_policy::wait;  // backpressure, never buffer_full errors
    common.apply(cfg);
    if ((settings.transaction_records > 0 || settings.abort_transactions) && !cfg.transactional())
        throw usage_error("--transaction-records and --abort need -X transactional.id=ID");

    boost::asio::io_context io(1);
    metrics.start(io, cfg);
    std::optional<line_producer> lp;
    try {
        lp.emplace(io, cfg, std::move(settings));
    } catch (const std::system_error& e) {
        throw usage_error(std::string("invalid configuration: ") + e.what());
    }
    lp->start();
    io.run();
    metrics.stop();  // before the io_context it serves on goes
    if (lp->aborted()) lp->abort_pending();
    return lp->report();
}

}  // namespace kwire::tools
