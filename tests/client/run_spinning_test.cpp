// kwire::run_spinning: the busy-polling run loop behaves like io_context::run().
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kwire/client/run.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

TEST(RunSpinning, RunsEveryHandlerAndReturnsWhenOutOfWork) {
    net::io_context io{1};
    int ran = 0;
    for (int i = 0; i < 5; ++i) net::post(io, [&] { ++ran; });
    net::steady_timer t(io, 2ms);
    t.async_wait([&](boost::system::error_code ec) {
        EXPECT_FALSE(ec);
        ++ran;
        net::post(io, [&] { ++ran; });  // posted from a handler: still run before returning
    });
    EXPECT_EQ(kwire::run_spinning(io, 50us), 7u);
    EXPECT_EQ(ran, 7);
    EXPECT_TRUE(io.stopped());
}

TEST(RunSpinning, BlocksAfterTheSpinAndWakesForWorkFromAnotherThread) {
    net::io_context io{1};
    auto guard = net::make_work_guard(io);
    std::atomic<bool> done{false};
    std::thread other([&] {
        // Long after the 100 us spin: the loop is blocked in run_one() by then.
        std::this_thread::sleep_for(50ms);
        net::post(io, [&] {
            done = true;
            guard.reset();
        });
    });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(kwire::run_spinning(io, 100us), 1u);
    other.join();
    EXPECT_TRUE(done);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
}

TEST(RunSpinning, StopEndsTheLoopAndZeroSpinIsRun) {
    net::io_context io{1};
    auto guard = net::make_work_guard(io);
    int ran = 0;
    net::post(io, [&] {
        ++ran;
        io.stop();
    });
    net::post(io, [&] { ++ran; });  // not reached: stopped first
    EXPECT_EQ(kwire::run_spinning(io, 1ms), 1u);
    EXPECT_EQ(ran, 1);

    io.restart();
    guard.reset();
    EXPECT_EQ(kwire::run_spinning(io, 0ns), 1u);  // run(): the handler left over from before
    EXPECT_EQ(ran, 2);
}
