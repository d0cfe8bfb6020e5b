// The logger (observe/logger.hpp) and the public helpers of kwire/client/log.hpp: level and
// context names, the `debug` list, the stderr handler.
#include "observe/logger.hpp"

#include "core/settings.hpp"

#include <cstdio>
#include <utility>

namespace kwire::client {

std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::error: return "ERROR";
        case log_level::warn: return "WARN";
        case log_level::info: return "INFO";
        case log_level::debug: return "DEBUG";
    }
    return "?";
}

std::string_view to_string(log_context context) noexcept {
    switch (context) {
        case log_context::broker: return "broker";
        case log_context::metadata: return "metadata";
        case log_context::producer: return "producer";
        case log_context::consumer: return "consumer";
        case log_context::group: return "group";
        case log_context::security: return "security";
    }
    return "?";
}

std::optional<log_contexts> parse_log_contexts(std::string_view list, std::string* bad) {
    struct alias {
        std::string_view name;
        log_contexts bits;
    };
    static constexpr alias names[] = {
        {"all", all_log_contexts},
        {"broker", log_context_bit(log_context::broker)},
        {"protocol", log_context_bit(log_context::broker)},
        {"msg", log_context_bit(log_context::broker)},
        {"metadata", log_context_bit(log_context::metadata)},
        {"topic", log_context_bit(log_context::metadata)},
        {"producer", log_context_bit(log_context::producer)},
        {"eos", log_context_bit(log_context::producer)},
        {"consumer", log_context_bit(log_context::consumer)},
        {"fetch", log_context_bit(log_context::consumer)},
        {"group", log_context_bit(log_context::group)},
        {"cgrp", log_context_bit(log_context::group)},
        {"security", log_context_bit(log_context::security)},
    };
    log_contexts out = 0;
    for (const auto& item : detail::split_list(list)) {
        bool found = false;
        for (const auto& a : names)
            if (a.name == item) {
                out |= a.bits;
                found = true;
            }
        if (!found) {
            if (bad) *bad = item;
            return std::nullopt;
        }
    }
    return out;
}

log_handler stderr_log_handler(std::string prefix) {
    return [prefix = std::move(prefix)](const log_record& r) {
        const auto level = to_string(r.level);
        const auto context = to_string(r.context);
        std::fprintf(stderr, "%s: %.*s [%.*s] %.*s: %.*s\n", prefix.c_str(), static_cast<int>(level.size()),
                     level.data(), static_cast<int>(context.size()), context.data(),
                     static_cast<int>(r.client_id.size()), r.client_id.data(), static_cast<int>(r.message.size()),
                     r.message.data());
    };
}

namespace detail {

logger::logger(log_config cfg, std::string client_id)
    : on_(static_cast<bool>(cfg.handler)),
      level_(cfg.level),
      debug_(cfg.level == log_level::debug && cfg.debug == 0 ? all_log_contexts : cfg.debug),
      repeat_interval_(cfg.repeat_interval),
      handler_(std::move(cfg.handler)),
      client_id_(std::move(client_id)) {}

void logger::write(log_level level, log_context context, std::string_view message) const {
    if (handler_) handler_(log_record{level, context, client_id_, message});
}

void logger::write_limited(log_level level, log_context context, std::string_view key, std::string_view message,
                           clock::time_point now) {
    std::uint64_t suppressed = 0;
    {
        std::lock_guard lock(mutex_);
        // Bounded: keys are per broker and kind of failure, but a client that met thousands of
        // addresses should not keep them all.
        if (repeats_.size() > 4096) repeats_.clear();
        auto [it, fresh] = repeats_.try_emplace(std::string(key));
        auto& r = it->second;
        if (!fresh && now - r.last < repeat_interval_) {
            ++r.suppressed;
            return;
        }
        suppressed = std::exchange(r.suppressed, 0);
        r.last = now;
    }
    if (suppressed == 0) return write(level, context, message);
    std::string text(message);
    text += " (" + std::to_string(suppressed) + " similar message" + (suppressed == 1 ? "" : "s") + " suppressed)";
    write(level, context, text);
}

}  // namespace detail
}  // namespace kwire::client
