// A seeded TCP chaos proxy (issue 11; after franz-go's chaos dialer and Jepsen's nemeses): one
// listening port per upstream broker, forwarding whole Kafka frames both ways, that kills
// connections at chosen moments, resets or closes them, and delays or splits frames.
//
// Every choice comes from the seed: connection n (in accept order) to broker b draws from its
// own generator, seeded from (seed, b, n), with one stream for requests and one for responses,
// so the fate of the k-th request of a connection does not depend on how responses interleave
// with it. A run replays as far as timing allows: what timing changes is which connection a
// client opens when, not what happens to the k-th frame of a connection.
//
// Faults, drawn per frame with settings.fault_probability among the enabled kinds that apply
// to the frame's direction:
//  - kill_before_request:  between requests: the request is not forwarded, the connection dies.
//  - kill_after_response:  between requests: a response is delivered whole, the connection dies.
//  - kill_mid_request:     part of a request frame reaches the broker, then the connection dies.
//  - kill_mid_response:    part of a response frame reaches the client, then the connection dies.
//  - kill_answer_lost:     the request is forwarded, nothing more from the client is; the proxy
//                          waits for the broker's answer (so it certainly handled the request),
//                          drops it and kills the connection: "written, acknowledgement lost".
//  - delay:                the frame (and so everything behind it that way) is held a few ms.
//  - partial_write:        the frame is delivered in several small chunks with tiny pauses.
// Every kill closes both sides, each with a reset (SO_LINGER 0: RST) or a clean close (FIN),
// drawn per side with settings.reset_share.
//
// Like kafka_proxy, answers that advertise brokers (Metadata, FindCoordinator) are rewritten to
// the proxy's ports (support_address_rewrite.hpp), so reconnects come back through the chaos.
// pause() stops new faults (frames pass untouched; dice are still drawn so that resuming keeps
// the schedule) so that a test can let its client recover and finish.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace kwire::test {

enum class chaos_fault : std::uint8_t {
    none,
    kill_before_request,
    kill_after_response,
    kill_mid_request,
    kill_mid_response,
    kill_answer_lost,
    delay,
    partial_write,
};
inline constexpr std::size_t chaos_fault_kinds = 8;
const char* to_string(chaos_fault f);

enum class frame_direction : std::uint8_t { request, response };

struct chaos_settings {
    std::uint64_t seed = 1;
    /// Chance that a frame gets a fault (of the kinds enabled for its direction).
    double fault_probability = 0.02;
    /// Bit (1 << chaos_fault) per enabled kind; every kind by default.
    std::uint32_t enabled = ~0u;
    /// Share of kills that reset a side (RST) rather than close it (FIN), per side.
    double reset_share = 0.5;
    /// The first frames of a connection each way pass untouched, so that a client always gets
    /// somewhere (ApiVersions, then one real request); 0 makes every frame fair game.
    int grace_frames = 1;
    /// Requests of these API keys are never faulted, and no connection is killed while one of
    /// them awaits its answer: for peers that cannot take it (see support_group_clusters.hpp).
    std::vector<std::int16_t> spared_api_keys;
    /// A JoinGroup without a member id gets one from the proxy ("chaos-member-N", never reused)
    /// before the broker sees it: for peers whose own member ids can repeat (see
    /// support_group_clusters.hpp). The broker then knows the member by that name.
    bool name_new_members = false;
    int max_delay_ms = 20;
    int max_chunks = 8;
    int max_chunk_pause_us = 2000;

    static std::uint32_t only(chaos_fault f) { return 1u << static_cast<unsigned>(f); }
    bool allows(chaos_fault f) const { return (enabled & only(f)) != 0; }
    bool spares(std::int16_t api_key) const {
        for (const auto k : spared_api_keys)
            if (k == api_key) return true;
        return false;
    }
    /// "seed=S p=P faults=a,b,... reset_share=R grace=G delay<=Dms chunks<=C pause<=Uus [spared=k,...]
    /// [names_members]"
    std::string describe() const;
};

/// What the proxy does with one frame.
struct chaos_decision {
    chaos_fault fault = chaos_fault::none;
    double cut = 0;            ///< kill_mid_*: share of the frame delivered first, in (0, 1)
    int delay_ms = 0;          ///< delay
    int chunks = 0;            ///< partial_write: number of chunks (>= 2)
    int chunk_pause_us = 0;    ///< partial_write: pause after each chunk but the last
    bool reset_client = false;  ///< kills: the client side gets RST (else FIN)
    bool reset_broker = false;  ///< kills: the broker side gets RST (else FIN)
    friend bool operator==(const chaos_decision&, const chaos_decision&) = default;
};

/// The dice of one connection, without any I/O: every choice the proxy makes for it.
class chaos_dice {
public:
    chaos_dice(const chaos_settings& settings, std::size_t broker, std::uint64_t connection);
    /// The fate of the next frame in `direction`. Always draws the same amount of randomness per
    /// frame, whatever the outcome, so that one frame's fate never shifts another's.
    chaos_decision next(frame_direction direction);

private:
    chaos_settings settings_;
    std::mt19937_64 requests_, responses_;
    int request_frames_ = 0, response_frames_ = 0;
};

/// Splits `bytes` into `chunks` nearly equal non-empty pieces (fewer when bytes < chunks).
std::vector<std::size_t> chunk_sizes(std::size_t bytes, int chunks);

class chaos_proxy {
public:
    /// Listens on 127.0.0.1 (an ephemeral port) for each "host:port" upstream and starts its
    /// thread. Throws std::runtime_error when a socket cannot be set up.
    chaos_proxy(const std::vector<std::string>& upstreams, chaos_settings settings);
    ~chaos_proxy();
    chaos_proxy(const chaos_proxy&) = delete;
    chaos_proxy& operator=(const chaos_proxy&) = delete;

    /// "127.0.0.1:port" per upstream, in the order given; bootstrap() joins them with ','.
    std::vector<std::string> addresses() const;
    std::string bootstrap() const;

    void pause() noexcept { paused_ = true; }
    void resume() noexcept { paused_ = false; }
    bool paused() const noexcept { return paused_; }

    /// Faults that happened, per kind (a drawn kill_answer_lost counts once the answer is dropped).
    std::uint64_t count(chaos_fault f) const noexcept { return counts_[static_cast<std::size_t>(f)].load(); }
    /// Kills, by how each side was closed.
    std::uint64_t resets() const noexcept { return resets_.load(); }
    std::uint64_t clean_closes() const noexcept { return clean_closes_.load(); }
    std::uint64_t connections() const noexcept { return accepted_.load(); }
    std::uint64_t frames() const noexcept { return frames_.load(); }
    /// Sum of the kill kinds.
    std::uint64_t kills() const noexcept;

    const chaos_settings& settings() const noexcept { return settings_; }
    /// "chaos_proxy seed=... (settings)" -- enough to replay the run.
    std::string describe() const;
    /// The counters: "connections=N frames=F kill_mid_request=.. ... resets=R clean_closes=C".
    std::string report() const;

private:
    struct impl;
    friend struct impl;
    chaos_settings settings_;
    std::atomic<bool> paused_{false};
    std::array<std::atomic<std::uint64_t>, chaos_fault_kinds> counts_{};
    std::atomic<std::uint64_t> resets_{0}, clean_closes_{0}, accepted_{0}, frames_{0};
    std::unique_ptr<impl> impl_;
};

}  // namespace kwire::test
