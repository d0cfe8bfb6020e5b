// kwire topics list|describe|create|delete|add-partitions|alter-config: the admin client's topic
// and config calls, one per subcommand.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "admin_session.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "output.hpp"

namespace kwire::tools {

namespace {

using namespace kwire::admin;

// --- list ------------------------------------------------------------------------------------

int topics_list(std::span<const std::string_view> args) {
    admin_session s;
    bool internal = false;
    bool json = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add({0, "internal", "", "include internal topics (__consumer_offsets, ...)", [&](std::string_view) { internal = true; }});
    parser.add({0, "json", "", "print one JSON document instead of a table", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire topics list -b HOST:PORT[,...] [--internal] [--json]\n"
                "\n"
                "Lists the cluster's topics, sorted by name, with their partition counts.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    auto [ec, topics] = run_call<std::vector<topic_listing>>(s.io, [&](auto h) { s.admin().list_topics(internal, h); });
    if (ec) return s.call_failed("list topics", ec);
    std::string out;
    if (json) {
        out = "{\"topics\":[";
        for (std::size_t i = 0; i < topics.size(); ++i) {
            if (i) out += ',';
            out += "{\"name\":";
            json_string(out, topics[i].name);
            out += ",\"partitions\":" + std::to_string(topics[i].partitions) +
                   ",\"internal\":" + (topics[i].internal ? "true" : "false") + "}";
        }
        out += "]}\n";
    } else {
        std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITIONS"}};
        for (const auto& t : topics)
            rows.push_back({t.name + (t.internal ? " (internal)" : ""), std::to_string(t.partitions)});
        out = table(rows, "");
    }
    return write_stdout(out) ? exit_ok : exit_failure;
}

// --- describe --------------------------------------------------------------------------------

void config_json(std::string& out, const config_entry& c) {
    out += "{\"name\":";
    json_string(out, c.name);
    out += ",\"value\":";
    json_optional_string(out, c.value);
    out += ",\"source\":";
    json_string(out, to_string(c.source));
    out += std::string(",\"default\":") + (c.is_default ? "true" : "false") +
           ",\"read_only\":" + (c.read_only ? "true" : "false") + ",\"sensitive\":" + (c.sensitive ? "true" : "false") +
           "}";
}

int topics_describe(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> names;
    bool json = false;
    bool all_configs = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "a topic to describe (repeatable); default: every topic"));
    parser.add({0, "all-configs", "", "show every config, defaults too (default: those set on the topic)",
                [&](std::string_view) { all_configs = true; }});
    parser.add({0, "json", "", "print one JSON document instead of tables", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire topics describe -b HOST:PORT[,...] [-t TOPIC]... [--all-configs] [--json]\n"
                "\n"
                "Describes topics: each partition's leader, leader epoch, replicas, in-sync replicas\n"
                "(ISR) and offline replicas (Metadata), and the topic's configs (DescribeConfigs, from the\n"
                "controller; brokers without it show the partitions only). Without -t, every topic.\n"
                "Describing a topic never creates it. Exits 1 if a topic does not exist (naming it).\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (names.empty()) {
        auto [ec, topics] = run_call<std::vector<topic_listing>>(s.io, [&](auto h) { s.admin().list_topics(false, h); });
        if (ec) return s.call_failed("list topics", ec);
        for (const auto& t : topics) names.push_back(t.name);
    }
    auto [ec, described] =
        run_call<std::vector<topic_description>>(s.io, [&](auto h) { s.admin().describe_topics(names, h); });
    if (ec) return s.call_failed("describe topics", ec);
    std::vector<config_resource> resources;
    for (const auto& t : described)
        if (!t.error) resources.push_back({resource_type::topic, t.name});
    std::pair<std::error_code, std::vector<config_description>> configs;
    if (!resources.empty())
        configs = run_call<std::vector<config_description>>(s.io, [&](auto h) { s.admin().describe_configs(resources, h); });
    const auto configs_of = [&](const std::string& name) -> const config_description* {
        for (const auto& c : configs.second)
            if (c.resource.name == name) return &c;
        return nullptr;
    };
    const auto shown = [&](const config_entry& c) { return all_configs || c.source == config_source::dynamic_topic; };

    int code = exit_ok;
    std::string out;
    if (json) out = "{\"topics\":[";
    for (std::size_t i = 0; i < described.size(); ++i) {
        const auto& t = described[i];
        const auto* cfg = configs_of(t.name);
        const std::error_code cfg_error = cfg ? std::error_code(cfg->error) : configs.first;
        if (t.error) {
            std::fprintf(stderr, "kwire: topic '%s': %s\n", t.name.c_str(), describe_error(t.error).c_str());
            code = exit_failure;
        }
        if (json) {
            if (i) out += ',';
            json_topic_fields(out, t);
            out += ",\"configs\":";
            if (cfg && !cfg->error) {
                out += '[';
                bool first = true;
                for (const auto& c : cfg->entries) {
                    if (!shown(c)) continue;
                    if (!first) out += ',';
                    first = false;
                    config_json(out, c);
                }
                out += ']';
            } else {
                out += "null";
            }
            out += ",\"configs_error\":";
            if (cfg_error) json_string(out, describe_error(cfg_error));
            else out += "null";
            out += '}';
            continue;
        }
        if (t.error) {
            out += "Topic '" + t.name + "': " + describe_error(t.error) + "\n";
            continue;
        }
        const auto rf = t.partitions.empty() ? std::size_t{0} : t.partitions.front().replicas.size();
        out += "Topic '" + t.name + "'" + (t.internal ? " (internal)" : "") + ": " +
               plural(t.partitions.size(), "partition") + ", replication factor " + std::to_string(rf) + "\n";
        out += partition_table(t.partitions, "  ");
        if (cfg_error) {
            out += "  Configs: not available (" + describe_error(cfg_error) + ")\n";
        } else if (cfg) {
            std::vector<std::vector<std::string>> crows{{"CONFIG", "VALUE", "SOURCE"}};
            for (const auto& c : cfg->entries)
                if (shown(c))
                    crows.push_back({c.name, c.sensitive ? "(sensitive)" : c.value.value_or("(null)"),
                                     std::string(to_string(c.source))});
            if (crows.size() == 1) out += all_configs ? "  Configs: none\n" : "  Configs: all defaults\n";
            else out += table(crows, "  ");
        }
    }
    if (json) out += "]}\n";
    if (!write_stdout(out)) return exit_failure;
    return code;
}

// --- create / delete / add-partitions --------------------------------------------------------

/// "1:2:3,2:3:1": partition 0 on brokers 1,2,3; partition 1 on 2,3,1; ...
std::vector<std::vector<std::int32_t>> parse_assignment(std::string_view s) {
    std::vector<std::vector<std::int32_t>> out;
    for (const auto& part : split(s, ',')) {
        auto& replicas = out.emplace_back();
        for (const auto& id : split(part, ':')) {
            const auto v = parse_integer(id, 0, 0x7fffffff);
            if (!v) throw usage_error("--replica-assignment: '" + std::string(id) + "' is not a broker id (expected e.g. 1:2,2:3)");
            replicas.push_back(static_cast<std::int32_t>(*v));
        }
        if (replicas.empty()) throw usage_error("--replica-assignment: a partition without replicas");
    }
    if (out.empty()) throw usage_error("--replica-assignment needs BROKER:BROKER,... per partition");
    return out;
}

/// Prints each item's outcome; returns the exit code.
int report_topic_results(const admin_session& s, std::string_view verb, std::error_code ec,
                         const std::vector<topic_result>& results, std::string_view done_text,
                         std::int16_t ignored_error = 0) {
    if (ec && results.empty()) return s.call_failed(std::string(verb) + " topics", ec);
    int code = exit_ok;
    for (const auto& r : results) {
        if (!r.error || (ignored_error != 0 && r.error == kafka_error(ignored_error))) {
            std::printf("%.*s '%s'.\n", static_cast<int>(done_text.size()), done_text.data(), r.name.c_str());
            continue;
        }
        std::fprintf(stderr, "kwire: cannot %.*s topic '%s': %s%s%s\n", static_cast<int>(verb.size()), verb.data(),
                     r.name.c_str(), describe_error(r.error).c_str(), r.message.empty() ? "" : ": ", r.message.c_str());
        code = exit_failure;
    }
    return std::fflush(stdout) == 0 ? code : exit_failure;
}

int topics_create(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> names;
    std::int64_t partitions = -1, replication = -1;
    std::vector<std::vector<std::int32_t>> assignment;
    std::map<std::string, std::string> configs;
    bool validate_only = false, if_not_exists = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "the topic to create (repeatable)"));
    parser.add({0, "partitions", "N", "number of partitions (default: the broker's num.partitions)",
                [&](std::string_view v) { partitions = integer_option("--partitions", v, 1, 1000000); }});
    parser.add({0, "replication-factor", "N",
                "replicas per partition (default: the broker's default.replication.factor)",
                [&](std::string_view v) { replication = integer_option("--replication-factor", v, 1, 32767); }});
    parser.add({0, "replica-assignment", "LIST",
                "explicit replicas, partition by partition: 1:2,2:3,3:1 puts partition 0 on\n"
                "brokers 1 and 2 (leader first), ... (instead of the two options above)",
                [&](std::string_view v) { assignment = parse_assignment(v); }});
    parser.add({0, "config", "NAME=VALUE", "a topic config, e.g. cleanup.policy=compact (repeatable)",
                [&](std::string_view v) {
                    const auto eq = v.find('=');
                    if (eq == std::string_view::npos || eq == 0) throw usage_error("--config needs NAME=VALUE");
                    configs[std::string(v.substr(0, eq))] = std::string(v.substr(eq + 1));
                }});
    parser.add({0, "validate-only", "", "let the controller check the request, create nothing",
                [&](std::string_view) { validate_only = true; }});
    parser.add({0, "if-not-exists", "", "a topic that exists already is not an error",
                [&](std::string_view) { if_not_exists = true; }});
    // --config is the topic config here; a properties file is --command-config, as in Kafka's tools.
    if (s.parse(parser, args,
                "Usage: kwire topics create -b HOST:PORT[,...] -t TOPIC [--partitions N]\n"
                "         [--replication-factor N | --replica-assignment LIST] [--config NAME=VALUE]...\n"
                "         [--validate-only] [--if-not-exists]\n"
                "\n"
                "Creates topics (CreateTopics, sent to the controller). Prints one line per topic created;\n"
                "exits 1 if any could not be, naming the topic and the Kafka error (TOPIC_ALREADY_EXISTS,\n"
                "INVALID_REPLICATION_FACTOR, POLICY_VIOLATION, ...). Defaults for the partitions and the\n"
                "replication factor need brokers of Kafka 2.4 or newer.\n"
                "\n"
                "Here --config sets a topic config; read client properties from a file with\n"
                "--command-config FILE.\n"
                "\n"
                "Options:\n",
                true))
        return exit_ok;
    if (names.empty()) throw usage_error("missing -t TOPIC");
    if (!assignment.empty() && (partitions >= 0 || replication >= 0))
        throw usage_error("--replica-assignment replaces --partitions and --replication-factor");
    std::vector<new_topic> topics;
    for (const auto& n : names) {
        new_topic t{.name = n,
                    .partitions = static_cast<std::int32_t>(partitions),
                    .replication_factor = static_cast<std::int16_t>(replication),
                    .assignments = {},
                    .configs = configs};
        for (std::size_t p = 0; p < assignment.size(); ++p) t.assignments[static_cast<std::int32_t>(p)] = assignment[p];
        topics.push_back(std::move(t));
    }
    auto [ec, results] = run_call<std::vector<topic_result>>(
        s.io, [&](auto h) { s.admin().create_topics(topics, {.validate_only = validate_only}, h); });
    return report_topic_results(s, "create", ec, results, validate_only ? "Validated topic" : "Created topic",
                                if_not_exists ? std::int16_t{36} : std::int16_t{0});
}

int topics_delete(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> names;
    bool if_exists = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "the topic to delete (repeatable)"));
    parser.add({0, "if-exists", "", "a topic that does not exist is not an error", [&](std::string_view) { if_exists = true; }});
    if (s.parse(parser, args,
                "Usage: kwire topics delete -b HOST:PORT[,...] -t TOPIC... [--if-exists]\n"
                "\n"
                "Deletes topics (DeleteTopics, sent to the controller), with every record in them.\n"
                "Prints one line per topic deleted; exits 1 if any could not be, naming the topic and\n"
                "the Kafka error (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_DELETION_DISABLED, ...).\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (names.empty()) throw usage_error("missing -t TOPIC");
    auto [ec, results] = run_call<std::vector<topic_result>>(s.io, [&](auto h) { s.admin().delete_topics(names, h); });
    return report_topic_results(s, "delete", ec, results, "Deleted topic", if_exists ? std::int16_t{3} : std::int16_t{0});
}

int topics_add_partitions(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> names;
    std::int64_t total = -1;
    std::vector<std::vector<std::int32_t>> assignment;
    bool validate_only = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "the topic to grow (repeatable)"));
    parser.add({0, "partitions", "N", "the new total number of partitions (required)",
                [&](std::string_view v) { total = integer_option("--partitions", v, 1, 1000000); }});
    parser.add({0, "replica-assignment", "LIST", "replicas of each new partition: 1:2,2:3,... (default: the controller's)",
                [&](std::string_view v) { assignment = parse_assignment(v); }});
    parser.add({0, "validate-only", "", "check, change nothing", [&](std::string_view) { validate_only = true; }});
    if (s.parse(parser, args,
                "Usage: kwire topics add-partitions -b HOST:PORT[,...] -t TOPIC --partitions N\n"
                "         [--replica-assignment LIST] [--validate-only]\n"
                "\n"
                "Grows topics to N partitions (CreatePartitions, sent to the controller). Partitions\n"
                "never shrink; keyed records may map to other partitions afterwards.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (names.empty()) throw usage_error("missing -t TOPIC");
    if (total < 0) throw usage_error("missing --partitions N");
    std::vector<new_partitions> topics;
    for (const auto& n : names) topics.push_back({n, static_cast<std::int32_t>(total), assignment});
    auto [ec, results] = run_call<std::vector<topic_result>>(
        s.io, [&](auto h) { s.admin().create_partitions(topics, validate_only, h); });
    return report_topic_results(s, "add partitions to", ec, results,
                                validate_only ? "Validated new partitions of topic" : "Added partitions to topic");
}

// --- alter-config ----------------------------------------------------------------------------

int topics_alter_config(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> names;
    std::vector<std::string> brokers;
    std::vector<config_alteration> changes;
    bool validate_only = false;
    const auto assignment = [&](alter_op op, std::string_view flag) {
        return [&, op, flag](std::string_view v) {
            const auto eq = v.find('=');
            if (eq == std::string_view::npos || eq == 0)
                throw usage_error(std::string(flag) + " needs NAME=VALUE");
            changes.push_back({std::string(v.substr(0, eq)), op, std::string(v.substr(eq + 1))});
        };
    };
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "a topic whose configs change (repeatable)"));
    parser.add({0, "broker", "ID", "a broker whose configs change (repeatable); \"\" for the cluster-wide default",
                [&](std::string_view v) {
                    if (!v.empty() && !parse_integer(v, 0, 0x7fffffff)) throw usage_error("--broker needs a broker id");
                    brokers.emplace_back(v);
                }});
    parser.add({0, "set", "NAME=VALUE", "set a config (repeatable)", assignment(alter_op::set, "--set")});
    parser.add({0, "delete", "NAME", "remove a config: back to its default (repeatable)", [&](std::string_view v) {
                    if (v.empty()) throw usage_error("--delete needs a config name");
                    changes.push_back({std::string(v), alter_op::remove, std::nullopt});
                }});
    parser.add({0, "append", "NAME=VALUE", "add VALUE to a list config (repeatable)", assignment(alter_op::append, "--append")});
    parser.add({0, "subtract", "NAME=VALUE", "remove VALUE from a list config (repeatable)",
                assignment(alter_op::subtract, "--subtract")});
    parser.add({0, "validate-only", "", "check, change nothing", [&](std::string_view) { validate_only = true; }});
    if (s.parse(parser, args,
                "Usage: kwire topics alter-config -b HOST:PORT[,...] (-t TOPIC | --broker ID)...\n"
                "         [--set NAME=VALUE] [--delete NAME] [--append NAME=VALUE] [--subtract NAME=VALUE]...\n"
                "         [--validate-only]\n"
                "\n"
                "Changes configs incrementally (IncrementalAlterConfigs, Kafka 2.3+): the configs not\n"
                "named keep their values. A topic's change goes to the controller, a broker's to that\n"
                "broker. Prints one line per topic or broker changed; exits 1 if any change was refused,\n"
                "naming it and the Kafka error (INVALID_CONFIG, POLICY_VIOLATION, ...).\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (names.empty() && brokers.empty()) throw usage_error("missing -t TOPIC or --broker ID");
    if (changes.empty()) throw usage_error("nothing to change: give --set, --delete, --append or --subtract");
    std::vector<resource_alterations> all;
    const auto add = [&](resource_type type, const std::string& name) {
        auto& r = all.emplace_back();
        r.resource.type = type;
        r.resource.name = name;
        r.alterations = changes;
    };
    for (const auto& n : names) add(resource_type::topic, n);
    for (const auto& b : brokers) add(resource_type::broker, b);
    auto [ec, results] = run_call<std::vector<resource_result>>(
        s.io, [&](auto h) { s.admin().alter_configs(all, validate_only, h); });
    if (ec && results.empty()) return s.call_failed("alter configs", ec);
    int code = exit_ok;
    for (const auto& r : results) {
        const auto what = r.resource.type == resource_type::topic ? "topic '" + r.resource.name + "'"
                                                                  : "broker " + (r.resource.name.empty() ? std::string("default") : r.resource.name);
        if (!r.error) {
            std::printf("%s configs of %s.\n", validate_only ? "Validated" : "Altered", what.c_str());
            continue;
        }
        std::fprintf(stderr, "kwire: cannot alter configs of %s: %s%s%s\n", what.c_str(), describe_error(r.error).c_str(),
                     r.message.empty() ? "" : ": ", r.message.c_str());
        code = exit_failure;
    }
    return std::fflush(stdout) == 0 ? code : exit_failure;
}

constexpr subcommand topic_subcommands[] = {
    {"list", "list the topics", topics_list},
    {"describe", "partitions, leaders, replicas, ISR and configs of topics", topics_describe},
    {"create", "create topics", topics_create},
    {"delete", "delete topics", topics_delete},
    {"add-partitions", "grow topics to more partitions", topics_add_partitions},
    {"alter-config", "set, delete, append to or subtract from topic or broker configs", topics_alter_config},
};

}  // namespace

int run_topics(const command_context& ctx) {
    return run_subcommand(ctx.name, ctx.args, topic_subcommands,
                          "Usage: kwire topics SUBCOMMAND -b HOST:PORT[,...] [OPTIONS]\n"
                          "\n"
                          "Manages topics and their configs with the admin client.\n");
}

}  // namespace kwire::tools
