#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace kwire::peers {

namespace {

struct fd_closer {
    int fd = -1;
    ~fd_closer() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

void make_pipe(int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
}

}  // namespace

std::string process_result::describe() const {
    std::ostringstream s;
    if (timed_out) s << "timed out; ";
    if (signal) s << "killed by signal " << signal << "; ";
    else s << "exit code " << exit_code << "; ";
    s << "stderr: " << err.substr(0, 2000);
    return s.str();
}

bool program_available(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= p.size()) {
        const auto end = p.find(':', start);
        const auto dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
        const auto full = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (::access(full.c_str(), X_OK) == 0) return true;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return false;
}

process_result run_process(const std::vector<std::string>& argv, const std::string& input,
                           std::chrono::milliseconds timeout) {
    if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
    // A child that exits without reading all its stdin must not kill the test process: ignore
    // SIGPIPE for good (set once; nothing in the tests relies on it), and get EPIPE instead.
    static const bool sigpipe_ignored = [] {
        ::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)sigpipe_ignored;

    int in_pipe[2], out_pipe[2], err_pipe[2];
    make_pipe(in_pipe);
    fd_closer in_r{in_pipe[0]}, in_w{in_pipe[1]};
    make_pipe(out_pipe);
    fd_closer out_r{out_pipe[0]}, out_w{out_pipe[1]};
    make_pipe(err_pipe);
    fd_closer err_r{err_pipe[0]}, err_w{err_pipe[1]};

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);

    // Own process group, so a timeout kills the child and anything it started.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // we ignore it (above); the child gets the default back
    posix_spawnattr_setsigdefault(&attr, &defaults);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("posix_spawnp " + argv[0] + ": " + std::strerror(rc));

    in_r.reset();
    out_w.reset();
    err_w.reset();
    ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);


    process_result res;
    std::size_t written = 0;
    if (input.empty()) in_w.reset();
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    while (out_r.fd >= 0 || err_r.fd >= 0) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            res.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        pollfd fds[3];
        int n = 0;
        int idx_in = -1, idx_out = -1, idx_err = -1;
        if (in_w.fd >= 0) { idx_in = n; fds[n++] = {in_w.fd, POLLOUT, 0}; }
        if (out_r.fd >= 0) { idx_out = n; fds[n++] = {out_r.fd, POLLIN, 0}; }
        if (err_r.fd >= 0) { idx_err = n; fds[n++] = {err_r.fd, POLLIN, 0}; }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        const int pr = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left.count()) + 1);
        if (pr < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (idx_in >= 0 && fds[idx_in].revents) {
            if (fds[idx_in].revents & (POLLERR | POLLHUP)) {
                in_w.reset();
            } else {
                const auto w = ::write(in_w.fd, input.data() + written, input.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                else if (w < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();
                if (written == input.size()) in_w.reset();
            }
        }
        auto drain = [](fd_closer& f, std::string& sink) {
            char buf[65536];
            const auto r = ::read(f.fd, buf, sizeof buf);
            if (r > 0) sink.append(buf, static_cast<std::size_t>(r));
            else if (r == 0 || (errno != EAGAIN && errno != EINTR)) f.reset();
        };
        if (idx_out >= 0 && fds[idx_out].revents) drain(out_r, res.out);
        if (idx_err >= 0 && fds[idx_err].revents) drain(err_r, res.err);
    }
    in_w.reset();

    // The pipes are closed; give the child until the deadline to exit, then kill it.
    int status = 0;
    for (;;) {
        const auto w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            res.timed_out = true;
            ::kill(-pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        ::usleep(2000);
    }
    if (WIFEXITED(status)) {
        res.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res.signal = WTERMSIG(status);
    }
    return res;
}

}  // namespace kwire::peers
