// What the generated `visit` functions tell about each field: its schema name, the versions it
// exists in, the versions it may be null in, and its tag (-1 if it is not a tagged field).
#pragma once

#include <cstdint>
#include <string_view>

namespace kwire::protocol {

struct field_meta {
    std::string_view name;
    std::int16_t min_version;
    std::int16_t max_version;
    std::int16_t nullable_min;  // -1: never nullable
    std::int16_t nullable_max;
    std::int32_t tag;           // -1: not tagged

    constexpr bool present_in(std::int16_t v) const noexcept { return v >= min_version && v <= max_version; }
    constexpr bool nullable_in(std::int16_t v) const noexcept {
        return nullable_min >= 0 && v >= nullable_min && v <= nullable_max;
    }
    constexpr bool tagged() const noexcept { return tag >= 0; }
};

}  // namespace kwire::protocol
