// broker_session (see broker_session.hpp): the negotiated API versions, matching response frames
// to requests in order, deadlines, and failing what is in flight.
#include "net/broker_session.hpp"

#include <algorithm>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

void api_version_table::assign(const protocol::ApiVersionsResponse& resp) {
    ranges_.clear();
    for (const auto& k : resp.api_keys) {
        if (k.api_key < 0 || k.api_key > 1000) continue;  // nothing kwire speaks lives up there
        const auto at = static_cast<std::size_t>(k.api_key);
        if (ranges_.size() <= at) ranges_.resize(at + 1);
        ranges_[at] = {k.min_version, k.max_version};
    }
    features_.clear();
    for (const auto& f : resp.finalized_features) features_.emplace_back(f.name, f.max_version_level);
}

std::int16_t api_version_table::feature(std::string_view name) const noexcept {
    for (const auto& [n, level] : features_)
        if (n == name) return level;
    return 0;
}

std::int16_t api_version_table::pick(std::int16_t api_key, std::int16_t our_min, std::int16_t our_max) const noexcept {
    if (api_key < 0 || static_cast<std::size_t>(api_key) >= ranges_.size()) return -1;
    const auto& r = ranges_[static_cast<std::size_t>(api_key)];
    if (r.min < 0 || r.max < 0) return -1;
    const auto hi = std::min(r.max, our_max);
    return hi >= std::max(r.min, our_min) ? hi : std::int16_t{-1};
}

void broker_session::output_written() {
    auto done = std::move(being_written_);
    being_written_.clear();
    for (auto& h : done) h({}, {});
}

std::error_code broker_session::input_received(std::size_t n) {
    reader_.commit(n);
    std::error_code ec;
    while (auto frame = reader_.next(ec)) {
        if (frame->size() < 4) return make_error_code(errc::truncated);
        const auto correlation_id = protocol::load_be<std::int32_t>(frame->data());
        if (in_flight_.empty() || in_flight_.front().correlation_id != correlation_id)
            return make_error_code(errc::correlation_mismatch);
        // Pop before calling: the handler may enqueue more requests or even fail the session.
        auto p = std::move(in_flight_.front());
        in_flight_.pop_front();
        if (meters_) {
            meters_->responses.add();
            meters_->bytes_in.add(frame->size() + 4);  // and the size prefix
            meters_->in_flight.add(-1);
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - p.sent).count();
            meters_->latency.record(static_cast<std::uint64_t>(us < 0 ? 0 : us));
        }
        p.handler({}, *frame);
    }
    return ec;
}

std::optional<clock::time_point> broker_session::next_deadline() const noexcept {
    if (in_flight_.empty()) return std::nullopt;
    auto it = std::min_element(in_flight_.begin(), in_flight_.end(),
                               [](const pending& a, const pending& b) { return a.deadline < b.deadline; });
    return it->deadline;
}

bool broker_session::expired(clock::time_point now) const noexcept {
    const auto d = next_deadline();
    return d && *d <= now;
}

void broker_session::fail(std::error_code ec) {
    auto in_flight = std::move(in_flight_);
    auto unacked = std::move(being_written_);
    for (auto& h : done_without_response_) unacked.push_back(std::move(h));
    if (meters_) meters_->in_flight.add(-static_cast<std::int64_t>(in_flight.size()));
    in_flight_.clear();
    done_without_response_.clear();
    being_written_.clear();
    output_.clear();
    reader_.reset();
    versions_ = {};
    for (auto& p : in_flight) p.handler(ec, {});
    for (auto& h : unacked) h(ec, {});
}

}  // namespace kwire::client::detail
