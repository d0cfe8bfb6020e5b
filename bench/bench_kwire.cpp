// kwire's side of kwire-bench: one producer on one io_context thread, callbacks as completion
// tokens (the cheapest), a publisher for the topic (resolved once, like librdkafka's topic handle).
//
// Warm-up (untimed): one record to each partition, so every broker connection, the metadata and
// the producer id are in place before the clock starts -- the same as the librdkafka side.
// Throughput: sends in chunks of 1000 records, yielding to the io_context between chunks (as an
// application on an event loop would), timed from the first send to the last acknowledgement;
// per-record latency for every 16th record (latency_sample_every).
// Latency: one send at a time, the next one issued from the previous one's callback.
// --spin-us N (latency): the io_context thread runs kwire::run_spinning, polling N us before it
// blocks (0: io_context::run()).
// --compression-threads N: a boost::asio::thread_pool of N threads, made by the benchmark (the
// application), is the producer's compression_executor in compressed scenarios.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>

#include <stdexcept>

#include "bench_common.hpp"
#include "bench_kwire_config.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/client/run.hpp"

namespace kwire::bench {

namespace net = boost::asio;

namespace {

constexpr std::size_t chunk = 1000;
constexpr auto run_limit = std::chrono::minutes(5);

}  // namespace

producer_config make_producer_config(const scenario& s, const std::string& bootstrap, net::thread_pool* pool) {
    producer_config cfg;
    cfg.bootstrap_servers = split_bootstrap(bootstrap);
    cfg.client_id = "kwire-bench";
    cfg.required_acks = s.acks == 1 ? client::acks::leader : client::acks::all;
    cfg.enable_idempotence = s.idempotence;
    cfg.linger = std::chrono::milliseconds(s.config.linger_ms >= 0 ? s.config.linger_ms : s.linger_ms);
    cfg.batch_size = 1000000;              // librdkafka: batch.size
    cfg.max_request_size = 1048576;        // librdkafka: message.max.bytes
    cfg.max_in_flight_per_connection = 5;  // librdkafka: max.in.flight
    cfg.buffer_memory = 1ull << 30;        // librdkafka: queue.buffering.max.kbytes (1 GiB)
    cfg.on_buffer_full = client::buffer_full_policy::wait;
    cfg.delivery_timeout = std::chrono::seconds(120);  // librdkafka: message.timeout.ms
    cfg.request_timeout = std::chrono::seconds(30);
    const auto codec = client::parse_compression(s.compression);
    if (!codec) throw std::invalid_argument("unknown compression " + s.compression);
    cfg.compression = *codec;
    if (pool) cfg.compression_executor = pool->get_executor();
    if (s.config.metrics) cfg.metrics = std::make_shared<client::metrics_registry>();
    else cfg.enable_metrics_push = false;  // metrics off: no registry of the client's own for KIP-714 either
    return cfg;
}

namespace {

class kwire_run {
public:
    kwire_run(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads)
        : s_(s),
          payloads_(payloads),
          limit_(io_),
          pool_(s.compression_threads > 0 && s.compression != "none"
                    ? std::make_unique<net::thread_pool>(static_cast<std::size_t>(s.compression_threads))
                    : nullptr),
          producer_(io_.get_executor(), make_producer_config(s, bootstrap, pool_.get())),
          publisher_(producer_.make_publisher(s.topic)) {}

    run_result run() {
        limit_.expires_after(run_limit);
        limit_.async_wait([this](std::error_code ec) {
            if (ec) return;
            timed_out_ = true;
            io_.stop();
        });
        net::post(io_, [this] { warm_up(); });
        // Latency, --spin-us N: the io_context thread polls for N us before each blocking wait
        // (kwire::run_spinning), as a latency-sensitive application runs its event loop.
        kwire::run_spinning(io_, std::chrono::microseconds(s_.kind == scenario_kind::latency ? s_.spin_us : 0));
        if (timed_out_) count_unanswered(result_, s_.messages, acked_, "run timed out: ");
        return std::move(result_);
    }

private:
    void error(std::error_code ec, const char* when) {
        ++result_.errors;
        if (result_.first_error.empty()) result_.first_error = std::string(when) + ec.message();
    }

    void warm_up() {
        warmup_left_ = static_cast<std::size_t>(s_.partitions);
        for (int p = 0; p < s_.partitions; ++p) {
            producer_.send({.topic = s_.topic, .value = bv(payloads_[0]), .partition = p},
                           [this](std::error_code ec, delivery) {
                               if (timed_out_) return;
                               if (ec) error(ec, "warm-up: ");
                               else ++result_.warmup_delivered;
                               if (--warmup_left_ == 0) start();
                           });
        }
    }

    void start() {
        if (s_.kind == scenario_kind::throughput) {
            send_times_.resize(s_.messages / latency_sample_every + 1);
            result_.latency_ns.reserve(send_times_.size());
            first_send_ = bench_clock::now();
            send_chunk(0);
        } else {
            result_.latency_ns.reserve(s_.messages);
            first_send_ = bench_clock::now();
            send_one(0);
        }
    }

    void send_chunk(std::size_t from) {
        const auto to = std::min(from + chunk, s_.messages);
        for (std::size_t i = from; i < to; ++i) {
            if (i % latency_sample_every == 0) send_times_[i / latency_sample_every] = bench_clock::now();
            publisher_.send(std::nullopt, bv(payloads_[i % payloads_.size()]),
                            [this, i](std::error_code ec, delivery) { on_ack(i, ec); });
        }
        if (to < s_.messages) net::post(io_, [this, to] { send_chunk(to); });
    }

    void on_ack(std::size_t i, std::error_code ec) {
        if (timed_out_) return;
        const bool sampled = i % latency_sample_every == 0, last = acked_ + 1 == s_.messages;
        const auto now = sampled || last ? bench_clock::now() : bench_clock::time_point{};
        if (ec) error(ec, "");
        else {
            ++result_.delivered;
            if (sampled) result_.latency_ns.push_back(elapsed_ns(send_times_[i / latency_sample_every], now));
        }
        if (++acked_ == s_.messages) finish(now);
    }

    void send_one(std::size_t i) {
        const auto t0 = bench_clock::now();
        publisher_.send(std::nullopt, bv(payloads_[i % payloads_.size()]), [this, i, t0](std::error_code ec, delivery) {
            if (timed_out_) return;
            const auto now = bench_clock::now();
            if (ec) error(ec, "");
            else {
                ++result_.delivered;
                result_.latency_ns.push_back(elapsed_ns(t0, now));
            }
            ++acked_;
            if (i + 1 < s_.messages) send_one(i + 1);
            else finish(now);
        });
    }

    void finish(bench_clock::time_point last_ack) {
        result_.seconds = std::chrono::duration<double>(last_ack - first_send_).count();
        producer_.close([this](std::error_code ec) {
            if (ec && result_.first_error.empty()) result_.first_error = "close: " + ec.message();
            limit_.cancel();
        });
    }

    // Declared before the producer: its destructor may still complete sends (after a timeout),
    // and those completions must find this state alive (they return at once, seeing timed_out_).
    const scenario& s_;
    const std::vector<std::string>& payloads_;
    run_result result_;
    std::vector<bench_clock::time_point> send_times_;
    bench_clock::time_point first_send_{};
    std::size_t warmup_left_ = 0;
    std::size_t acked_ = 0;
    bool timed_out_ = false;
    net::io_context io_{1};
    net::steady_timer limit_;
    std::unique_ptr<net::thread_pool> pool_;  // outlives the producer: destroyed (joined) after it
    kwire::producer producer_;
    kwire::producer::publisher publisher_;
};

}  // namespace

run_result run_kwire(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    kwire_run r(s, bootstrap, payloads);
    return r.run();
}

}  // namespace kwire::bench
