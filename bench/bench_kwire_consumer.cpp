// kwire's consumer side of kwire-bench: one kwire::consumer on one io_context thread.
//
// consume*: assign() every partition from offset::beginning (no group, so no group setup is
// timed), then poll() until the expected number of records has arrived; timed from the first
// poll() to the batch holding the last record.
// commit-*: subscribe() in a fresh group (auto.offset.reset=earliest), ack() every record, and
// commit per the scenario's policy; timed from the first batch to the batch holding the last
// record (the group join is not timed). commits_sent() is read at that last batch.
//
// Settings (the librdkafka side gets the same): max.poll.records 500, fetch.min.bytes 1,
// fetch.max.wait.ms 500 (or the run's client_config), max.partition.fetch.bytes 1 MiB, fetch.max.bytes 50 MiB, check.crcs on.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <stdexcept>

#include "bench_common.hpp"
#include "bench_kwire_config.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::bench {

namespace net = boost::asio;

namespace {
constexpr auto run_limit = std::chrono::minutes(5);
constexpr std::size_t max_poll_errors = 100;  // give up after this many failed polls
}  // namespace

consumer_config make_consumer_config(const scenario& s, const std::string& bootstrap) {
    consumer_config cfg;
    cfg.bootstrap_servers = split_bootstrap(bootstrap);
    cfg.client_id = "kwire-bench";
    cfg.max_poll_records = 500;                 // librdkafka: batch of 500 (rd_kafka_consume_batch_queue)
    cfg.fetch_min_bytes = 1;                    // fetch.min.bytes
    cfg.fetch_max_wait = std::chrono::milliseconds(s.config.fetch_wait_ms >= 0 ? s.config.fetch_wait_ms : 500);
    cfg.max_partition_fetch_bytes = 1 << 20;    // max.partition.fetch.bytes
    cfg.fetch_max_bytes = 50 << 20;             // fetch.max.bytes
    cfg.check_crcs = true;                      // check.crcs
    cfg.auto_offset_reset = client::offset_reset::earliest;
    if (s.kind == scenario_kind::commit) {
        cfg.group_id = s.group;
        if (s.commit == "interval0") cfg.commit = kwire::commit_policy::interval(std::chrono::milliseconds(0));
        else if (s.commit == "interval100") cfg.commit = kwire::commit_policy::interval(std::chrono::milliseconds(100));
        else if (s.commit == "manual1000") cfg.commit = kwire::commit_policy::manual();
        else throw std::invalid_argument("unknown commit policy " + s.commit);
    }
    return cfg;
}

namespace {

class kwire_consumer_run {
public:
    kwire_consumer_run(const scenario& s, const std::string& bootstrap)
        : s_(s), check_(s.partitions), limit_(io_), consumer_(io_.get_executor(), make_consumer_config(s, bootstrap)) {}

    run_result run() {
        limit_.expires_after(run_limit);
        limit_.async_wait([this](std::error_code ec) {
            if (ec) return;
            timed_out_ = true;
            io_.stop();
        });
        net::post(io_, [this] { start(); });
        io_.run();
        if (timed_out_ && result_.first_error.empty())
            result_.first_error = "run timed out: " + std::to_string(s_.messages - counted_) + " records never consumed";
        result_.delivered = counted_;
        if (check_.problems) {
            result_.errors += check_.problems;
            if (result_.first_error.empty()) result_.first_error = check_.first_problem;
        }
        if (counted_ != s_.messages && result_.errors == 0) ++result_.errors;
        return std::move(result_);
    }

private:
    void error(std::error_code ec, const char* when) {
        ++result_.errors;
        if (result_.first_error.empty()) result_.first_error = std::string(when) + ec.message();
    }

    void start() {
        if (s_.kind == scenario_kind::consume) {
            std::vector<partition_offset> parts;
            for (int p = 0; p < s_.partitions; ++p) parts.push_back({s_.topic, p, kwire::offset::beginning});
            consumer_.assign(std::move(parts));
            first_ = bench_clock::now();
        } else {
            consumer_.subscribe({s_.topic});
        }
        poll();
    }

    void poll() {
        consumer_.poll([this](std::error_code ec, record_batch batch) { on_batch(ec, batch); });
    }

    void on_batch(std::error_code ec, const record_batch& batch) {
        if (timed_out_) return;
        if (ec) {
            error(ec, "poll: ");
            if (++poll_errors_ >= max_poll_errors) return finish(bench_clock::now());
            return poll();
        }
        if (batch.empty()) return poll();
        const bool commit = s_.kind == scenario_kind::commit, manual = s_.commit == "manual1000";
        if (commit && counted_ == 0) first_ = bench_clock::now();
        for (const auto& r : batch) {
            check_.see(r.partition, r.offset);
            if (r.value) result_.value_bytes += r.value->size();
            if (commit) {
                r.ack();
                if (manual && (counted_ + 1) % 1000 == 0)
                    consumer_.commit([this](std::error_code e) {
                        if (e && !timed_out_) error(e, "commit: ");
                    });
            }
            if (++counted_ == s_.messages) break;
        }
        if (counted_ == s_.messages) return finish(bench_clock::now());
        poll();
    }

    void finish(bench_clock::time_point last) {
        result_.seconds = std::chrono::duration<double>(last - first_).count();
        result_.commits = consumer_.commits_sent();
        consumer_.close([this](std::error_code ec) {
            if (ec && result_.first_error.empty()) result_.first_error = "close: " + ec.message();
            limit_.cancel();
        });
    }

    const scenario& s_;
    run_result result_;
    offset_checker check_;
    bench_clock::time_point first_{};
    std::size_t counted_ = 0;
    std::size_t poll_errors_ = 0;
    bool timed_out_ = false;
    net::io_context io_{1};
    net::steady_timer limit_;
    kwire::consumer consumer_;
};

}  // namespace

run_result run_kwire_consumer(const scenario& s, const std::string& bootstrap) {
    kwire_consumer_run r(s, bootstrap);
    return r.run();
}

}  // namespace kwire::bench
