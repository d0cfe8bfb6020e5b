// sync_producer (see kwire/client/sync_producer.hpp): a producer on its own io_context and
// thread; send returns a future, flush blocks, the destructor closes.
#include "kwire/client/sync_producer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <thread>
#include <vector>

namespace kwire {

namespace net = boost::asio;

struct sync_producer::impl {
    explicit impl(producer_config cfg)
        : work(net::make_work_guard(io)), producer(io.get_executor(), std::move(cfg)), thread([this] { io.run(); }) {}

    net::io_context io;
    net::executor_work_guard<net::io_context::executor_type> work;
    kwire::producer producer;
    std::thread thread;
};

sync_producer::sync_producer(producer_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

sync_producer::~sync_producer() {
    std::promise<void> closed;
    net::post(impl_->io, [this, &closed] { impl_->producer.close([&closed](boost::system::error_code) { closed.set_value(); }); });
    closed.get_future().wait();
    impl_->work.reset();
    impl_->io.stop();
    impl_->thread.join();
}

std::future<delivery> sync_producer::send(const record& r) {
    // Own copies of everything the record points to: it is sent on the io thread, later.
    struct owned {
        std::string topic;
        std::optional<std::vector<std::uint8_t>> key, value;
        std::vector<std::string> header_keys;
        std::vector<std::optional<std::vector<std::uint8_t>>> header_values;
        std::optional<std::int32_t> partition;
        std::optional<std::int64_t> timestamp;
        std::promise<delivery> promise;
    };
    auto o = std::make_shared<owned>();
    o->topic = std::string(r.topic);
    if (r.key) o->key.emplace(r.key->begin(), r.key->end());
    if (r.value) o->value.emplace(r.value->begin(), r.value->end());
    for (const auto& h : r.headers) {
        o->header_keys.emplace_back(h.key);
        if (h.value) o->header_values.emplace_back(std::vector<std::uint8_t>(h.value->begin(), h.value->end()));
        else o->header_values.emplace_back(std::nullopt);
    }
    o->partition = r.partition;
    o->timestamp = r.timestamp;
    auto future = o->promise.get_future();
    net::post(impl_->io, [this, o] {
        auto view = [](const std::optional<std::vector<std::uint8_t>>& v) -> std::optional<protocol::bytes_view> {
            if (!v) return std::nullopt;
            return protocol::bytes_view(v->data(), v->size());
        };
        std::vector<codec::header_view> headers;
        for (std::size_t i = 0; i < o->header_keys.size(); ++i)
            headers.push_back({o->header_keys[i], view(o->header_values[i])});
        record rec{o->topic, view(o->key), view(o->value), headers, o->partition, o->timestamp};
        impl_->producer.send(rec, [o](boost::system::error_code ec, delivery d) {
            if (ec) o->promise.set_exception(std::make_exception_ptr(boost::system::system_error(ec)));
            else o->promise.set_value(d);
        });
    });
    return future;
}

boost::system::error_code sync_producer::flush(std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto future = done->get_future();
    net::post(impl_->io, [this, done, timeout] {
        impl_->producer.flush(timeout, [done](boost::system::error_code ec) { done->set_value(ec); });
    });
    return future.get();
}

}  // namespace kwire
