// run_spinning (see kwire/client/run.hpp): busy-polling an io_context before blocking.
#include "kwire/client/run.hpp"

#include <boost/asio/io_context.hpp>

#include <thread>

namespace kwire {

std::size_t run_spinning(boost::asio::io_context& io, std::chrono::nanoseconds spin) {
    if (spin <= std::chrono::nanoseconds::zero()) return io.run();
    using clock = std::chrono::steady_clock;
    std::size_t handlers = 0;
    while (!io.stopped()) {
        if (const auto n = io.poll(); n > 0) {
            handlers += n;
            continue;
        }
        // Nothing ready: keep polling until `spin` has passed, then block for the next handler.
        // poll() also stops the context when it has no work left, which ends both loops.
        const auto until = clock::now() + spin;
        std::size_t n = 0;
        while (n == 0 && !io.stopped() && clock::now() < until) {
            // Let a thread the scheduler woke on this CPU (the peer this thread just wrote to)
            // run at once, instead of waiting for the end of this thread's time slice.
            std::this_thread::yield();
            n = io.poll();
        }
        if (n == 0 && !io.stopped()) n = io.run_one();
        handlers += n;
    }
    return handlers;
}

}  // namespace kwire
