// A blocking convenience over kwire::producer for code without an event loop: it owns an
// io_context and the one thread that runs it (the only thread kwire ever starts, and only here,
// on request). Each send copies the record (it crosses threads) and returns a future, as
// producer::send(rec, use_future) does: get() returns the delivery or throws
// boost::system::system_error (its code() says why, e.g. kwire::client_errc::delivery_timed_out).
//
//   kwire::sync_producer p(cfg);
//   kwire::delivery d = p.send({.topic = "orders", .value = bytes}).get();
#pragma once

#include <chrono>
#include <future>
#include <memory>

#include <boost/system/error_code.hpp>

#include "kwire/client/producer.hpp"

namespace kwire {

class sync_producer {
public:
    explicit sync_producer(producer_config cfg);
    /// Delivers what is pending (close), then stops the thread.
    ~sync_producer();
    sync_producer(const sync_producer&) = delete;
    sync_producer& operator=(const sync_producer&) = delete;

    /// Thread-safe. The record is copied before send returns. The future's get() throws
    /// boost::system::system_error if the record was not delivered.
    std::future<delivery> send(const record& r);
    /// Blocks until everything sent before is acknowledged or failed, or `timeout` passes
    /// (then client_errc::request_timed_out).
    boost::system::error_code flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(120000));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace kwire
