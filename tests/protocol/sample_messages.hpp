// Fills any generated message with distinct, non-default values for one version, using the
// generated `visit` metadata: every field present in that version gets a value, nullable ones
// alternate between null and a value, arrays get two elements, and every struct of a flexible
// version carries an unknown tagged field that must survive a round trip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kwire/protocol/field_meta.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::testing {

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};
template <> struct is_vector<protocol::bytes> : std::false_type {};

template <class T>
concept visitable = requires(T& t) { T::visit(t, [](const protocol::field_meta&, auto&) {}); };

class sample_filler {
public:
    sample_filler(std::int16_t version, bool flexible, int seed = 1)
        : version_(version), flexible_(flexible), seed_(seed) {}

    template <class S> void fill(S& s) {
        S::visit(s, *this);
        if (flexible_) {
            // Tag 4000 is far above any tag the schemas know.
            s.unknown_tagged_fields.unknown.push_back({4000, {0xde, 0xad, static_cast<std::uint8_t>(seed_)}});
        }
    }

    template <class T> void operator()(const protocol::field_meta& m, T& x) {
        if (!m.present_in(version_)) return;
        if (m.tagged() && !flexible_) return;
        set(m, x);
    }

private:
    template <class T> void set(const protocol::field_meta& m, T& x) {
        ++seed_;
        if constexpr (is_optional<T>::value) {
            if (m.nullable_in(version_) && seed_ % 3 == 0) {
                x.reset();
            } else {
                x.emplace();
                set(m, *x);
            }
        } else if constexpr (is_vector<T>::value) {
            x.clear();
            for (int i = 0; i < 2; ++i) set(m, x.emplace_back());
        } else if constexpr (visitable<T>) {
            fill(x);
        } else if constexpr (std::is_same_v<T, bool>) {
            x = true;
        } else if constexpr (std::is_same_v<T, double>) {
            x = 0.5 + seed_;
        } else if constexpr (std::is_integral_v<T>) {
            x = static_cast<T>(seed_ * 7 + 3);
        } else if constexpr (std::is_same_v<T, std::string>) {
            x = std::string(m.name) + "-" + std::to_string(seed_);
        } else if constexpr (std::is_same_v<T, protocol::uuid>) {
            for (std::size_t i = 0; i < 16; ++i) x.bytes[i] = static_cast<std::uint8_t>(seed_ + i);
        } else if constexpr (std::is_same_v<T, protocol::bytes>) {
            x = {1, 2, static_cast<std::uint8_t>(seed_)};
        } else if constexpr (std::is_same_v<T, protocol::bytes_view>) {
            static const std::uint8_t records[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
            x = protocol::bytes_view(records, 1 + static_cast<std::size_t>(seed_) % 9);
        } else {
            static_assert(sizeof(T) == 0, "field type the filler does not know");
        }
    }

    std::int16_t version_;
    bool flexible_;
    int seed_;
};

/// A message of type M with every field of `version` filled.
template <class M> M sample_message(std::int16_t version, int seed = 1) {
    M m;
    sample_filler(version, protocol::is_flexible(version, M::first_flexible), seed).fill(m);
    return m;
}

}  // namespace kwire::testing
