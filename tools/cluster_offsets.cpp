// kwire offsets (earliest and latest offsets per partition) and kwire cluster (brokers,
// controller, cluster id, and the APIs each broker speaks).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "admin_session.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "output.hpp"

namespace kwire::tools {

using namespace kwire::admin;

int run_offsets(const command_context& ctx) {
    admin_session s;
    std::vector<std::string> names;
    std::optional<std::int64_t> timestamp;
    bool json = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(topic_option(names, "the topic (repeatable; required)"));
    parser.add({0, "timestamp", "MS", "also the first offset with a timestamp >= MS (ms since the epoch)",
                [&](std::string_view v) { timestamp = integer_option("--timestamp", v, 0, INT64_MAX); }});
    parser.add({0, "json", "", "print one JSON document instead of a table", [&](std::string_view) { json = true; }});
    if (s.parse(parser, ctx.args,
                "Usage: kwire offsets -b HOST:PORT[,...] -t TOPIC... [--timestamp MS] [--json]\n"
                "\n"
                "Prints each partition's earliest offset (the log start) and latest offset (the end: the\n"
                "offset the next record gets), and the record count between them, asking each\n"
                "partition's leader (ListOffsets). With --timestamp, also the first offset whose record\n"
                "timestamp is at or after MS (-1: none). Exits 1 if a topic or partition fails, naming it.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (names.empty()) throw usage_error("missing -t TOPIC");
    auto [tec, topics] = run_call<std::vector<topic_description>>(s.io, [&](auto h) { s.admin().describe_topics(names, h); });
    if (tec) return s.call_failed("describe topics", tec);
    int code = exit_ok;
    std::vector<topic_partition> partitions;
    for (const auto& t : topics) {
        if (t.error) {
            std::fprintf(stderr, "kwire: topic '%s': %s\n", t.name.c_str(), describe_error(t.error).c_str());
            code = exit_failure;
        }
        for (const auto& p : t.partitions) partitions.push_back({t.name, p.id});
    }
    const auto lookup = [&](std::int64_t spec) {
        std::vector<offset_query> q;
        for (const auto& tp : partitions) q.push_back({tp, spec});
        return run_call<std::vector<listed_offset>>(s.io, [&](auto h) { s.admin().list_offsets(q, h); });
    };
    std::pair<std::error_code, std::vector<listed_offset>> earliest, latest, at;
    if (!partitions.empty()) {
        earliest = lookup(offset_spec::earliest);
        latest = lookup(offset_spec::latest);
        if (timestamp) at = lookup(*timestamp);
        for (const auto ec : {earliest.first, latest.first, at.first})
            if (ec) return s.call_failed("list offsets", ec);
    }
    std::string out = json ? "{\"partitions\":[" : "";
    std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITION", "EARLIEST", "LATEST", "RECORDS"}};
    if (timestamp) rows[0].push_back("AT-TIMESTAMP");
    rows[0].push_back("ERROR");
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        const auto& e = earliest.second[i];
        const auto& l = latest.second[i];
        std::error_code err = e.error ? e.error : l.error;
        if (timestamp && !err) err = at.second[i].error;
        if (err) {
            std::fprintf(stderr, "kwire: topic '%s' partition %d: %s\n", partitions[i].topic.c_str(), partitions[i].partition,
                         describe_error(err).c_str());
            code = exit_failure;
        }
        const auto count = !err && l.offset >= e.offset ? l.offset - e.offset : -1;
        if (json) {
            if (i) out += ',';
            out += "{\"topic\":";
            json_string(out, partitions[i].topic);
            out += ",\"partition\":" + std::to_string(partitions[i].partition) + ",\"earliest\":" + std::to_string(e.offset) +
                   ",\"latest\":" + std::to_string(l.offset) + ",\"records\":" + std::to_string(count);
            if (timestamp) out += ",\"at_timestamp\":" + std::to_string(at.second[i].offset);
            out += ',';
            json_error(out, err);
            out += '}';
            continue;
        }
        std::vector<std::string> row{partitions[i].topic, std::to_string(partitions[i].partition),
                                     e.error ? "-" : std::to_string(e.offset), l.error ? "-" : std::to_string(l.offset),
                                     count >= 0 ? std::to_string(count) : "-"};
        if (timestamp) row.push_back(at.second[i].error ? "-" : std::to_string(at.second[i].offset));
        row.push_back(error_cell(err));
        rows.push_back(std::move(row));
    }
    out += json ? "]}\n" : table(rows, "");
    if (!write_stdout(out)) return exit_failure;
    return code;
}

int run_cluster(const command_context& ctx) {
    admin_session s;
    bool json = false, versions = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add({0, "api-versions", "", "also each broker's API version ranges (ApiVersions)",
                [&](std::string_view) { versions = true; }});
    parser.add({0, "json", "", "print one JSON document instead of tables", [&](std::string_view) { json = true; }});
    if (s.parse(parser, ctx.args,
                "Usage: kwire cluster -b HOST:PORT[,...] [--api-versions] [--json]\n"
                "\n"
                "Describes the cluster: its id, the controller and the brokers (DescribeCluster on\n"
                "Kafka 2.8+, Metadata before). With --api-versions, asks every broker which versions of\n"
                "each API it speaks. Exits 1 if the cluster or a broker cannot be reached, naming it.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    auto [ec, cluster] = run_call<cluster_description>(s.io, [&](auto h) { s.admin().describe_cluster(h); });
    if (ec) return s.call_failed("describe the cluster", ec);
    std::pair<std::error_code, std::vector<broker_api_versions>> apis;
    int code = exit_ok;
    if (versions) {
        apis = run_call<std::vector<broker_api_versions>>(s.io, [&](auto h) { s.admin().api_versions(h); });
        if (apis.first) return s.call_failed("ask the brokers' API versions", apis.first);
        for (const auto& b : apis.second)
            if (b.error) {
                std::fprintf(stderr, "kwire: broker %d (%s): %s\n", b.node_id, b.address.c_str(), describe_error(b.error).c_str());
                code = exit_failure;
            }
    }
    std::string out;
    if (json) {
        out = "{\"cluster_id\":";
        json_optional_string(out, cluster.cluster_id);
        out += ",\"controller_id\":" + std::to_string(cluster.controller_id) + ",\"brokers\":[";
        for (std::size_t i = 0; i < cluster.brokers.size(); ++i) {
            const auto& b = cluster.brokers[i];
            if (i) out += ',';
            json_broker_fields(out, b);
            if (versions) {
                for (const auto& v : apis.second) {
                    if (v.node_id != b.node_id) continue;
                    out += ',';
                    json_error(out, v.error);
                    out += ",\"api_versions\":[";
                    for (std::size_t j = 0; j < v.apis.size(); ++j) {
                        if (j) out += ',';
                        out += "{\"api_key\":" + std::to_string(v.apis[j].api_key) + ",\"name\":";
                        json_string(out, api_name(v.apis[j].api_key));
                        out += ",\"min\":" + std::to_string(v.apis[j].min_version) +
                               ",\"max\":" + std::to_string(v.apis[j].max_version) + "}";
                    }
                    out += ']';
                }
            }
            out += '}';
        }
        out += "]}\n";
    } else {
        out = cluster_text(cluster.cluster_id, cluster.controller_id, cluster.brokers);
        for (const auto& v : apis.second) {
            out += "Broker " + std::to_string(v.node_id) + " (" + v.address + ") API versions";
            if (v.error) {
                out += ": " + describe_error(v.error) + "\n";
                continue;
            }
            out += ":\n";
            std::vector<std::vector<std::string>> arows{{"API", "KEY", "MIN", "MAX"}};
            for (const auto& a : v.apis) {
                const auto name = api_name(a.api_key);
                arows.push_back({name.empty() ? "?" : std::string(name), std::to_string(a.api_key),
                                 std::to_string(a.min_version), std::to_string(a.max_version)});
            }
            out += table(arows, "  ");
        }
    }
    if (!write_stdout(out)) return exit_failure;
    return code;
}

}  // namespace kwire::tools
