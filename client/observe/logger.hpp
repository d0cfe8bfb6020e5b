// A client's logger (the runtime side of kwire/client/log.hpp): the enabled() check every log
// site makes before it formats anything, and the rate limit for repeated messages.
//
//   KWIRE_LOG(log, log_level::warn, log_context::broker, "connection to " + address + " refused");
//
// formats the message (the macro's last argument) only when that level and context are on; with
// no handler configured enabled() is one load and a compare.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kwire/client/log.hpp"

namespace kwire::client::detail {

class logger {
public:
    using clock = std::chrono::steady_clock;

    logger() = default;
    logger(log_config cfg, std::string client_id);

    bool enabled(log_level level, log_context context) const noexcept {
        if (!on_) return false;
        if (level != log_level::debug) return level <= level_;
        return (debug_ & log_context_bit(context)) != 0;
    }

    /// Hands the message to the handler (the caller checked enabled()).
    void write(log_level level, log_context context, std::string_view message) const;

    /// The same, at most once per repeat_interval for the same `key` (for example "connect
    /// 127.0.0.1:1"): the others are counted, and the next message that passes ends with
    /// "(N similar messages suppressed)". `now` is for tests.
    void write_limited(log_level level, log_context context, std::string_view key, std::string_view message,
                       clock::time_point now = clock::now());

private:
    struct repeat {
        clock::time_point last{};
        std::uint64_t suppressed = 0;
    };

    bool on_ = false;
    log_level level_ = log_level::warn;
    log_contexts debug_ = 0;
    clock::duration repeat_interval_{};
    log_handler handler_;
    std::string client_id_;
    std::mutex mutex_;  // repeats_: a client's executor may run on several threads
    std::unordered_map<std::string, repeat> repeats_;
};

}  // namespace kwire::client::detail

/// Logs `message` (an expression, evaluated only if enabled) through `lg` (a logger*, may be null).
#define KWIRE_LOG(lg, level, context, message)                                                       \
    do {                                                                                             \
        if (auto* kwire_log_ = (lg); kwire_log_ && kwire_log_->enabled((level), (context)))          \
            kwire_log_->write((level), (context), (message));                                        \
    } while (0)

/// The same, rate-limited per `key` (an expression, evaluated only if enabled).
#define KWIRE_LOG_LIMITED(lg, level, context, key, message)                                          \
    do {                                                                                             \
        if (auto* kwire_log_ = (lg); kwire_log_ && kwire_log_->enabled((level), (context)))          \
            kwire_log_->write_limited((level), (context), (key), (message));                         \
    } while (0)
