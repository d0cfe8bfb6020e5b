// Child processes read line by line (support_process_group.hpp): fork and exec, one reader
// thread per pipe, waitpid.
#include "support_process_group.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace kwire::test {

namespace {

/// Closes every descriptor but stdin, stdout and stderr, between fork and exec (a syscall: safe
/// there). The test process holds the chaos proxy's and the scripted brokers' sockets, opened
/// without close-on-exec; a member that inherited them kept those connections alive after the
/// proxy closed them. Its "reset" (close with SO_LINGER 0) then reset nothing -- the last close
/// is what sends the RST, and that came only when the member exited -- so a client on the other
/// end of a killed connection waited for its request timeout. (A clean close worked: shutdown()
/// sends the FIN whoever else holds the socket.)
void close_inherited_descriptors() noexcept {
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
}

}  // namespace

child_process::child_process(const std::vector<std::string>& argv) {
    if (argv.empty()) throw std::invalid_argument("child_process: empty argv");
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    started_ = chaos_clock::now();
    // fork and exec rather than posix_spawn, for PR_SET_PDEATHSIG: a member must not outlive a
    // test process that dies without running destructors (librdkafka's mock aborts on some
    // assertions), or it would poll a dead proxy forever. (The signal follows the thread that
    // forked: the scenarios start members from the test's own thread.) Between fork and exec the
    // child only makes async-signal-safe calls.
    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
        const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(127);
        close_inherited_descriptors();
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(out[1]);
    ::close(err[1]);
    if (pid_ < 0) {
        ::close(out[0]);
        ::close(err[0]);
        throw std::runtime_error("fork for " + argv[0] + ": " + std::strerror(fork_errno));
    }
    out_reader_ = std::thread([this, fd = out[0]] { read_loop(fd, true); });
    err_reader_ = std::thread([this, fd = err[0]] { read_loop(fd, false); });
}

child_process::~child_process() { finish(); }

void child_process::finish() {
    if (running()) signal(SIGKILL);
    reap_blocking();
    // The pipes reach their end once the child (their only writer) is gone.
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
}

void child_process::read_loop(int fd, bool is_stdout) {
    char buf[16384];
    for (;;) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        const auto now = chaos_clock::now();
        std::lock_guard lock(mutex_);
        if (!is_stdout) {
            if (err_.size() < (1u << 20)) err_.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        partial_.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
            lines_.push_back({partial_.substr(start, nl - start), now});
            start = nl + 1;
        }
        partial_.erase(0, start);
    }
    ::close(fd);
    if (is_stdout) {
        std::lock_guard lock(mutex_);
        truncated_ = partial_.size();
    }
}

void child_process::signal(int sig) {
    if (pid_ > 0 && status_ == -1) ::kill(pid_, sig);
}

bool child_process::running() {
    if (status_ != -1) return false;
    int st = 0;
    const auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) status_ = st;
    return status_ == -1;
}

int child_process::wait(std::chrono::milliseconds timeout) {
    const auto limit = chaos_clock::now() + timeout;
    while (running() && chaos_clock::now() < limit) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return status_;
}

void child_process::reap_blocking() {
    if (status_ != -1) return;
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
}

std::vector<captured_line> child_process::lines(std::size_t from) const {
    std::lock_guard lock(mutex_);
    if (from >= lines_.size()) return {};
    return {lines_.begin() + static_cast<std::ptrdiff_t>(from), lines_.end()};
}

std::size_t child_process::line_count() const {
    std::lock_guard lock(mutex_);
    return lines_.size();
}

std::string child_process::err() const {
    std::lock_guard lock(mutex_);
    return err_;
}

std::size_t child_process::truncated() const {
    std::lock_guard lock(mutex_);
    return truncated_;
}

}  // namespace kwire::test
