// What the admin tests share: running one call to completion on an io_context.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <system_error>
#include <utility>

namespace kwire::test {

/// Runs one admin call (a callback token) on `io` until it completes (at most 30 s).
template <class Result, class Start>
std::pair<std::error_code, Result> run(boost::asio::io_context& io, Start start) {
    std::pair<std::error_code, Result> out;
    bool done = false;
    start([&](std::error_code ec, Result r) {
        out = {ec, std::move(r)};
        done = true;
        io.stop();  // the admin client keeps its connections open
    });
    io.restart();
    io.run_for(std::chrono::seconds(30));
    EXPECT_TRUE(done) << "the call never completed";
    return out;
}

/// Runs `io` until `pred` holds (true) or `limit` passes (false).
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(2));
    return pred();
}

}  // namespace kwire::test
