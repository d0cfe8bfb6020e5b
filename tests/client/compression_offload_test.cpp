// compression_offload without sockets: batches compressed on a thread pool come back on the
// producer's executor, each once, decodable; once closed, nothing comes back, and neither the
// offload nor the producer's execution context has to outlive the jobs still running.
#include "../require_codec.hpp"
#include "producer/compression_offload.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/records_reader.hpp"

namespace net = boost::asio;
using kwire::client::detail::compression_offload;
using kwire::codec::compression;
using offload = compression_offload<int>;

namespace {

std::string value_of(int batch, int i) {
    return "{\"batch\":" + std::to_string(batch) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
           std::string(static_cast<std::size_t>(40 + i % 30), static_cast<char>('a' + i % 26)) + "\"}";
}

/// A batch finished with defer_compression: `records` records, uncompressed.
std::shared_ptr<offload::job> job_for(int key, compression codec, int records) {
    auto j = std::make_shared<offload::job>();
    j->key = key;
    kwire::codec::batch_builder b;
    b.begin(j->input, {.codec = codec, .defer_compression = true});
    for (int i = 0; i < records; ++i) {
        const auto v = value_of(key, i);
        const kwire::protocol::bytes_view view(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
        EXPECT_FALSE(b.append(1000 + i, std::nullopt, view));
    }
    EXPECT_FALSE(b.finish());
    return j;
}

std::vector<std::string> values_in(std::vector<std::uint8_t> batch) {
    kwire::codec::set_batch_producer_state(batch, -1, -1, -1);  // the CRC
    std::vector<std::uint8_t> buffer;
    kwire::codec::records_reader r(batch, buffer);
    std::vector<std::string> out;
    kwire::codec::record_view rec;
    while (r.next_batch())
        while (r.next_record(rec)) out.emplace_back(rec.value->as_string());
    EXPECT_FALSE(r.error()) << r.error().message();
    return out;
}

}  // namespace

TEST(CompressionOffload, ResultsComeBackOnTheHomeExecutorOncePerJobAndDecode) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    KWIRE_REQUIRE_CODEC(compression::zstd);
    net::thread_pool pool(2);
    net::io_context io;
    std::vector<int> seen(24, 0);
    int wrong_thread = 0;
    const auto home_thread = std::this_thread::get_id();
    offload o(pool.get_executor(), io.get_executor(), [&](offload::job& j) {
        if (std::this_thread::get_id() != home_thread) ++wrong_thread;
        ASSERT_FALSE(j.ec) << j.ec.message();
        ++seen[static_cast<std::size_t>(j.key)];
        const auto values = values_in(std::move(j.output));
        ASSERT_EQ(values.size(), 300u);
        for (int i = 0; i < 300; ++i) EXPECT_EQ(values[static_cast<std::size_t>(i)], value_of(j.key, i));
    });
    for (int k = 0; k < 24; ++k) o.submit(job_for(k, k % 2 ? compression::lz4 : compression::zstd, 300));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto all_seen = [&] {
        for (int s : seen)
            if (s == 0) return false;
        return true;
    };
    while (!all_seen() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(10));
    }
    io.restart();
    io.run_for(std::chrono::milliseconds(50));  // nothing more comes
    EXPECT_EQ(seen, std::vector<int>(24, 1));
    EXPECT_EQ(wrong_thread, 0);
}

// The producer closes its offload when it is aborted or destroyed: jobs still running or queued
// finish on the pool, and nothing is delivered; what the completion captured is released at
// close(), on the producer's side, not later on a worker.
TEST(CompressionOffload, AfterCloseNothingIsDeliveredAndTheCompletionIsReleasedAtOnce) {
    net::thread_pool pool(2);
    net::io_context io;
    int delivered = 0;
    auto captured = std::make_shared<int>(0);
    {
        offload o(pool.get_executor(), io.get_executor(), [&delivered, captured](offload::job&) { ++delivered; });
        for (int k = 0; k < 40; ++k) o.submit(job_for(k, compression::zstd, 2000));
        o.close();
        EXPECT_EQ(captured.use_count(), 1) << "the completion function was not dropped by close()";
        o.submit(job_for(99, compression::lz4, 10));  // after close: compressed, never delivered
    }  // the offload is gone; its jobs are not
    pool.join();
    io.run();
    EXPECT_EQ(delivered, 0);
}

// The producer's execution context can be destroyed right after the producer while the pool is
// still compressing its batches (ASan: no use of the freed context). The home executor here
// tracks work, as a user's may: close() drops it, so it does not keep the context "busy".
TEST(CompressionOffload, TheHomeContextMayGoAwayWhileJobsAreStillRunning) {
    net::thread_pool pool(1);
    int delivered = 0;
    {
        auto io = std::make_unique<net::io_context>();
        net::any_io_executor tracked = net::prefer(io->get_executor(), net::execution::outstanding_work.tracked);
        offload o(pool.get_executor(), tracked, [&](offload::job&) { ++delivered; });
        tracked = {};
        for (int k = 0; k < 20; ++k) o.submit(job_for(k, compression::zstd, 3000));
        io->run_for(std::chrono::milliseconds(5));  // perhaps a few results
        o.close();
        io.reset();  // destroyed with jobs queued and running on the pool
    }
    pool.join();
    SUCCEED() << delivered << " delivered before close";
}
