// kwire metadata: one Metadata request to the first bootstrap broker that answers, printed as a
// table or as one JSON document.
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "kwire/client/metadata.hpp"
#include "kwire/protocol/error.hpp"
#include "options.hpp"
#include "output.hpp"

namespace kwire::tools {

namespace {

constexpr std::string_view help_text =
    "Usage: kwire metadata -b HOST:PORT[,...] [-t TOPIC]... [--json] [-X NAME=VALUE]... [--config FILE]\n"
    "\n"
    "Fetches cluster metadata from the first bootstrap broker that answers and prints the\n"
    "brokers (id, host:port, rack), the controller, the cluster id, and each topic's partitions\n"
    "with their leader, leader epoch, replicas, in-sync replicas (ISR) and errors: a table by\n"
    "default, one JSON document on one line with --json. Without -t, every topic is listed.\n"
    "Asking for a topic does not create it (unless -X allow.auto.create.topics=true).\n"
    "\n"
    "Exits 1, naming the error on stderr, if no bootstrap broker answers or if a topic given\n"
    "with -t reports an error (it is still printed).\n"
    "\n"
    "Options:\n";

std::string render_table(const cluster_metadata& md) {
    std::string out = cluster_text(md.cluster_id, md.controller_id, md.brokers);
    out += plural(md.topics.size(), "topic") + ":\n";
    for (const auto& t : md.topics) {
        out += "  topic '" + t.name + "'" + (t.internal ? " (internal)" : "");
        if (t.error != 0) {
            out += ": " + std::string(kafka_error_name(t.error)) + "\n";
            if (t.partitions.empty()) continue;
        } else {
            out += ": " + plural(t.partitions.size(), "partition") + "\n";
        }
        out += partition_table(t.partitions, "    ");
    }
    return out;
}

std::string render_json(const cluster_metadata& md) {
    std::string out = "{\"cluster_id\":";
    json_optional_string(out, md.cluster_id);
    out += ",\"controller_id\":" + std::to_string(md.controller_id) + ",\"brokers\":[";
    for (std::size_t i = 0; i < md.brokers.size(); ++i) {
        if (i) out += ',';
        json_broker_fields(out, md.brokers[i]);
        out += '}';
    }
    out += "],\"topics\":[";
    for (std::size_t i = 0; i < md.topics.size(); ++i) {
        const auto& t = md.topics[i];
        if (i) out += ',';
        json_topic_fields(out, t);
        out += '}';
    }
    out += "]}\n";
    return out;
}

}  // namespace

int run_metadata(const command_context& ctx) {
    client_options common;
    std::vector<std::string> topics;
    bool json = false;

    option_parser parser;
    common.add_bootstrap(parser);
    parser.add({'t', "topic", "TOPIC", "only this topic (repeatable); default: every topic",
                [&](std::string_view v) {
                    if (v.empty()) throw usage_error("-t needs a topic name");
                    topics.emplace_back(v);
                }});
    parser.add({0, "json", "", "print one JSON document instead of a table", [&](std::string_view) { json = true; }});
    if (common.parse_command_line(parser, ctx.args, help_text)) return exit_ok;

    client::connection_config cfg;
    cfg.allow_auto_create_topics = false;  // looking must not create
    common.apply(cfg);

    boost::asio::io_context io(1);
    std::error_code error;
    cluster_metadata md;
    bool done = false;
    fetch_metadata(io.get_executor(), cfg, topics, [&](std::error_code ec, cluster_metadata m) {
        error = ec;
        md = std::move(m);
        done = true;
    });
    io.run();
    if (!done || error) {
        std::fprintf(stderr, "kwire: cannot fetch metadata from %s: %s\n", join(cfg.bootstrap_servers).c_str(),
                     done ? describe_error(error).c_str() : "no answer");
        return exit_failure;
    }

    std::sort(md.brokers.begin(), md.brokers.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
    std::sort(md.topics.begin(), md.topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (auto& t : md.topics)
        std::sort(t.partitions.begin(), t.partitions.end(), [](const auto& a, const auto& b) { return a.id < b.id; });

    if (!write_stdout(json ? render_json(md) : render_table(md))) return exit_failure;

    int code = exit_ok;
    for (const auto& t : md.topics) {
        if (t.error == 0 || topics.empty()) continue;
        std::fprintf(stderr, "kwire: topic '%s': %s\n", t.name.c_str(), std::string(kafka_error_name(t.error)).c_str());
        code = exit_failure;
    }
    return code;
}

}  // namespace kwire::tools
