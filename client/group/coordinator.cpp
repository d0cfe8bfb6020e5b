// Finding the group coordinator (FindCoordinator), with the waiters that need it and the backoff
// between failed lookups. See coordinator.hpp.
#include "group/coordinator.hpp"

#include "group/group_errors.hpp"
#include "observe/logger.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"

namespace kwire::client::detail {

coordinator::coordinator(consumer_core& core)
    : core_(core), lookup_(backoff(core.cfg.retry_backoff, core.cfg.retry_backoff_max)), retry_timer_(core.ex) {}

std::shared_ptr<broker_connection> coordinator::broker() const { return core_.brokers->broker(lookup_.node()); }

void coordinator::with(std::function<void(std::error_code)> then) {
    if (core_.closed) return then(make_error_code(client_errc::closed));
    if (lookup_.node() >= 0 && broker()) return then({});
    waiters_.push_back(std::move(then));
    if (!finding_) find();
}

void coordinator::find() {
    finding_ = true;
    auto conn = core_.brokers->any_broker();
    if (!conn) {
        finding_ = false;
        return retry_later();
    }
    protocol::FindCoordinatorRequest req;
    req.key = core_.cfg.group_id;
    req.key_type = 0;
    conn->request(
        std::move(req),
        [this, keep = core_.keep()](std::error_code ec, protocol::FindCoordinatorResponse resp, std::int16_t) {
            finding_ = false;
            if (core_.closed) return;
            if (!ec && resp.error_code != 0) ec = kafka_error(resp.error_code);
            if (ec) {
                const auto action =
                    classify_group_error(group_api::find_coordinator, resp.error_code, resp.error_code == 0);
                if (action == group_action::fatal) {
                    core_.set_fatal(ec);
                    auto waiters = std::move(waiters_);
                    waiters_.clear();
                    for (auto& w : waiters) w(ec);
                    return;
                }
                return retry_later();
            }
            core_.brokers->add_broker({resp.node_id, resp.host, static_cast<std::uint16_t>(resp.port), std::nullopt});
            if (resp.node_id != last_found_)
                KWIRE_LOG(core_.brokers->log(), log_level::info, log_context::group,
                          "group " + core_.cfg.group_id + ": coordinator is broker " + std::to_string(resp.node_id) +
                              " (" + resp.host + ":" + std::to_string(resp.port) + ")" +
                              (last_found_ >= 0 ? ", was broker " + std::to_string(last_found_) : std::string()));
            last_found_ = resp.node_id;
            lookup_.found(resp.node_id);
            release();
        },
        {.min_version = 0, .max_version = 3});
}

void coordinator::retry_later() {
    retry_timer_.expires_after(lookup_.failed());
    retry_timer_.async_wait([this, keep = core_.keep()](std::error_code e) {
        if (e || core_.closed) return;
        release();
    });
}

void coordinator::release() {
    // Each waiter asks again: the coordinator may still be unknown (then one lookup goes for all).
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) with(std::move(w));
}

void coordinator::cancel() { retry_timer_.cancel(); }

}  // namespace kwire::client::detail
