// kwire: the command-line client. main() only dispatches to a command (commands.hpp) and turns
// its exceptions into messages and exit codes.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "options.hpp"

namespace {

using namespace kwire::tools;

struct command {
    std::string_view name;
    std::string_view summary;
    int (*run)(const command_context&);
};

// One row per command; the order is the order of `kwire --help`.
constexpr command commands[] = {
    {"produce", "produce records read from stdin, one per line", run_produce},
    {"consume", "print a topic's records, alone or in a consumer group", run_consume},
    {"metadata", "show brokers, controller, topics, partitions, leaders, replicas and ISR", run_metadata},
    {"topics", "list, describe, create and delete topics; add partitions; alter configs", run_topics},
    {"groups", "list, describe and delete consumer groups; show lag; reset offsets", run_groups},
    {"offsets", "show each partition's earliest and latest offsets", run_offsets},
    {"cluster", "show the cluster id, controller, brokers and their API versions", run_cluster},
};

const command* find_command(std::string_view name) {
    for (const auto& c : commands)
        if (c.name == name) return &c;
    return nullptr;
}

std::string usage() {
    std::string s =
        "Usage: kwire COMMAND [OPTIONS]\n"
        "       kwire COMMAND --help\n"
        "\n"
        "A command-line client for Apache Kafka, built on the kwire library.\n"
        "\n"
        "Commands:\n";
    for (const auto& c : commands) {
        s += "  ";
        s += c.name;
        s.append(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ');
        s += c.summary;
        s += '\n';
    }
    s +=
        "\n"
        "Options:\n"
        "  -h, --help     show this help (kwire help COMMAND: a command's help)\n"
        "  -V, --version  show the version\n"
        "\n"
        "Every command that talks to a cluster takes -b HOST:PORT[,...], -X NAME=VALUE (any client\n"
        "property, librdkafka/Java names) and --config FILE (NAME=VALUE lines, # comments; in\n"
        "'topics create', where --config sets a topic config, --command-config FILE). Commands that\n"
        "read take --json for one JSON document instead of tables. 'kwire topics --help' and\n"
        "'kwire groups --help' list their subcommands.\n"
        "\n"
        "Exit status: 0 on success, 1 when the operation failed (the reason is printed on stderr),\n"
        "2 for a usage or configuration error, 130 when interrupted.\n";
    return s;
}

int run(const command& cmd, std::span<const std::string_view> args) {
    try {
        return cmd.run({cmd.name, args});
    } catch (const usage_error& e) {
        std::fprintf(stderr, "kwire: %s\nTry 'kwire %.*s --help'.\n", e.what(), static_cast<int>(cmd.name.size()),
                     cmd.name.data());
        return exit_usage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kwire: %s\n", e.what());
        return exit_failure;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::fputs(usage().c_str(), stderr);
        return exit_usage;
    }
    const auto first = args[0];
    if (first == "-h" || first == "--help" || first == "help") {
        if (args.size() > 1 && first == "help") {
            const auto* cmd = find_command(args[1]);
            if (!cmd) {
                std::fprintf(stderr, "kwire: unknown command '%s'\nTry 'kwire --help'.\n", argv[2]);
                return exit_usage;
            }
            const std::string_view help_arg[] = {"--help"};
            return run(*cmd, help_arg);
        }
        std::fputs(usage().c_str(), stdout);
        return exit_ok;
    }
    if (first == "-V" || first == "--version") {
        std::printf("kwire %s\n", KWIRE_VERSION);
        return exit_ok;
    }
    const auto* cmd = find_command(first);
    if (!cmd) {
        if (first.starts_with('-'))
            std::fprintf(stderr, "kwire: unknown option '%s' (the command comes first)\nTry 'kwire --help'.\n",
                         argv[1]);
        else
            std::fprintf(stderr, "kwire: unknown command '%s'\nTry 'kwire --help'.\n", argv[1]);
        return exit_usage;
    }
    return run(*cmd, std::span<const std::string_view>(args).subspan(1));
}
