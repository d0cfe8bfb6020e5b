// The group coordinator: finding it (FindCoordinator, retried after retry.backoff.ms), forgetting
// it when a group request says it moved, and the consumer's fatal group error. Membership (classic
// and KIP-848) and offset commits all reach the coordinator through with_coordinator.
#include "consumer/consumer_impl.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"

namespace kwire::client::detail {

// --- coordinator -----------------------------------------------------------------------------

void consumer_impl::with_coordinator(std::function<void(std::error_code)> then) {
    if (closed_) return then(make_error_code(client_errc::closed));
    if (coordinator_ >= 0 && cluster_->broker(coordinator_)) return then({});
    coordinator_waiters_.push_back(std::move(then));
    if (finding_coordinator_) return;
    finding_coordinator_ = true;
    auto conn = cluster_->any_broker();
    auto self = shared_from_this();
    auto retry = [self] {
        self->rejoin_timer_.expires_after(self->cfg_.retry_backoff);
        self->rejoin_timer_.async_wait([self](std::error_code e) {
            if (e || self->closed_) return;
            auto waiters = std::move(self->coordinator_waiters_);
            self->coordinator_waiters_.clear();
            for (auto& w : waiters) self->with_coordinator(std::move(w));
        });
    };
    if (!conn) {
        finding_coordinator_ = false;
        return retry();
    }
    protocol::FindCoordinatorRequest req;
    req.key = cfg_.group_id;
    req.key_type = 0;
    conn->request(std::move(req), [self, retry](std::error_code ec, protocol::FindCoordinatorResponse resp, std::int16_t) {
        self->finding_coordinator_ = false;
        if (self->closed_) return;
        if (!ec && resp.error_code != 0) ec = kafka_error(resp.error_code);
        if (ec) {
            const auto action = classify_group_error(group_api::find_coordinator, resp.error_code, resp.error_code == 0);
            if (action == group_action::fatal) {
                self->set_fatal(ec);
                auto waiters = std::move(self->coordinator_waiters_);
                self->coordinator_waiters_.clear();
                for (auto& w : waiters) w(ec);
                return;
            }
            return retry();
        }
        self->cluster_->add_broker({resp.node_id, resp.host, static_cast<std::uint16_t>(resp.port), std::nullopt});
        self->coordinator_ = resp.node_id;
        auto waiters = std::move(self->coordinator_waiters_);
        self->coordinator_waiters_.clear();
        for (auto& w : waiters) self->with_coordinator(std::move(w));
    }, {.min_version = 0, .max_version = 3});
}

void consumer_impl::coordinator_lost() { coordinator_ = -1; }

void consumer_impl::set_fatal(std::error_code ec) {
    if (!fatal_) fatal_ = ec;
    try_complete_poll();
}

}  // namespace kwire::client::detail
