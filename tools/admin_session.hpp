// What every admin command (topics, groups, offsets, cluster) shares: its options, an admin
// client on an io_context of its own, and the way a failed call is reported.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/admin/admin.hpp"
#include "options.hpp"

namespace kwire::tools {

struct admin_session {
    client_options options;
    admin::admin_config cfg;
    boost::asio::io_context io{1};

    /// Registers the common options, parses `args`, prints `help` on -h (returning true: done),
    /// and builds the config. With `command_config`, the properties file is --command-config
    /// (the command's --config is something else).
    bool parse(option_parser& parser, std::span<const std::string_view> args, std::string_view help,
               bool command_config = false);
    /// The admin client, created on first use.
    admin::admin_client& admin();
    /// "kwire: cannot WHAT (bootstrap B): ERROR" on stderr; returns exit_failure.
    int call_failed(const std::string& what, const std::error_code& ec) const;

    ~admin_session();

private:
    std::optional<admin::admin_client> client_;
};

/// -t TOPIC, repeatable, into `names`.
option topic_option(std::vector<std::string>& names, std::string_view help);
/// An integer option's value in [min, max]; throws usage_error naming `flag`.
std::int64_t integer_option(std::string_view flag, std::string_view value, std::int64_t min, std::int64_t max);
/// Splits at `sep`, dropping empty pieces.
std::vector<std::string_view> split(std::string_view s, char sep);

}  // namespace kwire::tools
