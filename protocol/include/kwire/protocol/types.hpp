// Value types shared by the wire primitives and the generated messages.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace kwire::protocol {

/// Kafka UUID (topic ids, member ids in KIP-848): 16 raw bytes.
struct uuid {
    std::array<std::uint8_t, 16> bytes{};
    friend bool operator==(const uuid&, const uuid&) = default;
    bool is_zero() const noexcept { return *this == uuid{}; }
};

/// Owning byte string (BYTES fields, SASL tokens, group member metadata).
using bytes = std::vector<std::uint8_t>;

/// Non-owning view of bytes inside a buffer that outlives it (RECORDS fields decode to this).
/// Equality compares content, so decoded messages compare equal to the ones that were encoded.
class bytes_view {
public:
    constexpr bytes_view() noexcept = default;
    constexpr bytes_view(const std::uint8_t* data, std::size_t size) noexcept
        : data_(data), size_(size) {}
    bytes_view(std::span<const std::uint8_t> s) noexcept : data_(s.data()), size_(s.size()) {}
    bytes_view(const bytes& b) noexcept : data_(b.data()), size_(b.size()) {}
    /// The bytes of a string, e.g. a record's key or value (a view: the string must outlive it).
    static bytes_view from(std::string_view s) noexcept {
        return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
    }

    constexpr const std::uint8_t* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const std::uint8_t* begin() const noexcept { return data_; }
    constexpr const std::uint8_t* end() const noexcept { return data_ + size_; }
    std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
    std::string_view as_string() const noexcept {
        return {reinterpret_cast<const char*>(data_), size_};
    }
    bytes_view subview(std::size_t off, std::size_t n) const noexcept {
        return {data_ + off, n};
    }

    friend bool operator==(const bytes_view& a, const bytes_view& b) noexcept {
        return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
    }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace kwire::protocol
