// What the consumer integration tests share: a test-driven poll loop that records every record.
#pragma once

#include <boost/asio/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kwire/client/consumer.hpp"
#include "support_log_check.hpp"

namespace kwire::test {

inline std::string str(const std::optional<kwire::protocol::bytes_view>& v) {
    return v ? std::string(v->as_string()) : std::string("<null>");
}

/// A consumer driven by the test: polls continuously, records every record, and calls `on`
/// for each (which may ack it).
struct driver {
    explicit driver(kwire::consumer& consumer) : c(consumer) {}
    kwire::consumer& c;
    std::function<void(const kwire::consumer_record&)> on = [](const kwire::consumer_record& r) { r.ack(); };
    std::vector<std::tuple<std::string, std::int32_t, std::int64_t, std::string>> seen;  // topic, partition, offset, value
    std::error_code error;
    bool stopped = false;
    bool polling = false;

    void start() {
        if (stopped || polling) return;
        polling = true;
        c.poll(std::chrono::milliseconds(100), [this](std::error_code ec, kwire::record_batch b) {
            polling = false;
            if (ec) {
                if (ec != std::error_code(boost::asio::error::make_error_code(boost::asio::error::operation_aborted)))
                    error = ec;
                return;
            }
            for (const auto& r : b) {
                seen.emplace_back(std::string(r.topic), r.partition, r.offset, str(r.value));
                on(r);
            }
            start();
        });
    }
    std::size_t count() const { return seen.size(); }
};

}  // namespace kwire::test
