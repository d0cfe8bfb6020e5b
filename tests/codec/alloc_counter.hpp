// Counts calls of the global operator new (replaced in alloc_counter.cpp for this test binary),
// so tests can assert that a hot path allocates nothing.
#pragma once

#include <cstddef>

namespace kwire::codec::test {

/// Number of operator new calls made by this thread so far.
std::size_t allocations() noexcept;

}  // namespace kwire::codec::test
