// Runs an external program (kcat, tshark) with a hard deadline: feeds it stdin, captures stdout
// and stderr, and kills it if it overstays. Used only by the peer tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace kwire::peers {

struct process_result {
    int exit_code = -1;      // exit status, or -1 if killed by a signal
    int signal = 0;          // the signal that ended it, 0 if it exited
    bool timed_out = false;  // we killed it because the deadline passed
    std::string out;
    std::string err;

    bool ok() const noexcept { return !timed_out && signal == 0 && exit_code == 0; }
    /// One-line summary for assertion messages.
    std::string describe() const;
};

/// Runs argv[0] (looked up in PATH) with the given arguments. `input` is written to its stdin,
/// which is then closed. Never throws for a failing child; throws std::runtime_error only if the
/// process cannot be started at all.
process_result run_process(const std::vector<std::string>& argv, const std::string& input = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Whether `program` can be found in PATH.
bool program_available(const std::string& program);

}  // namespace kwire::peers
