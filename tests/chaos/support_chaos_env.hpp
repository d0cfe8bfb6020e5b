// What every chaos scenario reads from the environment: KWIRE_CHAOS_SEED replays a run (random
// when unset, and printed by every scenario), KWIRE_CHAOS_SECONDS bounds how long its chaos
// lasts (CTest sets both; scripts/chaos.sh sets a longer duration and random seeds).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>

namespace kwire::test {

/// The run's seed: KWIRE_CHAOS_SEED, or one drawn once per process.
inline std::uint64_t chaos_seed_from_env() {
    static const std::uint64_t seed = []() -> std::uint64_t {
        if (const char* s = std::getenv("KWIRE_CHAOS_SEED")) return std::strtoull(s, nullptr, 10);
        return std::random_device{}() % 1000000000u;
    }();
    return seed;
}

/// How long a scenario's chaos lasts: KWIRE_CHAOS_SECONDS, or `fallback`.
inline std::chrono::milliseconds chaos_duration_from_env(std::chrono::milliseconds fallback) {
    if (const char* s = std::getenv("KWIRE_CHAOS_SECONDS")) return std::chrono::milliseconds(std::atol(s) * 1000);
    return fallback;
}

}  // namespace kwire::test
