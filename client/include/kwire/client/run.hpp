// Running the application's io_context for latency: busy-poll before blocking.
//
// kwire has no threads of its own; whoever runs the executor decides how a thread waits for
// I/O. io_context::run() blocks in epoll_wait as soon as nothing is ready, so every response
// wakes a sleeping thread (on a virtual machine that is an inter-processor interrupt and a VM
// exit, often tens of microseconds). run_spinning() keeps polling for up to `spin` after the last
// handler ran before it blocks: a thread that awaits one acknowledgement at a time never sleeps
// between them, at the price of one busy core while traffic flows. It idles again (blocks) once
// `spin` passes with nothing to do. Between polls it yields the CPU (sched_yield), so a thread
// the scheduler wakes on this CPU -- the broker, or any peer this thread just wrote to -- runs at
// once instead of at the end of the spinner's time slice (without the yield, p99 latency in
// kwire-bench went from ~30 us to ~220 us whenever that happened). Spinning pays off on a core
// of its own; on a machine short of cores, blocking may do better.
#pragma once

#include <chrono>
#include <cstddef>

namespace boost::asio {
class io_context;
}

namespace kwire {

/// Runs `io` as io_context::run() does -- returning when it runs out of work or is stopped, with
/// the number of handlers run -- but polls for up to `spin` (measured from the last handler)
/// before each blocking wait. `spin` of zero is run().
std::size_t run_spinning(boost::asio::io_context& io, std::chrono::nanoseconds spin);

}  // namespace kwire
