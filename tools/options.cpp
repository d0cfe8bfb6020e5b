#include "options.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <fstream>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::tools {

namespace {

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\f\v";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(space);
    return s.substr(first, last - first + 1);
}

std::string left_column(const option& o) {
    std::string s = "  ";
    if (o.short_name) {
        s += '-';
        s += o.short_name;
        if (!o.long_name.empty()) s += ", ";
    } else {
        s += "    ";
    }
    if (!o.long_name.empty()) {
        s += "--";
        s += o.long_name;
    }
    if (!o.value_name.empty()) {
        s += ' ';
        s += o.value_name;
    }
    return s;
}

}  // namespace

// --- option_parser ---------------------------------------------------------------------------

void option_parser::add(option o) { options_.push_back(std::move(o)); }

const option* option_parser::find_short(char c) const {
    for (const auto& o : options_)
        if (o.short_name == c) return &o;
    return nullptr;
}

const option* option_parser::find_long(std::string_view name) const {
    for (const auto& o : options_)
        if (!o.long_name.empty() && o.long_name == name) return &o;
    return nullptr;
}

std::string option_name(const option& o) {
    if (o.short_name) return std::string("-") + o.short_name;
    return "--" + std::string(o.long_name);
}

std::vector<std::string_view> option_parser::parse(std::span<const std::string_view> args, const bool* stop) const {
    std::vector<std::string_view> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto arg = args[i];
        if (arg == "--") {
            positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            positional.push_back(arg);
            continue;
        }
        const option* o = nullptr;
        std::optional<std::string_view> inline_value;
        std::string shown;
        if (arg[1] == '-') {
            auto name = arg.substr(2);
            if (const auto eq = name.find('='); eq != std::string_view::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            o = find_long(name);
            shown = "--" + std::string(name);
        } else {
            o = find_short(arg[1]);
            shown = std::string(arg.substr(0, 2));
            if (arg.size() > 2) inline_value = arg.substr(2);
        }
        if (!o) throw usage_error("unknown option '" + std::string(arg) + "'");
        std::string_view value;
        if (o->value_name.empty()) {
            if (inline_value) {
                // "-hx" or "--help=x": a flag takes no value.
                if (arg[1] == '-') throw usage_error("option " + shown + " takes no value");
                throw usage_error("unknown option '" + std::string(arg) + "' (short options cannot be combined)");
            }
        } else if (inline_value) {
            value = *inline_value;
        } else {
            if (i + 1 >= args.size())
                throw usage_error("option " + shown + " needs a value (" + std::string(o->value_name) + ")");
            value = args[++i];
        }
        o->set(value);
        if (stop && *stop) break;
    }
    return positional;
}

std::string option_parser::describe() const {
    constexpr std::size_t max_col = 34;
    std::size_t col = 0;
    for (const auto& o : options_) {
        const auto len = left_column(o).size();
        if (len <= max_col) col = std::max(col, len);
    }
    col += 2;
    std::string out;
    for (const auto& o : options_) {
        auto left = left_column(o);
        out += left;
        if (left.size() + 2 > col) {
            out += '\n';
            out.append(col, ' ');
        } else {
            out.append(col - left.size(), ' ');
        }
        // Continuation lines of a multi-line help text are indented to the column.
        std::string_view help = o.help;
        for (;;) {
            const auto nl = help.find('\n');
            out += help.substr(0, nl);
            out += '\n';
            if (nl == std::string_view::npos) break;
            help.remove_prefix(nl + 1);
            out.append(col, ' ');
        }
    }
    return out;
}

// --- property_set ----------------------------------------------------------------------------

void property_set::set(std::string name, std::string value, std::string origin) {
    origins_.insert_or_assign(name, std::move(origin));
    values_.insert_or_assign(std::move(name), std::move(value));
}

void property_set::set_assignment(std::string_view assignment, std::string origin) {
    const auto eq = assignment.find('=');
    if (eq == std::string_view::npos)
        throw usage_error("expected NAME=VALUE after " + origin + ", got '" + std::string(assignment) + "'");
    const auto name = trim(assignment.substr(0, eq));
    if (name.empty()) throw usage_error("empty property name in " + origin + " '" + std::string(assignment) + "'");
    set(std::string(name), std::string(assignment.substr(eq + 1)), std::move(origin));
}

void property_set::load_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw usage_error("cannot read config file '" + path + "': " + std::strerror(errno));
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const auto text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        const auto where = path + ":" + std::to_string(number);
        const auto eq = text.find('=');
        if (eq == std::string_view::npos)
            throw usage_error(where + ": expected NAME=VALUE, got '" + std::string(text) + "'");
        const auto name = trim(text.substr(0, eq));
        if (name.empty()) throw usage_error(where + ": empty property name");
        set(std::string(name), std::string(trim(text.substr(eq + 1))), where);
    }
    if (in.bad()) throw usage_error("cannot read config file '" + path + "': " + std::strerror(errno));
}

std::string property_set::origin(std::string_view name) const {
    const auto it = origins_.find(name);
    return it == origins_.end() ? std::string() : it->second;
}

// --- client_options --------------------------------------------------------------------------

void client_options::add_bootstrap(option_parser& parser) {
    parser.add({'b', "bootstrap-server", "HOST:PORT[,...]", "bootstrap brokers (bootstrap.servers)",
                [this](std::string_view v) { properties.set("bootstrap.servers", std::string(v), "-b"); }});
}

void client_options::require_bootstrap() const {
    if (!file_properties.contains("bootstrap.servers") && !properties.contains("bootstrap.servers"))
        throw usage_error("missing -b HOST:PORT (or bootstrap.servers with -X or in a --config file)");
}

void client_options::add_common(option_parser& parser, std::string_view config_option) {
    parser.add({'X', "property", "NAME=VALUE",
                "set a client property (repeatable), with librdkafka/Java names,\n"
                "e.g. -X request.timeout.ms=5000",
                [this](std::string_view v) { properties.set_assignment(v, "-X"); }});
    parser.add({0, config_option, "FILE",
                "read properties from FILE: NAME=VALUE lines, # comments;\n"
                "command-line options override them",
                [this](std::string_view v) { file_properties.load_file(std::string(v)); }});
    parser.add({'d', "debug", "CONTEXTS",
                "log debug messages of these contexts on stderr (debug):\n"
                "all, or broker,metadata,producer,consumer,group,security",
                [this](std::string_view v) { properties.set("debug", std::string(v), "-d"); }});
    parser.add({'v', "verbose", "", "log more on stderr: informational messages (twice: debug)\n"
                "(warnings and errors are always logged)",
                [this](std::string_view) { ++verbosity; }});
    parser.add({'h', "help", "", "show this help and exit", [this](std::string_view) { help = true; }});
}

property_set client_options::merged() const {
    property_set out = file_properties;
    for (const auto& [name, value] : properties.values()) out.set(name, value, properties.origin(name));
    return out;
}

namespace {

template <class Config>
void apply_or_throw(Config& cfg, const property_set& props) {
    std::string what;
    using client::apply_properties;  // and, by argument-dependent lookup, admin::apply_properties
    if (!apply_properties(cfg, props.values(), &what)) return;
    // `what` names the property first ("name=value: ...", "name=value requires ...") or quotes it
    // ("unknown property 'name'"): say where that property came from.
    constexpr std::string_view unknown = "unknown property '";
    const auto name = what.starts_with(unknown) ? what.substr(unknown.size(), what.find('\'', unknown.size()) - unknown.size())
                                                : what.substr(0, what.find('='));
    std::string origin = props.origin(name);
    if (!origin.empty()) origin = " (from " + origin + ")";
    throw usage_error("invalid configuration: " + what + origin);
}

}  // namespace

void client_options::configure_logging(client::connection_config& cfg) const {
    cfg.log.handler = client::stderr_log_handler();
    if (verbosity >= 1 && cfg.log.level < client::log_level::info) cfg.log.level = client::log_level::info;
    if (verbosity >= 2) {
        cfg.log.level = client::log_level::debug;
        cfg.log.debug = client::all_log_contexts;
    }
}

void client_options::apply(client::connection_config& cfg) const {
    if (!file_properties.values().empty()) {
        client::producer_config wide;
        static_cast<client::connection_config&>(wide) = cfg;
        apply_or_throw(wide, file_properties);
        cfg = static_cast<const client::connection_config&>(wide);
    }
    apply_or_throw(cfg, properties);
    configure_logging(cfg);
}

void client_options::apply(client::producer_config& cfg) const {
    apply_or_throw(cfg, merged());
    configure_logging(cfg);
}
void client_options::apply(client::consumer_config& cfg) const {
    apply_or_throw(cfg, merged());
    configure_logging(cfg);
}

void client_options::apply(admin::admin_config& cfg) const {
    // The admin client's own properties first (from anywhere), then the rest as for any client.
    client_options rest;
    property_set own;
    const auto split = [&](const property_set& from, property_set& others) {
        for (const auto& [name, value] : from.values()) {
            if (admin::is_admin_property(name)) own.set(name, value, from.origin(name));
            else others.set(name, value, from.origin(name));
        }
    };
    split(file_properties, rest.file_properties);
    split(properties, rest.properties);
    rest.verbosity = verbosity;
    rest.apply(static_cast<client::connection_config&>(cfg));
    apply_or_throw(cfg, own);
}

// --- helpers ---------------------------------------------------------------------------------

std::string describe_error(const std::error_code& ec) {
    if (ec.category() == kafka_category()) return std::string(kafka_error_name(static_cast<std::int16_t>(ec.value())));
    return ec.message();
}

std::optional<std::int64_t> parse_integer(std::string_view s, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
    return v;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

int run_subcommand(std::string_view command, std::span<const std::string_view> args,
                   std::span<const subcommand> subcommands, std::string_view intro) {
    std::string help = std::string(intro) + "\nSubcommands:\n";
    for (const auto& s : subcommands) {
        help += "  " + std::string(s.name);
        help.append(s.name.size() < 16 ? 16 - s.name.size() : 1, ' ');
        help += std::string(s.summary) + "\n";
    }
    help += "\nkwire " + std::string(command) + " SUBCOMMAND --help shows a subcommand's options.\n";
    if (args.empty()) throw usage_error("missing subcommand (" + std::string(command) + " --help lists them)");
    if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        std::fputs(help.c_str(), stdout);
        return exit_ok;
    }
    for (const auto& s : subcommands)
        if (s.name == args[0]) return s.run(args.subspan(1));
    throw usage_error("unknown subcommand '" + std::string(args[0]) + "' of " + std::string(command));
}

bool client_options::parse_command_line(option_parser& parser, std::span<const std::string_view> args,
                                        std::string_view help_text, std::string_view config_option) {
    add_common(parser, config_option);
    const auto positional = parser.parse(args, &help);
    if (help) {
        std::fputs((std::string(help_text) + parser.describe()).c_str(), stdout);
        return true;
    }
    if (!positional.empty()) throw usage_error("unexpected argument '" + std::string(positional.front()) + "'");
    require_bootstrap();
    return false;
}

}  // namespace kwire::tools
