// How every public operation of the client and the admin client completes: on the handler's
// associated executor, never inside its initiating function, and with its cancellation slot
// wired and cleared. One place for it, so every operation behaves the same:
//
//   complete_posted(ex, h, args...)  from anywhere (also inside the initiating function, or a
//                                    cancellation handler): posted through the client's executor
//                                    `ex` first, then dispatched to the handler's executor.
//   complete_here(h, args...)        from the client's executor outside the initiating function
//                                    (a response, a timer): dispatched to the handler's executor,
//                                    or called right here for a handler without one (a plain
//                                    callback), with no type-erased dispatch (the send hot path).
//   on_cancel(h, types, f)           f() runs when the handler's slot emits one of `types`.
//   completion<Sig>                  a copyable callable owning the handler (for work passed
//                                    down as std::function): completes it once, posted; with
//                                    `types`, a cancellation completes it early with
//                                    operation_aborted while the work it started goes on and its
//                                    outcome is dropped.
//
// Cancellation slots: a handler's slot is cleared just before it runs (as Asio's own operations
// do), in the posted step, so a cancellation handler never destroys itself while running. A
// cancellation that arrives between completion and that moment finds nothing to cancel.
// Cancellation must be emitted on the client's executor (as for any Asio I/O object).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <system_error>
#include <optional>
#include <utility>

namespace kwire::client::detail {

namespace net = boost::asio;

/// The cancellation types an operation that only stops waiting accepts: terminal and partial
/// (the work it started may still take effect, so never `total`).
inline constexpr net::cancellation_type stop_waiting = net::cancellation_type::terminal | net::cancellation_type::partial;
/// Every type: the operation is undone entirely (nothing happened).
inline constexpr net::cancellation_type undone = net::cancellation_type::terminal | net::cancellation_type::partial |
                                                   net::cancellation_type::total;

inline boost::system::error_code operation_aborted() noexcept {
    return boost::system::error_code(net::error::operation_aborted);
}

/// The error a handler sees. The internals speak std::error_code; at the boundary std's system
/// and generic codes become Boost's own, so that `ec == boost::asio::error::operation_aborted`
/// holds however the error was made (Boost compares a wrapped std code with its own categories
/// as unequal). kwire's categories travel inside the Boost code, unchanged.
inline boost::system::error_code api_error(const std::error_code& ec) noexcept {
    if (ec.category() == std::system_category()) return {ec.value(), boost::system::system_category()};
    if (ec.category() == std::generic_category()) return {ec.value(), boost::system::generic_category()};
    return ec;
}
inline boost::system::error_code api_error(const boost::system::error_code& ec) noexcept { return ec; }

/// Runs `h(args...)` on its associated executor. Any executor of the handler's own is used
/// through dispatch; without one (the system executor) the handler is called right here.
template <class Handler, class... Args> void complete_here(Handler h, Args... args) {
    net::get_associated_cancellation_slot(h).clear();
    auto assoc = net::get_associated_executor(h);
    if (assoc.template target<net::system_executor>() != nullptr) return std::move(h)(std::move(args)...);
    net::dispatch(assoc, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
}

/// Runs `h(args...)` after a post through `ex` (never inline), on the handler's executor.
template <class Handler, class... Args> void complete_posted(const net::any_io_executor& ex, Handler h, Args... args) {
    net::post(ex, [h = std::move(h), ... args = std::move(args)]() mutable {
        net::get_associated_cancellation_slot(h).clear();
        auto assoc = net::get_associated_executor(h);
        net::dispatch(assoc, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
    });
}

/// f() runs when the handler's cancellation slot emits a type in `types`. Nothing is installed
/// (and nothing allocated) when the slot is not connected.
template <class Handler, class F> void on_cancel(Handler& h, net::cancellation_type types, F f) {
    auto slot = net::get_associated_cancellation_slot(h);
    if (!slot.is_connected()) return;
    struct canceller {
        net::cancellation_type types;
        F f;
        void operator()(net::cancellation_type t) {
            if ((t & types) != net::cancellation_type::none) f();
        }
    };
    slot.template emplace<canceller>(canceller{types, std::move(f)});
}

template <class Sig> class completion;

/// See the top of this file. Every signature starts with the error.
template <class... Rest> class completion<void(boost::system::error_code, Rest...)> {
public:
    using handler_type = net::any_completion_handler<void(boost::system::error_code, Rest...)>;

    /// `types`: the cancellation types that end the wait (none: not cancellable); `cancelled`
    /// runs first when one does, for the owner to forget the operation.
    completion(net::any_io_executor ex, handler_type h, net::cancellation_type types = net::cancellation_type::none,
               std::function<void()> cancelled = {})
        : s_(std::make_shared<state>(std::move(ex), std::move(h), std::move(cancelled))) {
        if (types == net::cancellation_type::none) return;
        on_cancel(*s_->handler, types, [weak = std::weak_ptr<state>(s_)] {
            auto s = weak.lock();
            if (!s || !s->handler) return;
            if (s->cancelled) s->cancelled();
            s->finish(operation_aborted(), Rest{}...);
        });
    }

    /// Completes the handler (posted), unless it already was (or was cancelled).
    template <class... A> void operator()(A&&... args) const { s_->finish(std::forward<A>(args)...); }
    /// Whether the handler is still waiting.
    bool pending() const noexcept { return s_->handler.has_value(); }

private:
    struct state {
        state(net::any_io_executor e, handler_type h, std::function<void()> c)
            : ex(std::move(e)), cancelled(std::move(c)) {
            handler.emplace(std::move(h));  // move-constructed: Boost 1.81's move assignment recurses
        }
        template <class E, class... A> void finish(E&& ec, A&&... args) {
            if (!handler) return;
            handler_type h(std::move(*handler));
            handler.reset();
            complete_posted(ex, std::move(h), api_error(std::forward<E>(ec)), Rest(std::forward<A>(args))...);
        }
        net::any_io_executor ex;
        std::optional<handler_type> handler;
        std::function<void()> cancelled;
    };
    std::shared_ptr<state> s_;
};

template <class Sig> completion(net::any_io_executor, net::any_completion_handler<Sig>) -> completion<Sig>;
template <class Sig, class... Rest>
completion(net::any_io_executor, net::any_completion_handler<Sig>, Rest&&...) -> completion<Sig>;

}  // namespace kwire::client::detail
