// Logging for every client (producer, consumer, admin): a handler the application gives in the
// client's configuration (connection_config::log), called with a level, a context (which part of
// the client speaks), the client id and the message. Nothing is formatted when a message's level
// or context is off: the check comes first, and costs a comparison.
//
// Levels and contexts follow the C client's `log_level` and `debug` properties: errors, warnings
// and (with log_level=6 or more) informational messages are logged for every context; debug
// messages only for the contexts `debug` names ("broker,metadata", or "all").
//
// Repeated messages are rate-limited: the same failure (for example, connecting to the same broker)
// is logged at most once per log_config::repeat_interval; the next one that passes says how many
// were suppressed meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kwire::client {

enum class log_level : std::uint8_t { error = 0, warn = 1, info = 2, debug = 3 };

/// Which part of a client a message comes from.
enum class log_context : std::uint8_t { broker, metadata, producer, consumer, group, security };
inline constexpr unsigned log_context_count = 6;

/// A set of contexts: bit (1 << context).
using log_contexts = std::uint32_t;
constexpr log_contexts log_context_bit(log_context c) noexcept { return log_contexts{1} << static_cast<unsigned>(c); }
inline constexpr log_contexts all_log_contexts = (log_contexts{1} << log_context_count) - 1;

std::string_view to_string(log_level level) noexcept;    ///< "ERROR", "WARN", "INFO", "DEBUG"
std::string_view to_string(log_context context) noexcept;  ///< "broker", "metadata", ...

/// One message. The views are valid only during the handler's call.
struct log_record {
    log_level level;
    log_context context;
    std::string_view client_id;
    std::string_view message;
};

/// Called on the client's executor (so never concurrently for one client), once per message.
using log_handler = std::function<void(const log_record&)>;

/// connection_config::log: what a client logs, and where to.
struct log_config {
    log_handler handler;                 ///< empty (the default): nothing is logged, at no cost
    /// log_level: the most verbose level logged; the property takes the C client's syslog numbers
    /// (3 error, 4 warning, 5-6 info, 7 debug) or the names error, warn, info, debug.
    log_level level = log_level::warn;
    /// debug: the contexts whose debug messages are logged (the property: "broker,metadata",
    /// "all"). Empty with level debug: every context.
    log_contexts debug = 0;
    /// The same repeated message at most once per this interval (at least 0: 0 turns it off).
    std::chrono::milliseconds repeat_interval{10000};
};

/// Parses a `debug` list ("broker,metadata", "all", "" for none). On an unknown name returns
/// nullopt and sets `*bad` (if given) to it. Accepts the C client's "protocol" and "msg" as
/// broker, "topic" as metadata, "cgrp" as group, "fetch" as consumer.
std::optional<log_contexts> parse_log_contexts(std::string_view list, std::string* bad = nullptr);

/// A handler writing "kwire: WARN [broker] client-id: message" lines to stderr (what the kwire
/// command line uses).
log_handler stderr_log_handler(std::string prefix = "kwire");

}  // namespace kwire::client
