// Command-line parsing shared by every `kwire` command, written by hand (no getopt, no
// Boost.Program_options): each command declares its options in an option_parser, and the
// options every client command shares (-b, -X, --config, -h) come from client_options.
//
// Accepted forms: `-b VALUE`, `-bVALUE`, `--long VALUE`, `--long=VALUE`, flags as `-h` / `--help`,
// and `--` to end the options. Short options are not bundled (`-hv` is not `-h -v`).
//
// Errors are exceptions that main() turns into exit codes: usage_error (a bad or missing
// option, an invalid property or config file) exits 2, runtime failures are the commands' own
// exit code 1.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/admin/admin.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::tools {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  ///< the operation failed (a record, a broker, a topic)
inline constexpr int exit_usage = 2;    ///< bad command line or configuration
inline constexpr int exit_interrupted = 130;

/// A bad command line or configuration: main() prints "kwire CMD: what" and a hint to --help,
/// and exits 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct option {
    char short_name = 0;           ///< 0: long form only
    std::string_view long_name;    ///< "": short form only
    std::string_view value_name;   ///< "": a flag, which takes no value
    std::string_view help;         ///< one line for --help
    /// Called with the value (empty for a flag); throws usage_error for a bad value.
    std::function<void(std::string_view)> set;
};

class option_parser {
public:
    void add(option o);

    /// Parses `args` (without the program and command names), calling each option's setter in
    /// order. Stops early, returning what it has, when `stop` becomes true after a setter (for
    /// --help). Returns the positional arguments. Throws usage_error.
    std::vector<std::string_view> parse(std::span<const std::string_view> args, const bool* stop = nullptr) const;

    /// The option list for --help: one aligned line per option.
    std::string describe() const;

private:
    const option* find_short(char c) const;
    const option* find_long(std::string_view name) const;
    std::vector<option> options_;
};

/// How an option names itself in messages: "-t" or "--acks".
std::string option_name(const option& o);

/// Properties from the command line and --config files, and where each one came from, so an
/// invalid one can be traced back ("from kwire.properties:3").
class property_set {
public:
    /// Sets a property; a later set of the same name wins.
    void set(std::string name, std::string value, std::string origin);
    /// Reads `name=value` lines from `path` (blank lines and `#` comments skipped; whitespace
    /// around name and value trimmed). Throws usage_error naming the file and line.
    void load_file(const std::string& path);
    /// Parses "name=value" (from -X). Throws usage_error.
    void set_assignment(std::string_view assignment, std::string origin);

    const client::properties& values() const noexcept { return values_; }
    /// Where `name` was set ("-X", "-b", "kwire.properties:3"), or "".
    std::string origin(std::string_view name) const;
    bool contains(std::string_view name) const { return values_.find(name) != values_.end(); }

private:
    client::properties values_;
    std::map<std::string, std::string, std::less<>> origins_;
};

/// The options of every command that talks to a cluster: -b, -X, --config, -h. Properties given
/// on the command line (-X and the dedicated options such as -b) override those from --config
/// files, whatever the order; among themselves the last one wins.
struct client_options {
    property_set file_properties;  ///< from --config files
    property_set properties;       ///< -X and dedicated options
    bool help = false;
    int verbosity = 0;             ///< -v: info; -v -v: debug for every context

    /// Registers -b on `parser` (first in --help, before the command's own options).
    void add_bootstrap(option_parser& parser);
    /// Registers -X, --config (or `config_option`, where --config means something else), -d, -v
    /// and -h (last in --help).
    void add_common(option_parser& parser, std::string_view config_option = "config");
    /// Throws usage_error unless bootstrap.servers is set (by -b, -X or a --config file).
    void require_bootstrap() const;

    /// The part every cluster command shares: registers -X/--config/-h, parses `args`, prints
    /// `help_text` and the options on -h (returning true: the command is done), rejects
    /// positional arguments and requires a bootstrap address.
    bool parse_command_line(option_parser& parser, std::span<const std::string_view> args, std::string_view help_text,
                            std::string_view config_option = "config");

    /// Every property: files first, then the command line on top.
    property_set merged() const;

    /// Applies the properties onto `cfg`: those from files may be meant for any client (a shared
    /// file may hold producer settings), so they are checked against the producer's properties;
    /// those on the command line must be connection properties. Throws usage_error naming the
    /// property and where it came from.
    void apply(client::connection_config& cfg) const;
    /// The same for a producer: every property must be a producer or connection property.
    void apply(client::producer_config& cfg) const;
    /// The same for a consumer: every property must be a consumer or connection property.
    void apply(client::consumer_config& cfg) const;
    /// The same for the admin client: connection properties plus default.api.timeout.ms,
    /// retry.backoff.ms and retry.backoff.max.ms.
    void apply(admin::admin_config& cfg) const;
    /// Every apply() ends here: the client logs to stderr, warnings and errors by default, more
    /// with -v (info; twice: debug) and -d CONTEXTS (debug for those), as kcat does.
    void configure_logging(client::connection_config& cfg) const;
};

/// A command with subcommands (`kwire topics create ...`): one row per subcommand.
struct subcommand {
    std::string_view name;
    std::string_view summary;
    int (*run)(std::span<const std::string_view> args);
};
/// Runs the subcommand named by the first argument; prints `intro` and the subcommand list for
/// --help (or no argument: a usage error). Throws usage_error for an unknown subcommand.
int run_subcommand(std::string_view command, std::span<const std::string_view> args,
                   std::span<const subcommand> subcommands, std::string_view intro);

/// An error as kwire reports it: Kafka errors by their name (UNKNOWN_TOPIC_OR_PARTITION),
/// anything else by its message.
std::string describe_error(const std::error_code& ec);

/// Parses a whole decimal integer in [min, max]; nullopt if it is not one.
std::optional<std::int64_t> parse_integer(std::string_view s, std::int64_t min, std::int64_t max);

/// Joins "host:port" entries with ','.
std::string join(const std::vector<std::string>& items, std::string_view sep = ",");

}  // namespace kwire::tools
