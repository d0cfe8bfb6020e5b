// fetch_session's rules (see fetch_session.hpp): planning each Fetch of a KIP-227 session,
// reading its answer, restarting and closing the session.
#include "consumer/fetch_session.hpp"

#include <algorithm>
#include <limits>

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

namespace {

bool by_id(const fetch_want& a, const fetch_want& b) noexcept { return a.id < b.id; }

}  // namespace

std::int32_t fetch_session::next_epoch(std::int32_t epoch) noexcept {
    if (epoch < 0) return final_epoch;
    if (epoch == std::numeric_limits<std::int32_t>::max()) return 1;
    return epoch + 1;
}

void fetch_session::restart(bool keep_id) noexcept {
    if (!keep_id) session_id_ = 0;
    epoch_ = initial_epoch;
}

void fetch_session::plan(std::span<const fetch_want> wanted, fetch_plan& out) {
    out.send.clear();
    out.forget.clear();
    out.session_id = session_id_;
    out.epoch = epoch_;
    out.full = epoch_ == initial_epoch;
    planned_full_ = out.full;

    sorted_.assign(wanted.begin(), wanted.end());
    std::stable_sort(sorted_.begin(), sorted_.end(), by_id);
    sorted_.erase(std::unique(sorted_.begin(), sorted_.end(), [](const fetch_want& a, const fetch_want& b) {
                      return a.id == b.id;
                  }),
                  sorted_.end());

    if (out.full) {
        out.send.assign(wanted.begin(), wanted.end());
        partitions_.swap(sorted_);
        return;
    }
    // Incremental: walk the session and the wanted partitions together (both sorted by id).
    std::size_t i = 0, j = 0;
    while (i < partitions_.size() || j < sorted_.size()) {
        if (j == sorted_.size() || (i < partitions_.size() && partitions_[i].id < sorted_[j].id)) {
            out.forget.push_back(partitions_[i++].id);  // in the session, no longer wanted
        } else if (i == partitions_.size() || sorted_[j].id < partitions_[i].id) {
            out.send.push_back(sorted_[j++]);  // new to the session
        } else {
            if (partitions_[i].position != sorted_[j].position) out.send.push_back(sorted_[j]);  // changed
            ++i;
            ++j;
        }
    }
    partitions_.swap(sorted_);
}

fetch_verdict fetch_session::on_response(std::int16_t version, std::int16_t error, std::int32_t session_id,
                                         std::span<const std::uint32_t> partitions) {
    if (version < min_version) {
        // Encoded without session fields: a sessionless full Fetch of what it listed, answered
        // as such. (It can only have been incremental if the broker was downgraded in between.)
        restart(false);
        return fetch_verdict::use;
    }
    if (error != 0) {
        // Such an answer holds no partition data. Only an unknown session id is dropped; for
        // anything else the next full Fetch names it, so that the broker closes it.
        restart(to_kafka_errc(error) != kafka_errc::fetch_session_id_not_found);
        return fetch_verdict::discard;
    }
    seen_.assign(partitions.begin(), partitions.end());
    std::sort(seen_.begin(), seen_.end());
    seen_.erase(std::unique(seen_.begin(), seen_.end()), seen_.end());
    std::size_t held = 0;  // answered partitions the session holds
    for (const auto id : seen_)
        if (std::binary_search(partitions_.begin(), partitions_.end(), fetch_want{id, {}}, by_id)) ++held;
    const bool extra = held != seen_.size();

    if (planned_full_) {
        // A full answer names every partition of the session, and nothing else.
        if (extra || held != partitions_.size()) {
            restart(false);
            return fetch_verdict::discard;
        }
        if (session_id == 0) {
            restart(false);  // the broker made no session: full Fetches from now on
            return fetch_verdict::use;
        }
        session_id_ = session_id;
        epoch_ = next_epoch(initial_epoch);
        return fetch_verdict::use;
    }
    if (extra) {
        restart(true);
        return fetch_verdict::discard;
    }
    if (session_id == 0) {
        restart(false);  // the broker closed the session
        return fetch_verdict::use;
    }
    epoch_ = next_epoch(epoch_);
    return fetch_verdict::use;
}

void fetch_session::on_failure() noexcept { restart(true); }

std::optional<fetch_plan> fetch_session::close() {
    std::optional<fetch_plan> out;
    if (session_id_ != 0) {
        out.emplace();
        out->session_id = session_id_;
        out->epoch = final_epoch;
        out->full = true;
    }
    restart(false);
    partitions_.clear();
    return out;
}

}  // namespace kwire::client::detail
