// kwire's end-to-end run: a kwire::producer and a kwire::consumer, each on its own io_context and
// thread (two applications, as far as the clients can tell), measuring from send() on the one to
// the record returned by poll() on the other.
//
// The consumer is assigned partition 0 of the scenario's one-partition topic at the log end
// measured before the run. Every record's value carries its index (e2e_value); the producer
// stores the send time under the index before sending, the consumer reads it when the record
// arrives, and checks that indices come in order without gaps or repeats.
// Warm-up: e2e_warmup records one at a time, untimed. Then either one at a time (the consumer's
// thread posts the next send to the producer's thread as soon as a record arrived) or at a
// steady rate (the producer's thread sends what is due, waiting on a timer while the next
// record is more than 200 us away, polling otherwise).
// Both threads run kwire::run_spinning with --spin-us; the consumer fetches with the
// configuration's fetch.max.wait.ms: 500 against the instant broker (which, as Kafka, answers a
// waiting Fetch when a record arrives), 0 against librdkafka's mock, which answers an empty
// fetch only after the whole wait even when records arrive meanwhile. The mock also returns one batch per
// partition per Fetch, so at a steady rate the consumer keeps up only if the producer's batches
// hold enough records (see bench/RESULTS.md).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "bench_common.hpp"
#include "bench_kwire_config.hpp"
#include "kwire/client/run.hpp"

namespace kwire::bench {

namespace {

namespace net = boost::asio;

constexpr auto run_limit = std::chrono::minutes(2);
constexpr auto pace_timer_above = std::chrono::microseconds(200);

std::int64_t now_ns() { return static_cast<std::int64_t>(bench_clock::now().time_since_epoch().count()); }

class kwire_e2e_run {
public:
    kwire_e2e_run(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads)
        : s_(s),
          total_(e2e_warmup + s.messages),
          sent_ns_(total_),
          pace_timer_(pio_),
          plimit_(pio_),
          climit_(cio_),
          producer_(pio_.get_executor(), make_producer_config(s, bootstrap, nullptr)),
          publisher_(producer_.make_publisher(s.topic)),
          consumer_(cio_.get_executor(), make_consumer_config(s, bootstrap)) {
        values_.reserve(total_);
        for (std::size_t i = 0; i < total_; ++i) values_.push_back(e2e_value(payloads[i % payloads.size()], i));
    }

    run_result run() {
        const auto spin = std::chrono::microseconds(s_.spin_us);
        for (auto* t : {&plimit_, &climit_}) {
            t->expires_after(run_limit);
            t->async_wait([this](std::error_code ec) {
                if (ec) return;
                timed_out_ = true;
                pio_.stop();
                cio_.stop();
            });
        }
        consumer_.assign({{s_.topic, 0, s_.start_offset}});
        net::post(cio_, [this] { poll(); });
        net::post(pio_, [this] { send(0); });
        std::thread consumer_thread([&] { kwire::run_spinning(cio_, spin); });
        kwire::run_spinning(pio_, spin);
        consumer_thread.join();

        result_.latency_ns = std::move(latency_);
        for (auto& e : consumer_errors_) note(std::move(e));
        result_.delivered = consumed_ >= e2e_warmup ? consumed_ - e2e_warmup : 0;
        result_.warmup_delivered = std::min(acked_, e2e_warmup);
        if (timed_out_) note("run timed out: " + std::to_string(total_ - consumed_) + " records never consumed");
        if (acked_ != total_) note(std::to_string(total_ - acked_) + " sends never acknowledged");
        if (result_.delivered != s_.messages && result_.errors == 0) ++result_.errors;
        return std::move(result_);
    }

private:
    void note(std::string what) {
        ++result_.errors;
        if (result_.first_error.empty()) result_.first_error = std::move(what);
    }

    // --- the producer's thread ---
    void send(std::size_t i) {
        if (i == e2e_warmup && s_.e2e_rate > 0) {
            paced_from_ = bench_clock::now();
            next_ = i;
            return pace();
        }
        send_record(i);
    }

    bench_clock::time_point due(std::size_t i) const {
        return paced_from_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 static_cast<double>(i - e2e_warmup) * 1e9 / static_cast<double>(s_.e2e_rate)));
    }

    void pace() {
        if (timed_out_) return;
        auto now = bench_clock::now();
        while (next_ < total_ && due(next_) <= now) {
            send_record(next_++);
            now = bench_clock::now();
        }
        if (next_ == total_) return;
        if (due(next_) - now > pace_timer_above) {
            pace_timer_.expires_at(due(next_) - pace_timer_above / 2);
            pace_timer_.async_wait([this](std::error_code ec) {
                if (!ec) pace();
            });
        } else {
            net::post(pio_, [this] { pace(); });
        }
    }

    void send_record(std::size_t i) {
        sent_ns_[i].store(now_ns(), std::memory_order_release);
        publisher_.send(std::nullopt, bv(values_[i]), [this](std::error_code ec, delivery) {
            if (ec) {
                if (!timed_out_) note("send: " + ec.message());
                return;
            }
            if (++acked_ == total_) producer_.close([this](std::error_code) { plimit_.cancel(); });
        });
    }

    // --- the consumer's thread ---
    void poll() {
        consumer_.poll([this](std::error_code ec, record_batch batch) {
            if (timed_out_) return;
            if (ec) {
                if (++poll_errors_ > 100) return finish();
                return poll();
            }
            const auto now = now_ns();
            for (const auto& r : batch) {
                const auto index = r.value ? e2e_index(r.value->data(), r.value->size()) : ~std::uint64_t{0};
                if (index != consumed_) {
                    consumer_note("record " + std::to_string(index) + " after " + std::to_string(consumed_) + " (offset " +
                                  std::to_string(r.offset) + ")");
                    return finish();
                }
                if (index == e2e_warmup) first_ = now;
                if (index >= e2e_warmup) {
                    const auto sent = sent_ns_[index].load(std::memory_order_acquire);
                    latency_.push_back(static_cast<std::uint64_t>(std::max<std::int64_t>(now - sent, 0)));
                }
                ++consumed_;
                const bool one_at_a_time = s_.e2e_rate == 0 || consumed_ < e2e_warmup;
                if (consumed_ < total_ && (one_at_a_time || consumed_ == e2e_warmup))
                    net::post(pio_, [this, next = consumed_.load()] { send(next); });
            }
            if (consumed_ == total_) {
                result_.seconds = static_cast<double>(now - first_) / 1e9;
                return finish();
            }
            poll();
        });
    }

    void consumer_note(std::string what) {
        std::lock_guard lock(note_mu_);
        consumer_errors_.push_back(std::move(what));
    }

    void finish() {
        consumer_.close([this](std::error_code) { climit_.cancel(); });
    }

private:
    const scenario& s_;
    const std::size_t total_;
    std::vector<std::string> values_;
    std::vector<std::atomic<std::int64_t>> sent_ns_;
    run_result result_;
    std::vector<std::uint64_t> latency_;
    std::mutex note_mu_;
    std::vector<std::string> consumer_errors_;
    std::atomic<std::size_t> consumed_{0};
    std::size_t acked_ = 0;
    std::size_t next_ = 0;
    std::size_t poll_errors_ = 0;
    std::int64_t first_ = 0;
    bench_clock::time_point paced_from_{};
    std::atomic<bool> timed_out_{false};
    net::io_context pio_{1};
    net::io_context cio_{1};
    net::steady_timer pace_timer_;
    net::steady_timer plimit_;
    net::steady_timer climit_;
    kwire::producer producer_;
    kwire::producer::publisher publisher_;
    kwire::consumer consumer_;
};

}  // namespace

run_result run_kwire_e2e(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    kwire_e2e_run r(s, bootstrap, payloads);
    return r.run();
}

}  // namespace kwire::bench
