// An executor whose work runs only when the test says so, in the order it says: a stand-in for a
// compression thread pool that can be made slow, stalled, or to finish jobs out of order.
// Single-threaded: post to it and run it from the test's thread.
#pragma once

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace kwire::test {

class manual_executor_queue {
public:
    class executor_type {
    public:
        explicit executor_type(manual_executor_queue& q) noexcept : q_(&q) {}
        boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept { return q_->context_; }
        static constexpr boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) noexcept {
            return boost::asio::execution::blocking.never;
        }
        executor_type require(boost::asio::execution::blocking_t::never_t) const noexcept { return *this; }
        template <class F> void execute(F f) const { q_->push(std::move(f)); }
        friend bool operator==(const executor_type& a, const executor_type& b) noexcept { return a.q_ == b.q_; }
        friend bool operator!=(const executor_type& a, const executor_type& b) noexcept { return a.q_ != b.q_; }

    private:
        manual_executor_queue* q_;
    };

    executor_type get_executor() noexcept { return executor_type(*this); }
    std::size_t pending() const noexcept { return jobs_.size(); }

    /// Runs what is queued now, first to last (or last to first), and returns how many ran.
    std::size_t run_all(bool reverse = false) {
        auto jobs = std::move(jobs_);
        jobs_.clear();
        if (reverse)
            for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) (*it)->run();
        else
            for (auto& j : jobs) j->run();
        return jobs.size();
    }
    /// Runs the job queued last (the others stay queued).
    void run_last() {
        if (jobs_.empty()) return;
        auto j = std::move(jobs_.back());
        jobs_.pop_back();
        j->run();
    }
    /// Drops what is queued without running it.
    void discard() { jobs_.clear(); }

private:
    struct job_base {
        virtual ~job_base() = default;
        virtual void run() = 0;
    };
    template <class F> struct job final : job_base {
        explicit job(F f) : fn(std::move(f)) {}
        void run() override { std::move(fn)(); }
        F fn;
    };
    template <class F> void push(F f) { jobs_.push_back(std::make_unique<job<F>>(std::move(f))); }

    boost::asio::execution_context context_;
    std::vector<std::unique_ptr<job_base>> jobs_;
};

}  // namespace kwire::test
