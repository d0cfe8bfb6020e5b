// Child processes for the chaos scenarios: started, read line by line while they run, killed
// with any signal (SIGKILL: a crash that never leaves its group) and reaped.
//
// What "printed" means: a line counts once it has reached the pipe. A SIGKILLed child loses
// what sat in its own stdio buffer, never what it had written to the pipe (the pipe buffer is
// the kernel's, and is read to its end after the child died). A child killed in the middle of
// a write may leave a last line without its newline: such a tail is not a line (truncated()).
// `kwire consume` flushes stdout before it acknowledges what it printed, so whatever its group
// committed reached the pipe first.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kwire::test {

using chaos_clock = std::chrono::steady_clock;

struct captured_line {
    std::string text;          ///< without its newline
    chaos_clock::time_point at;  ///< when the test read it (the child wrote it earlier)
};

class child_process {
public:
    /// Starts argv[0] (a path) with stdin from /dev/null, stdout and stderr captured. Throws
    /// std::runtime_error if it cannot be started.
    explicit child_process(const std::vector<std::string>& argv);
    /// SIGKILLs the child if it still runs, reaps it, and reads its pipes to their end.
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    chaos_clock::time_point started() const noexcept { return started_; }

    void signal(int sig);
    /// SIGKILLs the child if it still runs, reaps it and reads its pipes to their end: lines()
    /// and err() then hold everything it wrote. (The destructor does the same.)
    void finish();
    /// Whether the child has not exited yet (reaps it if it has).
    bool running();
    /// Waits up to `timeout` for the child to exit; its wait status, or -1 if it still runs.
    int wait(std::chrono::milliseconds timeout);
    /// The wait status once reaped (-1 before).
    int status() const noexcept { return status_; }
    /// The complete stdout lines read from index `from` on (safe while the child runs).
    std::vector<captured_line> lines(std::size_t from = 0) const;
    std::size_t line_count() const;
    std::string err() const;
    /// Bytes of a last stdout line that never got its newline (a child killed mid-write).
    std::size_t truncated() const;

private:
    void read_loop(int fd, bool is_stdout);
    void reap_blocking();

    pid_t pid_ = -1;
    int status_ = -1;
    chaos_clock::time_point started_;
    mutable std::mutex mutex_;
    std::vector<captured_line> lines_;
    std::string partial_, err_;
    std::size_t truncated_ = 0;
    std::thread out_reader_, err_reader_;
};

}  // namespace kwire::test
