// The admin client's inside: the cluster (connections and metadata, shared with the producer's
// code), the routes to controller and coordinators, and the frame every call shares
// (admin_call): one deadline for the call, backoff between attempts, completion on the user's
// executor.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/backoff.hpp"
#include "core/completion.hpp"
#include "net/cluster.hpp"
#include "kwire/admin/admin.hpp"
#include "routing.hpp"

namespace kwire::admin::detail {

namespace net = boost::asio;
using client::detail::broker_connection;
using client::detail::clock;
using conn_ptr = std::shared_ptr<broker_connection>;
using route_done = std::function<void(std::error_code, conn_ptr)>;

class admin_impl : public std::enable_shared_from_this<admin_impl> {
public:
    admin_impl(net::any_io_executor ex, admin_config cfg);
    ~admin_impl();

    net::any_io_executor ex;
    admin_config cfg;
    std::shared_ptr<client::detail::cluster> cluster;
    bool closed = false;

    void close();

    /// Metadata for `topics` (empty: every topic), fresh from a broker.
    void metadata(std::vector<std::string> topics, client::detail::cluster::fetch_done done);
    /// The controller, from fresh metadata (any broker if the metadata names none: v0).
    void controller(std::vector<std::string> topics, route_done done);
    /// The coordinator of `group` (FindCoordinator; cached until forget_coordinator).
    void coordinator(const std::string& group, route_done done);
    void forget_coordinator(const std::string& group) { coordinators_.erase(group); }

private:
    std::map<std::string, std::int32_t> coordinators_;
};

template <class Sig> struct result_of_signature;
template <class R> struct result_of_signature<void(boost::system::error_code, R)> {
    using type = R;
};

/// What every call shares: the handler, the deadline (default.api.timeout.ms, with a timer, so a
/// broker that never answers does not stretch the call), and the backoff between attempts.
/// Derived supplies run() (one attempt) and timed_out() (the deadline passed: finish with what
/// there is).
template <class Derived, class Sig>
class admin_call : public std::enable_shared_from_this<Derived> {
public:
    using result_type = typename result_of_signature<Sig>::type;

    // Cancellation ends the call with operation_aborted and stops its retries; a request already
    // sent is not recalled (see admin.hpp).
    admin_call(impl_ptr i, handler<Sig> h)
        : impl(std::move(i)),
          done_(impl->ex, std::move(h), client::detail::stop_waiting, [this] { stop(); }),
          retry_timer_(impl->ex),
          deadline_timer_(impl->ex),
          schedule_(client::detail::backoff(impl->cfg.retry_backoff, impl->cfg.retry_backoff_max),
                    clock::now() + impl->cfg.api_timeout) {}

    void start() {
        if (impl->closed) return finish(make_error_code(client::client_errc::closed), result_type{});
        deadline_timer_.expires_at(schedule_.deadline());
        deadline_timer_.async_wait([s = this->shared_from_this()](std::error_code ec) {
            if (!ec && !s->finished_) s->timed_out();
        });
        self()->run();
    }

protected:
    bool late() const { return schedule_.expired(clock::now()); }
    bool finished() const { return finished_; }

    /// Another attempt after the backoff, or timed_out() if the deadline has passed.
    void retry() {
        if (finished_) return;
        const auto wait = impl->closed ? std::nullopt : schedule_.next(clock::now());
        if (!wait) return self()->timed_out();
        retry_timer_.expires_after(*wait);
        retry_timer_.async_wait([s = this->shared_from_this()](std::error_code ec) {
            if (!ec && !s->finished_) s->run();
        });
    }

    template <class... Args> void finish(Args... args) {
        if (finished_) return;
        stop();
        done_(std::move(args)...);
    }

    impl_ptr impl;

private:
    Derived* self() { return static_cast<Derived*>(this); }
    void stop() {
        finished_ = true;
        retry_timer_.cancel();
        deadline_timer_.cancel();
    }
    client::detail::completion<Sig> done_;
    net::steady_timer retry_timer_;
    net::steady_timer deadline_timer_;
    client::detail::retry_deadline schedule_;  // default.api.timeout.ms, and the backoff between attempts
    bool finished_ = false;
};

}  // namespace kwire::admin::detail
