// The `kwire` commands. Each one lives in its own file and is listed once, in main.cpp's
// command table; to add a command, write `int run_NAME(const command_context&)` and add a row.
#pragma once

#include <span>
#include <string_view>

namespace kwire::tools {

struct command_context {
    std::string_view name;                   ///< the command's name, for messages ("produce")
    std::span<const std::string_view> args;  ///< the arguments after the command's name
};

/// Each returns the process exit code (exit_ok, exit_failure, ...) and throws usage_error for
/// a bad command line.
int run_produce(const command_context& ctx);
int run_metadata(const command_context& ctx);
int run_consume(const command_context& ctx);
int run_topics(const command_context& ctx);
int run_groups(const command_context& ctx);
int run_offsets(const command_context& ctx);
int run_cluster(const command_context& ctx);

}  // namespace kwire::tools
