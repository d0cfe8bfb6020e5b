// The chaos proxy's decisions without I/O: the per-connection dice, chunking, and how settings
// and faults are named (support_chaos_proxy.hpp).
#include <algorithm>
#include <sstream>

#include "support_chaos_proxy.hpp"

namespace kwire::test {

namespace {

constexpr chaos_fault request_faults[] = {chaos_fault::kill_before_request, chaos_fault::kill_mid_request,
                                          chaos_fault::kill_answer_lost, chaos_fault::delay,
                                          chaos_fault::partial_write};
constexpr chaos_fault response_faults[] = {chaos_fault::kill_after_response, chaos_fault::kill_mid_response,
                                           chaos_fault::delay, chaos_fault::partial_write};

/// SplitMix64's finaliser: spreads (seed, broker, connection) into unrelated generator seeds.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

double unit(std::mt19937_64& g) { return std::generate_canonical<double, 64>(g); }

}  // namespace

const char* to_string(chaos_fault f) {
    switch (f) {
    case chaos_fault::none: return "none";
    case chaos_fault::kill_before_request: return "kill_before_request";
    case chaos_fault::kill_after_response: return "kill_after_response";
    case chaos_fault::kill_mid_request: return "kill_mid_request";
    case chaos_fault::kill_mid_response: return "kill_mid_response";
    case chaos_fault::kill_answer_lost: return "kill_answer_lost";
    case chaos_fault::delay: return "delay";
    case chaos_fault::partial_write: return "partial_write";
    }
    return "?";
}

std::string chaos_settings::describe() const {
    std::ostringstream out;
    out << "seed=" << seed << " p=" << fault_probability << " faults=";
    const char* sep = "";
    for (std::size_t k = 1; k < chaos_fault_kinds; ++k)
        if (allows(static_cast<chaos_fault>(k))) {
            out << sep << to_string(static_cast<chaos_fault>(k));
            sep = ",";
        }
    out << " reset_share=" << reset_share << " grace=" << grace_frames << " delay<=" << max_delay_ms
        << "ms chunks<=" << max_chunks << " pause<=" << max_chunk_pause_us << "us";
    if (!spared_api_keys.empty()) {
        out << " spared=";
        for (std::size_t i = 0; i < spared_api_keys.size(); ++i) out << (i ? "," : "") << spared_api_keys[i];
    }
    if (name_new_members) out << " names_members";
    return out.str();
}

chaos_dice::chaos_dice(const chaos_settings& settings, std::size_t broker, std::uint64_t connection)
    : settings_(settings),
      requests_(mix(settings.seed ^ mix((std::uint64_t{broker} << 40) ^ (connection << 1)))),
      responses_(mix(settings.seed ^ mix((std::uint64_t{broker} << 40) ^ (connection << 1) ^ 1))) {}

chaos_decision chaos_dice::next(frame_direction direction) {
    const bool request = direction == frame_direction::request;
    auto& g = request ? requests_ : responses_;
    int& seen = request ? request_frames_ : response_frames_;
    // Eight draws per frame, used or not.
    double u[8];
    for (auto& x : u) x = unit(g);
    if (seen++ < settings_.grace_frames || u[0] >= settings_.fault_probability) return {};

    chaos_fault kinds[std::size(request_faults)];
    std::size_t n = 0;
    if (request) {
        for (auto f : request_faults)
            if (settings_.allows(f)) kinds[n++] = f;
    } else {
        for (auto f : response_faults)
            if (settings_.allows(f)) kinds[n++] = f;
    }
    if (n == 0) return {};

    chaos_decision d;
    d.fault = kinds[std::min(n - 1, static_cast<std::size_t>(u[1] * static_cast<double>(n)))];
    d.cut = 0.05 + 0.9 * u[2];
    d.delay_ms = 1 + static_cast<int>(u[3] * settings_.max_delay_ms);
    d.chunks = 2 + static_cast<int>(u[4] * std::max(0, settings_.max_chunks - 1));
    d.chunk_pause_us = static_cast<int>(u[5] * settings_.max_chunk_pause_us);
    d.reset_client = u[6] < settings_.reset_share;
    d.reset_broker = u[7] < settings_.reset_share;
    // Only what the kind uses is kept, so that decisions compare equal when their effect is.
    if (d.fault != chaos_fault::kill_mid_request && d.fault != chaos_fault::kill_mid_response) d.cut = 0;
    if (d.fault != chaos_fault::delay) d.delay_ms = 0;
    if (d.fault != chaos_fault::partial_write) d.chunks = d.chunk_pause_us = 0;
    if (d.fault == chaos_fault::delay || d.fault == chaos_fault::partial_write) d.reset_client = d.reset_broker = false;
    return d;
}

std::vector<std::size_t> chunk_sizes(std::size_t bytes, int chunks) {
    const std::size_t n = std::max<std::size_t>(1, std::min<std::size_t>(bytes, static_cast<std::size_t>(std::max(chunks, 1))));
    std::vector<std::size_t> out(n, bytes / n);
    for (std::size_t i = 0; i < bytes % n; ++i) ++out[i];
    return out;
}

}  // namespace kwire::test
