// Compressing sealed batches on an executor the user supplies (producer_config::
// compression_executor), and handing each result back to the producer's executor. No thread is
// created here: the jobs run wherever the user's executor runs them.
//
// Lifetime, step by step:
//  - a job owns both of its buffers (the batch with its records uncompressed, and the result), so
//    a batch that expires or is aborted while its records are being compressed, or the whole
//    producer, can go away without the worker ever touching freed memory;
//  - a worker posts its result to the producer's executor only while the offload is open, and
//    holds the offload's mutex while it does: close() (the producer aborted or destroyed) waits
//    for a worker that is posting at that moment, and after it no worker posts. So the producer's
//    execution context may be destroyed right after the producer, with jobs still running;
//  - a result posted before close() finds the offload closed when it runs, and is dropped;
//  - close() also drops the completion function and the producer's executor, on the producer's
//    side, so neither is destroyed on a worker thread or after the producer's execution context;
//  - results come back in the order jobs finish, not in the order they were submitted: each
//    carries its key, and the caller keeps its own order (partition_queue holds a partition's
//    later batches behind one that is still being compressed).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/codec/batch_builder.hpp"

namespace kwire::client::detail {

template <class Key> class compression_offload {
public:
    /// One batch to compress: `input` is a batch finished with batch_options::defer_compression;
    /// `output` receives it compressed, without its CRC (a buffer to reuse; it is cleared first).
    struct job {
        Key key{};
        std::vector<std::uint8_t> input;
        std::vector<std::uint8_t> output;
        std::optional<int> level;
        std::error_code ec;  ///< set by the worker: the compression failed
    };
    using done_fn = std::function<void(job&)>;

    /// `done` is called on `home` for every job finished while the offload is open.
    compression_offload(boost::asio::any_io_executor workers, boost::asio::any_io_executor home, done_fn done)
        : workers_(std::move(workers)), link_(std::make_shared<link>(std::move(home), std::move(done))) {}
    ~compression_offload() { close(); }
    compression_offload(const compression_offload&) = delete;
    compression_offload& operator=(const compression_offload&) = delete;

    /// Hands a job to the workers. Call on the home executor.
    void submit(std::shared_ptr<job> j) {
        boost::asio::post(workers_, [l = link_, j = std::move(j)]() mutable {
            j->output.clear();
            j->ec = codec::compress_deferred_batch(j->input, j->level, j->output);
            const std::lock_guard lock(l->mutex);
            if (!l->open) return;
            boost::asio::post(l->home, [l, j = std::move(j)]() mutable {
                // On home, where `open` is written: no lock needed to read it.
                if (l->open) l->done(*j);
            });
        });
    }

    /// No result is delivered from now on. Call on the home executor (idempotent).
    void close() noexcept {
        done_fn dropped;
        boost::asio::any_io_executor home;
        {
            const std::lock_guard lock(link_->mutex);
            link_->open = false;
            std::swap(dropped, link_->done);
            std::swap(home, link_->home);
        }
    }

private:
    // What the workers share with the offload: it outlives the offload while jobs hold it.
    struct link {
        link(boost::asio::any_io_executor h, done_fn d) : home(std::move(h)), done(std::move(d)) {}
        std::mutex mutex;
        bool open = true;
        boost::asio::any_io_executor home;
        done_fn done;
    };

    boost::asio::any_io_executor workers_;
    std::shared_ptr<link> link_;
};

}  // namespace kwire::client::detail
