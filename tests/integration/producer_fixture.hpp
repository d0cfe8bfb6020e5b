// What the producer integration tests share: a byte view of a string, a producer configuration
// for a mock cluster, and (from support_log_check.hpp) run_until.
#pragma once

#include <chrono>
#include <string>

#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "support_log_check.hpp"

namespace kwire::test {

inline protocol::bytes_view bv(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Every broker of `mc`, a short linger, and a delivery timeout long enough for a loaded machine.
inline producer_config config_for(const peers::mock_cluster& mc) {
    producer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.linger = std::chrono::milliseconds(2);
    cfg.delivery_timeout = std::chrono::seconds(20);
    return cfg;
}

}  // namespace kwire::test
