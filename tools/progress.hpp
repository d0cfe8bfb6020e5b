// A progress line for long operations (producing a file, consuming to the end): on stderr, only
// when stderr is a terminal, redrawn once a second in place and erased at the end. Piped or
// redirected, it prints nothing, so scripts see only the command's own output.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace kwire::tools {

class progress_line {
public:
    progress_line(boost::asio::io_context& io, std::function<std::string()> text)
        : timer_(io), text_(std::move(text)), enabled_(::isatty(STDERR_FILENO) == 1) {}

    void start() {
        if (!enabled_ || running_) return;
        running_ = true;
        tick();
    }

    /// Stops redrawing and erases the line.
    void stop() {
        if (!running_) return;
        running_ = false;
        timer_.cancel();
        if (shown_) std::fputs("\r\033[K", stderr);
        shown_ = false;
    }

private:
    void tick() {
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || !running_) return;
            std::fprintf(stderr, "\r\033[K%s", text_().c_str());
            std::fflush(stderr);
            shown_ = true;
            tick();
        });
    }

    boost::asio::steady_timer timer_;
    std::function<std::string()> text_;
    bool enabled_;
    bool running_ = false;
    bool shown_ = false;
};

}  // namespace kwire::tools
