// kwire's side of the txn-* scenarios: one transactional producer on one io_context thread
// (io_context::run(), no spinning: librdkafka's commit_transaction blocks its caller, so neither
// side polls), callbacks as completion tokens, a publisher for the topic.
//
// Untimed: init_transactions, then a warm-up transaction with one record to each partition (the
// connections, the metadata, the coordinator and the producer id are in place before the clock
// starts, as on librdkafka's side). Timed, from the first begin_transaction to the completion of
// the last commit: begin -> send the next txn_records records (in chunks of 1000, yielding to the
// io_context between chunks, as bench_kwire.cpp does) -> commit_transaction at once (it seals what
// lingers and waits for the transaction's records) -> begin the next one from its completion.
// Each commit's latency is timed from the commit call to its completion. A commit that fails
// abortably is aborted and the run goes on (its records count as errors); any other failure ends
// the run, and every record not answered counts as an error.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench_common.hpp"
#include "bench_kwire_config.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/client/transaction.hpp"

namespace kwire::bench {

namespace net = boost::asio;

namespace {

constexpr std::size_t chunk = 1000;
constexpr auto run_limit = std::chrono::minutes(5);

class kwire_txn_run {
public:
    kwire_txn_run(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads)
        : s_(s),
          payloads_(payloads),
          limit_(io_),
          producer_(io_.get_executor(), config(s, bootstrap)),
          publisher_(producer_.make_publisher(s.topic)),
          written_(s.partitions) {}

    run_result run() {
        limit_.expires_after(run_limit);
        limit_.async_wait([this](std::error_code ec) {
            if (ec) return;
            if (result_.first_error.empty()) result_.first_error = "run timed out";
            stopped_ = true;
            io_.stop();
        });
        net::post(io_, [this] {
            producer_.init_transactions([this](boost::system::error_code ec) {
                if (stopped_) return;
                if (ec) return stop(ec, "init_transactions: ");
                begin();
            });
        });
        io_.run();
        if (!finished_) count_unanswered(result_, s_.messages, acked_, "");  // the run stopped early
        result_.transactions = transactions_;
        return std::move(result_);
    }

private:
    static producer_config config(const scenario& s, const std::string& bootstrap) {
        auto cfg = make_producer_config(s, bootstrap, nullptr);
        cfg.transactional_id = s.transactional_id;
        cfg.delivery_timeout = std::chrono::seconds(60);  // as librdkafka's side: <= transaction.timeout.ms
        return cfg;
    }

    void error(std::error_code ec, const char* when) {
        ++result_.errors;
        if (result_.first_error.empty()) result_.first_error = std::string(when) + ec.message();
    }

    void stop(std::error_code ec, const char* when) {
        if (ec) error(ec, when);
        stopped_ = true;
        producer_.close([this](std::error_code) { limit_.cancel(); });
    }

    // The warm-up transaction (one record per partition), or the next timed one.
    void begin() {
        producer_.begin_transaction([this](boost::system::error_code ec) {
            if (stopped_) return;
            if (ec) return stop(ec, "begin_transaction: ");
            if (warm_) return send_chunk(std::min(sent_ + s_.txn_records, s_.messages));
            for (int p = 0; p < s_.partitions; ++p)
                producer_.send({.topic = s_.topic, .value = bv(payloads_[0]), .partition = p},
                               [this](boost::system::error_code sent, delivery d) {
                                   if (stopped_) return;
                                   if (sent) return error(sent, "warm-up: ");
                                   ++result_.warmup_delivered;
                                   written_.wrote(d.partition);
                               });
            commit();
        });
    }

    void send_chunk(std::size_t end) {
        const auto to = std::min(sent_ + chunk, end);
        for (; sent_ < to; ++sent_)
            publisher_.send(std::nullopt, bv(payloads_[sent_ % payloads_.size()]),
                            [this](boost::system::error_code ec, delivery d) { on_ack(ec, d); });
        if (sent_ < end) net::post(io_, [this, end] { send_chunk(end); });
        else commit();
    }

    void on_ack(std::error_code ec, const delivery& d) {
        if (stopped_) return;
        if (ec) error(ec, "");
        else {
            ++result_.delivered;
            written_.wrote(d.partition);
        }
        ++acked_;
        maybe_finish();
    }

    void commit() {
        const auto t0 = bench_clock::now();
        producer_.commit_transaction([this, t0](boost::system::error_code ec) {
            if (stopped_) return;
            const auto now = bench_clock::now();
            // The records' completions were posted before the EndTxn answer came: all counted.
            result_.markers += written_.end();
            if (std::error_code(ec) == client::txn_error_class::abortable) {
                error(ec, "commit_transaction: ");
                return producer_.abort_transaction([this](boost::system::error_code aborted) {
                    if (stopped_) return;
                    if (aborted) return stop(aborted, "abort_transaction: ");
                    next(bench_clock::now());
                });
            }
            if (ec) return stop(ec, "commit_transaction: ");
            if (!warm_) {
                warm_ = true;
                first_ = bench_clock::now();
                return begin();
            }
            ++transactions_;
            result_.latency_ns.push_back(elapsed_ns(t0, now));
            next(now);
        });
    }

    void next(bench_clock::time_point now) {
        if (sent_ < s_.messages) return begin();
        last_commit_ = now;
        committed_all_ = true;
        maybe_finish();
    }

    void maybe_finish() {
        if (!committed_all_ || acked_ < s_.messages || finished_) return;
        finished_ = true;
        result_.seconds = std::chrono::duration<double>(last_commit_ - first_).count();
        stop({}, "");
    }

    // Declared before the producer: its destructor may still complete sends (after a timeout),
    // and those completions must find this state alive (they return at once, seeing stopped_).
    const scenario& s_;
    const std::vector<std::string>& payloads_;
    run_result result_;
    std::size_t sent_ = 0, acked_ = 0, transactions_ = 0;
    bench_clock::time_point first_{}, last_commit_{};
    bool warm_ = false, committed_all_ = false, finished_ = false, stopped_ = false;
    net::io_context io_{1};
    net::steady_timer limit_;
    kwire::producer producer_;
    kwire::producer::publisher publisher_;
    txn_partitions written_;
};

}  // namespace

run_result run_kwire_txn(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    kwire_txn_run r(s, bootstrap, payloads);
    return r.run();
}

}  // namespace kwire::bench
