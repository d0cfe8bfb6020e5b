// Tests that need a compression codec skip themselves when this build left it out
// (KWIRE_WITH_ZSTD, _LZ4, _SNAPPY, _ZLIB set to OFF), saying which codec was missing.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "kwire/codec/compression.hpp"

#define KWIRE_REQUIRE_CODEC(which)                                                                   \
    do {                                                                                             \
        if (!::kwire::codec::compression_available(which))                                           \
            GTEST_SKIP() << "this build leaves out "                                                 \
                         << std::string(::kwire::codec::compression_name(which)) << " (KWIRE_WITH_*=OFF)"; \
    } while (0)
