// The one path every configuration goes through: a table per config type whose entries each name
// a property, parse its text into the struct's field (type errors only: "expected an integer"),
// and check the field's value (ranges). apply_properties() parses, then validates the whole struct
// with the same checks the client constructors run on a struct built in code, so a setting means
// the same thing, and fails with the same message, whichever way it was given.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "kwire/client/config.hpp"

namespace kwire::client::detail {

/// One property of `Config`. `parse` stores the text's value into the field and returns why it
/// could not (empty on success); `check` returns the whole message for a field whose value is out
/// of range ("batch.size=0: out of range [1, 2147483647]"), empty when it is fine.
template <class Config>
struct setting {
    std::string_view name;
    std::function<std::string(Config&, std::string_view)> parse;
    std::function<std::string(const Config&)> check{};
};

template <class Config>
using setting_table = std::vector<setting<Config>>;

template <class Int>
std::string parse_integer(std::string_view s, Int& out) {
    Int v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return "expected an integer";
    out = v;
    return {};
}

std::string parse_bool(std::string_view s, bool& out);
std::vector<std::string> split_list(std::string_view s);

template <class Int>
std::string out_of_range(std::string_view name, Int v, Int min, Int max) {
    return std::string(name) + "=" + std::to_string(v) + ": out of range [" + std::to_string(min) + ", " +
           std::to_string(max) + "]";
}

/// An integer field (of Config or one of its bases) in [min, max].
template <class Config, class Int, class Owner>
setting<Config> integer(std::string_view name, Int Owner::*field, std::type_identity_t<Int> min,
                        std::type_identity_t<Int> max) {
    return {name, [field](Config& c, std::string_view v) { return parse_integer<Int>(v, c.*field); },
            [name, field, min, max](const Config& c) {
                const Int v = c.*field;
                return v < min || v > max ? out_of_range(name, v, min, max) : std::string();
            }};
}

/// A milliseconds field, at least `min`.
template <class Config, class Owner>
setting<Config> duration(std::string_view name, std::chrono::milliseconds Owner::*field, std::int64_t min = 0) {
    constexpr std::int64_t max = std::int64_t{1} << 40;
    return {name,
            [field](Config& c, std::string_view v) {
                std::int64_t ms = 0;
                auto err = parse_integer(v, ms);
                if (err.empty()) c.*field = std::chrono::milliseconds(ms);
                return err;
            },
            [name, field, min](const Config& c) {
                const std::int64_t v = (c.*field).count();
                return v < min || v > max ? out_of_range(name, v, min, max) : std::string();
            }};
}

template <class Config, class Owner>
setting<Config> boolean(std::string_view name, bool Owner::*field) {
    return {name, [field](Config& c, std::string_view v) { return parse_bool(v, c.*field); }};
}

template <class Config, class Owner>
setting<Config> text(std::string_view name, std::string Owner::*field) {
    return {name, [field](Config& c, std::string_view v) {
                c.*field = std::string(v);
                return std::string();
            }};
}

/// The connection properties every client shares.
const setting_table<connection_config>& connection_settings();

/// "unknown property 'lingr.ms' (did you mean 'linger.ms'?)": the suggestion is the closest known
/// name within two edits, if any.
std::string unknown_property(std::string_view name, const std::vector<std::string_view>& known);

/// Sets `*what` (if given) and returns client_errc::invalid_config.
std::error_code config_error(std::string* what, std::string message);

/// The first failing check of `table` on `cfg`, empty when all pass.
template <class Config>
std::string check_all(const Config& cfg, const setting_table<Config>& table) {
    for (const auto& s : table)
        if (s.check)
            if (auto err = s.check(cfg); !err.empty()) return err;
    return {};
}

/// Parses `props` onto a client's config: its own properties, then the connection's; anything
/// else is unknown. The caller validates the result afterwards, with the function the client's
/// constructor runs too.
template <class Config>
std::error_code parse_layered(Config& cfg, const setting_table<Config>& own, const properties& props,
                              std::string* what) {
    const auto parse_with = [](auto& table, auto& target, std::string_view name, std::string_view value,
                               std::string& err) {
        for (const auto& s : table)
            if (s.name == name) {
                err = s.parse(target, value);
                return true;
            }
        return false;
    };
    for (const auto& [name, value] : props) {
        std::string err;
        if (!parse_with(own, cfg, name, value, err) &&
            !parse_with(connection_settings(), static_cast<connection_config&>(cfg), name, value, err)) {
            std::vector<std::string_view> names;
            for (const auto& s : own) names.push_back(s.name);
            for (const auto& s : connection_settings()) names.push_back(s.name);
            return config_error(what, unknown_property(name, names));
        }
        if (!err.empty()) return config_error(what, name + "=" + value + ": " + err);
    }
    return {};
}

}  // namespace kwire::client::detail
