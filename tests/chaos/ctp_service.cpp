// A consume-transform-produce service on kwire's public API, for the exactly-once chaos test
// (ctp_chaos_test.cpp), which SIGKILLs and restarts it:
//
//   kwire-ctp-service BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [MAX_POLL_RECORDS [WORK_MS]]
//
// It reads INPUT in GROUP (read_committed, no commits of its own: group.instance.id is the
// transactional id, so that a restart replaces its member at once), and per polled batch runs
// one transaction: begin, one output record per input -- same key, value "P@O:" + the input's
// value, where P and O are the input's partition and offset, to the same partition number --
// then the consumer's next offsets with send_offsets_to_transaction(consumer.group_metadata()),
// then commit -- WORK_MS (default 0) after the offsets, standing for the work a real service
// does, so that a transaction stays open long enough to be killed in. On an abortable error it aborts and rewinds every assigned partition to the
// group's committed offset (what the aborted transaction would have moved on); a retriable one
// repeats the call; a fatal one (fenced: another instance took over) ends the process with
// status 3. Each step prints a line ("begin N", "committed N", "aborted: why"), written to the
// pipe at once so that the test can kill it between the produce and the commit.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/client/transaction.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
constexpr auto as_values = asio::as_tuple(asio::use_awaitable);

struct service_args {
    std::string bootstrap, input, output, group, transactional_id;
    std::size_t max_poll_records = 20;
    std::chrono::milliseconds work{0};
};

/// "host:port,host:port" -> its addresses.
std::vector<std::string> split_servers(const std::string& list) {
    std::vector<std::string> out;
    for (std::size_t from = 0; from <= list.size();) {
        const auto comma = std::min(list.find(',', from), list.size());
        if (comma > from) out.push_back(list.substr(from, comma - from));
        from = comma + 1;
    }
    return out;
}

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

/// The outcome of one transactional step, as the service acts on it.
enum class step { ok, abort, stop };

step judge(const char* what, const boost::system::error_code& ec) {
    if (!ec) return step::ok;
    if (ec == kwire::txn_error_class::abortable) {
        say(std::string("aborting: ") + what + ": " + ec.message());
        return step::abort;
    }
    say(std::string("fatal: ") + what + ": " + ec.message());
    return step::stop;
}

/// Calls `call` until it completes with something other than a retriable error.
template <class Call> asio::awaitable<boost::system::error_code> retrying(Call call) {
    for (;;) {
        auto [ec] = co_await call();
        if (ec != kwire::txn_error_class::retriable) co_return ec;
        asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
        co_await timer.async_wait(as_values);
    }
}

class service {
public:
    service(asio::io_context& io, const service_args& a) : args_(a), in_(io.get_executor(), consumer_cfg(a)),
                                                         out_(io.get_executor(), producer_cfg(a)) {}

    /// Runs until a fatal error: the process's exit status.
    asio::awaitable<int> run() {
        auto ec = co_await retrying([&] { return out_.init_transactions(as_values); });
        if (judge("init_transactions", ec) != step::ok) co_return 3;
        say("ready");
        in_.subscribe({args_.input});
        for (;;) {
            auto [pec, batch] = co_await in_.poll(1s, as_values);
            if (pec) {
                say("fatal: poll: " + pec.message());
                co_return 4;
            }
            if (batch.empty()) continue;
            const auto s = co_await transform(batch);
            if (s == step::stop) co_return 3;
            if (s == step::abort && !co_await abort()) co_return 3;
        }
    }

private:
    static kwire::consumer_config consumer_cfg(const service_args& a) {
        kwire::consumer_config c;
        c.bootstrap_servers = split_servers(a.bootstrap);
        c.group_id = a.group;
        c.group_instance_id = a.transactional_id;
        c.isolation_level = kwire::client::isolation::read_committed;
        c.commit = kwire::commit_policy::manual();  // enable.auto.commit=false: offsets go with the transactions
        c.auto_offset_reset = kwire::client::offset_reset::earliest;
        c.max_poll_records = a.max_poll_records;
        c.fetch_max_wait = 100ms;
        c.heartbeat_interval = 100ms;  // a rebalance is noticed soon (its commits fail until then)
        c.retry_backoff = 20ms;
        c.retry_backoff_max = 200ms;
        return c;
    }
    static kwire::producer_config producer_cfg(const service_args& a) {
        kwire::producer_config p;
        p.bootstrap_servers = split_servers(a.bootstrap);
        p.transactional_id = a.transactional_id;
        p.linger = 2ms;
        p.retry_backoff = 20ms;
        p.retry_backoff_max = 200ms;
        p.reconnect_backoff = 20ms;
        p.reconnect_backoff_max = 200ms;
        return p;
    }

    /// One transaction for the batch.
    asio::awaitable<step> transform(const kwire::record_batch& batch) {
        auto [bec] = co_await out_.begin_transaction(as_values);
        if (const auto s = judge("begin_transaction", bec); s != step::ok) co_return s;
        say("begin " + std::to_string(batch.size()));
        std::map<std::int32_t, std::int64_t> next;
        for (const auto& r : batch) {
            value_.assign(std::to_string(r.partition) + "@" + std::to_string(r.offset) + ":");
            if (r.value) value_.append(reinterpret_cast<const char*>(r.value->data()), r.value->size());
            const auto* v = reinterpret_cast<const std::uint8_t*>(value_.data());
            // A failed record fails the commit (abortable): its own completion adds nothing.
            out_.send({.topic = args_.output, .key = r.key, .value = kwire::protocol::bytes_view(v, value_.size()),
                       .partition = r.partition},
                      [](boost::system::error_code, kwire::delivery) {});
            next[r.partition] = r.offset + 1;
        }
        std::vector<kwire::partition_offset> offsets;
        for (const auto& [partition, offset] : next) offsets.push_back({args_.input, partition, offset});
        auto ec = co_await retrying([&] {
            return out_.send_offsets_to_transaction(offsets, in_.group_metadata(), as_values);
        });
        if (const auto s = judge("send_offsets_to_transaction", ec); s != step::ok) co_return s;
        if (args_.work.count() > 0) {
            asio::steady_timer work(co_await asio::this_coro::executor, args_.work);
            co_await work.async_wait(as_values);
        }
        ec = co_await retrying([&] { return out_.commit_transaction(as_values); });
        if (const auto s = judge("commit_transaction", ec); s != step::ok) co_return s;
        say("committed " + std::to_string(batch.size()));
        co_return step::ok;
    }

    /// Aborts the transaction and rewinds to the group's committed offsets; false if that failed
    /// fatally.
    asio::awaitable<bool> abort() {
        auto ec = co_await retrying([&] { return out_.abort_transaction(as_values); });
        if (judge("abort_transaction", ec) != step::ok) co_return false;
        for (const auto& tp : in_.assignment()) in_.seek(tp, kwire::offset::committed);
        say("aborted");
        co_return true;
    }

    service_args args_;
    kwire::consumer in_;
    kwire::producer out_;
    std::string value_;  // the output value being built (send() copies it)
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: %s BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [MAX_POLL_RECORDS [WORK_MS]]\n", argv[0]);
        return 2;
    }
    service_args a{argv[1], argv[2], argv[3], argv[4], argv[5]};
    if (argc > 6) a.max_poll_records = static_cast<std::size_t>(std::strtoul(argv[6], nullptr, 10));
    if (argc > 7) a.work = std::chrono::milliseconds(std::strtol(argv[7], nullptr, 10));
    asio::io_context io;
    service s(io, a);
    int status = 0;
    asio::co_spawn(io, s.run(), [&](std::exception_ptr e, int st) {
        status = e ? 5 : st;
        io.stop();
    });
    io.run();
    return status;
}
