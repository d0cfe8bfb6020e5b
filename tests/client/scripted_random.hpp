// A UniformRandomBitGenerator that returns the values it is given, in turn: makes the backoff's
// jitter deterministic (min 0, max 100: 0 is the lowest factor, 50 none, 100 the highest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct scripted_random {
    using result_type = std::uint32_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return 100; }
    std::vector<result_type> values;
    std::size_t next = 0;
    result_type operator()() { return values[next++ % values.size()]; }
};
