// What the observability tests share: a log handler that keeps every line as
// "LEVEL context: message", and counts the lines holding a text.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "kwire/client/log.hpp"

namespace kwire::test {

struct log_capture {
    std::mutex mutex;
    std::vector<std::string> lines;
    client::log_handler handler() {
        return [this](const client::log_record& r) {
            std::lock_guard lock(mutex);
            lines.push_back(std::string(to_string(r.level)) + " " + std::string(to_string(r.context)) + ": " +
                            std::string(r.message));
        };
    }
    std::size_t count(const std::string& text) {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& l : lines) n += l.find(text) != std::string::npos;
        return n;
    }
};

}  // namespace kwire::test
