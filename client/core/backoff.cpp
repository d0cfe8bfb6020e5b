// The per-thread random source behind the backoff's jitter (see backoff.hpp).
#include "core/backoff.hpp"

#include <random>

namespace kwire::client::detail {

double jitter_factor() {
    static thread_local std::minstd_rand random{std::random_device{}()};
    return jitter_factor(random);
}

}  // namespace kwire::client::detail
