// The README's C++ examples, compiled: every line of every ```cpp block in README.md appears here
// (tests/readme_snippets.py checks that, as the test readme.snippets_compile), so the README
// cannot drift from the API. Built, never run (the brokers are made up).
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <tuple>
#include <optional>
#include <string>
#include <vector>

#include "kwire/admin/admin.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metrics_server.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"

using boost::asio::as_tuple;
using boost::asio::use_awaitable;

namespace {
template <class... T> void handle(const T&...) {}
}  // namespace

// "Using the producer"
void readme_producer(kwire::protocol::bytes_view key, kwire::protocol::bytes_view value) {
boost::asio::io_context io;
kwire::producer_config cfg;
cfg.bootstrap_servers = {"broker1:9092", "broker2:9092"};
// or from the usual property names: kwire::client::apply_properties(cfg, {{"linger.ms", "5"}}, &why);
kwire::producer producer(io.get_executor(), cfg);   // runs on your executor; starts no thread

// Any Asio completion token. It completes once the broker acknowledged the record (acks=all by
// default, idempotent by default), or with an error that says why not.
producer.send({.topic = "orders", .key = key, .value = value},
              [](boost::system::error_code ec, kwire::delivery d) { /* d.partition, d.offset, d.timestamp */ });

boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    kwire::delivery d = co_await producer.send({.topic = "orders", .value = value}, boost::asio::use_awaitable);
    // a failed send throws boost::system::system_error; as_tuple gives the error as a value:
    auto [ec, d2] = co_await producer.send({.topic = "orders", .value = value}, boost::asio::as_tuple(boost::asio::use_awaitable));
    co_await producer.flush(boost::asio::use_awaitable);   // throws if the flush fails
}, boost::asio::detached);

// A topic whose sends must not linger, while others keep batching:
auto quotes = producer.make_publisher("quotes", {.autoflush = true});
quotes.send(std::nullopt, value, [](boost::system::error_code, kwire::delivery) {});
io.run();

// "Security and deployment": map_address
cfg.map_address = [](const kwire::client::broker_address& advertised) {
    return kwire::client::broker_address{"127.0.0.1", static_cast<std::uint16_t>(advertised.port + 10000)};
};
}

// "Using the consumer"
void readme_consumer(boost::asio::io_context& io) {
kwire::consumer_config cfg;
cfg.bootstrap_servers = {"broker1:9092"};
cfg.group_id = "billing";
cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
cfg.commit = kwire::commit_policy::interval(std::chrono::milliseconds(0));  // the default
kwire::consumer consumer(io.get_executor(), cfg);
consumer.subscribe({"orders"});   // or consumer.assign({{"orders", 0, kwire::offset::beginning}})

boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    for (;;) {
        auto [ec, batch] = co_await consumer.poll(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) break;                          // a fatal group error, auto.offset.reset=none, ...
        for (const auto& r : batch) {           // views into the fetched data, valid until the next poll
            auto guard = consumer.ack_on_exit(r);   // acknowledged unless an exception leaves the scope
            handle(r.key, r.value, r.headers);
        }
    }
    co_await consumer.close(boost::asio::use_awaitable);  // commits what is acknowledged, leaves the group
}, boost::asio::detached);

// A poll that gives up after 100 ms of silence, through awaitable operators (the consumer stays
// usable; records not handed out wait for the next poll):
using namespace boost::asio::experimental::awaitable_operators;
boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    boost::asio::steady_timer timer(io, std::chrono::milliseconds(100));
    auto first = co_await (consumer.poll(boost::asio::use_awaitable) || timer.async_wait(boost::asio::use_awaitable));
    if (first.index() == 0) { /* std::get<0>(first) is the record_batch */ }
}, boost::asio::detached);
}

// "Using the admin client"
void readme_admin(boost::asio::io_context& io) {
kwire::admin::admin_config cfg;               // connection settings + default.api.timeout.ms, retry.backoff.ms
cfg.bootstrap_servers = {"broker1:9092"};
kwire::admin::admin_client admin(io.get_executor(), cfg);   // your executor, no threads

boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
// Per-item results: one failing topic does not hide the others' outcome.
admin.create_topics({{.name = "orders", .partitions = 6, .replication_factor = 3,
                      .configs = {{"cleanup.policy", "compact"}}}}, {},
    [](boost::system::error_code ec, std::vector<kwire::admin::topic_result> results) {
        for (auto& r : results) { /* r.name, r.error (e.g. TOPIC_ALREADY_EXISTS), r.message */ }
    });
auto [ec, lag] = co_await admin.group_lag("billing", as_tuple(use_awaitable));
}, boost::asio::detached);
}

// "Observability: logs, errors that say why, metrics, Prometheus"
void readme_observability(boost::asio::io_context& io) {
auto metrics = std::make_shared<kwire::metrics_registry>();
kwire::producer_config observed;
observed.bootstrap_servers = {"broker1:9092"};
observed.metrics = metrics;                                  // and the consumer's, the admin's ...
observed.log.handler = kwire::client::stderr_log_handler();  // or your own: [](const kwire::client::log_record& r) { ... }
observed.log.debug = *kwire::client::parse_log_contexts("broker,metadata");
kwire::producer watched(io.get_executor(), observed);
kwire::metrics_server server(io.get_executor(), {metrics}, {.port = 9400});  // http://host:9400/metrics
auto snapshot = metrics->snapshot();  // or metrics->total("request-total")
handle(snapshot);
}

// "Observability": a failed send's cause
void readme_producer_errors(kwire::producer& p, const kwire::record& rec) {
p.send(rec, [&](boost::system::error_code ec, kwire::delivery d) {
    if (ec) std::cerr << p.describe(ec, "orders", d.partition) << '\n';
    // record not acknowledged within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)
});
}

// "Using the protocol layer"
void readme_protocol(const std::vector<std::uint8_t>& body) {
namespace kp = kwire::protocol;

kp::MetadataRequest req;
req.topics.emplace().push_back({.name = "orders"});
std::vector<std::uint8_t> frame;
kp::encode_request(frame, req, /*version=*/12, /*correlation_id=*/1, "my-app");
// ... write `frame`, read the response frame (without its 4-byte size) into `body` ...
kp::MetadataResponse resp;
if (auto ec = kp::decode_response(kp::bytes_view(body), 12, resp)) {
    // ec.message(): "truncated input ...", "length or count larger than the bytes that remain", ...
}
}

// "Transactions (exactly once)"
void readme_transactions(boost::asio::io_context& io, kwire::consumer& in) {
kwire::producer_config pcfg;
pcfg.bootstrap_servers = {"broker1:9092"};
pcfg.transactional_id = "orders-enricher-1";   // stable per instance: a restart fences its zombie
kwire::producer out(io.get_executor(), pcfg);

boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    co_await out.init_transactions(boost::asio::use_awaitable);
    for (;;) {
        kwire::record_batch batch = co_await in.poll(boost::asio::use_awaitable);
        co_await out.begin_transaction(boost::asio::use_awaitable);
        std::map<kwire::topic_partition, std::int64_t> first, next;  // per partition of the batch
        for (const auto& r : batch) {
            out.send({.topic = "orders-enriched", .key = r.key, .value = r.value}, boost::asio::detached);
            kwire::topic_partition tp{std::string(r.topic), r.partition};
            first.try_emplace(tp, r.offset);
            next[tp] = r.offset + 1;
        }
        std::vector<kwire::partition_offset> offsets;
        for (const auto& [tp, o] : next) offsets.push_back({tp.topic, tp.partition, o});
        const auto tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
        auto [ec] = co_await out.send_offsets_to_transaction(offsets, in.group_metadata(), tuple);
        if (!ec) std::tie(ec) = co_await out.commit_transaction(tuple);
        if (ec == kwire::txn_error_class::abortable) {
            co_await out.abort_transaction(boost::asio::use_awaitable);
            for (const auto& [tp, o] : first) in.seek(tp, o);  // the batch again, in the next one
        } else if (ec) {
            throw boost::system::system_error(ec);  // fatal (fenced): stop this instance
        }
    }
}, boost::asio::detached);
}

int main() { return 0; }
