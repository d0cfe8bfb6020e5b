// kwire groups list|describe|delete|lag|reset-offsets: consumer groups, through their coordinators.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "admin_session.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "output.hpp"

namespace kwire::tools {

namespace {

using namespace kwire::admin;

option group_option(std::vector<std::string>& groups, std::string_view help) {
    return {'g', "group", "GROUP", help, [&groups](std::string_view v) {
                if (v.empty()) throw usage_error("-g needs a group id");
                groups.emplace_back(v);
            }};
}

/// "orders:0,1 payments:2", or "-".
std::string assignment_text(const std::vector<topic_partition>& tps) {
    std::string out;
    for (std::size_t i = 0; i < tps.size(); ++i) {
        if (i == 0 || tps[i].topic != tps[i - 1].topic) out += (out.empty() ? "" : " ") + tps[i].topic + ":";
        else out += ',';
        out += std::to_string(tps[i].partition);
    }
    return out.empty() ? "-" : out;
}

void tp_json(std::string& out, const topic_partition& tp) {
    out += "\"topic\":";
    json_string(out, tp.topic);
    out += ",\"partition\":" + std::to_string(tp.partition);
}

int groups_list(std::span<const std::string_view> args) {
    admin_session s;
    bool json = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add({0, "json", "", "print one JSON document instead of a table", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire groups list -b HOST:PORT[,...] [--json]\n"
                "\n"
                "Lists the groups every broker coordinates (ListGroups), with their protocol type\n"
                "(\"consumer\" for consumer groups), state (Kafka 2.6+) and coordinator. If some broker\n"
                "cannot answer, the others' groups are printed and kwire exits 1 naming the error.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    auto [ec, groups] = run_call<std::vector<group_listing>>(s.io, [&](auto h) { s.admin().list_groups(h); });
    if (ec && groups.empty()) return s.call_failed("list groups", ec);
    std::string out;
    if (json) {
        out = "{\"groups\":[";
        for (std::size_t i = 0; i < groups.size(); ++i) {
            if (i) out += ',';
            out += "{\"group\":";
            json_string(out, groups[i].group_id);
            out += ",\"protocol_type\":";
            json_string(out, groups[i].protocol_type);
            out += ",\"state\":";
            json_string(out, groups[i].state);
            out += ",\"coordinator\":" + std::to_string(groups[i].coordinator) + "}";
        }
        out += "]}\n";
    } else {
        std::vector<std::vector<std::string>> rows{{"GROUP", "TYPE", "STATE", "COORDINATOR"}};
        for (const auto& g : groups)
            rows.push_back({g.group_id, g.protocol_type.empty() ? "-" : g.protocol_type, g.state.empty() ? "-" : g.state,
                            std::to_string(g.coordinator)});
        out = table(rows, "");
    }
    if (!write_stdout(out)) return exit_failure;
    if (ec) return s.call_failed("list the groups of every broker", ec);
    return exit_ok;
}

int groups_describe(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> ids;
    bool json = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(group_option(ids, "a group to describe (repeatable)"));
    parser.add({0, "json", "", "print one JSON document instead of tables", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire groups describe -b HOST:PORT[,...] -g GROUP... [--json]\n"
                "\n"
                "Describes groups (DescribeGroups, from each group's coordinator): state, protocol,\n"
                "coordinator, and each member's id, client id, host and assigned partitions (decoded\n"
                "from the consumer protocol). Exits 1 if a group cannot be described, naming it.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (ids.empty()) throw usage_error("missing -g GROUP");
    auto [ec, groups] = run_call<std::vector<group_description>>(s.io, [&](auto h) { s.admin().describe_groups(ids, h); });
    if (ec) return s.call_failed("describe groups", ec);
    int code = exit_ok;
    std::string out = json ? "{\"groups\":[" : "";
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const auto& g = groups[i];
        if (g.error) {
            std::fprintf(stderr, "kwire: group '%s': %s\n", g.group_id.c_str(), describe_error(g.error).c_str());
            code = exit_failure;
        }
        if (json) {
            if (i) out += ',';
            out += "{\"group\":";
            json_string(out, g.group_id);
            out += ',';
            json_error(out, g.error);
            out += ",\"state\":";
            json_string(out, g.state);
            out += ",\"protocol_type\":";
            json_string(out, g.protocol_type);
            out += ",\"protocol\":";
            json_string(out, g.protocol);
            out += ",\"coordinator\":" + std::to_string(g.coordinator) + ",\"members\":[";
            for (std::size_t j = 0; j < g.members.size(); ++j) {
                const auto& m = g.members[j];
                if (j) out += ',';
                out += "{\"member_id\":";
                json_string(out, m.member_id);
                out += ",\"group_instance_id\":";
                json_optional_string(out, m.group_instance_id);
                out += ",\"client_id\":";
                json_string(out, m.client_id);
                out += ",\"client_host\":";
                json_string(out, m.client_host);
                out += ",\"assignment\":[";
                for (std::size_t k = 0; k < m.assignment.size(); ++k) {
                    out += k ? ",{" : "{";
                    tp_json(out, m.assignment[k]);
                    out += '}';
                }
                out += "]}";
            }
            out += "]}";
            continue;
        }
        if (g.error) {
            out += "Group '" + g.group_id + "': " + describe_error(g.error) + "\n";
            continue;
        }
        out += "Group '" + g.group_id + "': state " + g.state + ", protocol " +
               (g.protocol_type.empty() ? std::string("-") : g.protocol_type) + "/" +
               (g.protocol.empty() ? std::string("-") : g.protocol) + ", coordinator " + std::to_string(g.coordinator) +
               ", " + plural(g.members.size(), "member") + "\n";
        if (g.members.empty()) continue;
        std::vector<std::vector<std::string>> rows{{"MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT"}};
        for (const auto& m : g.members)
            rows.push_back({m.member_id, m.client_id, m.client_host,
                            m.assignment_error ? "(undecodable: " + m.assignment_error.message() + ")"
                                               : assignment_text(m.assignment)});
        out += table(rows, "  ");
    }
    if (json) out += "]}\n";
    if (!write_stdout(out)) return exit_failure;
    return code;
}

int groups_delete(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> ids;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(group_option(ids, "a group to delete (repeatable)"));
    if (s.parse(parser, args,
                "Usage: kwire groups delete -b HOST:PORT[,...] -g GROUP...\n"
                "\n"
                "Deletes groups and their committed offsets (DeleteGroups, Kafka 1.1+). Only a group\n"
                "without members can be deleted (NON_EMPTY_GROUP otherwise). Prints one line per group\n"
                "deleted; exits 1 if any could not be, naming the group and the Kafka error.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (ids.empty()) throw usage_error("missing -g GROUP");
    auto [ec, results] = run_call<std::vector<group_result>>(s.io, [&](auto h) { s.admin().delete_groups(ids, h); });
    if (ec && results.empty()) return s.call_failed("delete groups", ec);
    int code = exit_ok;
    for (const auto& r : results) {
        if (!r.error) {
            std::printf("Deleted group '%s'.\n", r.group_id.c_str());
            continue;
        }
        std::fprintf(stderr, "kwire: cannot delete group '%s': %s\n", r.group_id.c_str(), describe_error(r.error).c_str());
        code = exit_failure;
    }
    return std::fflush(stdout) == 0 ? code : exit_failure;
}

std::string offset_cell(std::int64_t o) { return o >= 0 ? std::to_string(o) : std::string("-"); }

int groups_lag(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> ids;
    bool json = false;
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(group_option(ids, "the group (required)"));
    parser.add({0, "json", "", "print one JSON document instead of a table", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire groups lag -b HOST:PORT[,...] -g GROUP [--json]\n"
                "\n"
                "For each partition the group committed an offset to: the committed offset (OffsetFetch,\n"
                "from the coordinator), the end offset (ListOffsets latest, from the leader) and the lag\n"
                "between them, then the total. Exits 1 if a partition's offsets cannot be read.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (ids.size() != 1) throw usage_error(ids.empty() ? "missing -g GROUP" : "lag takes one -g GROUP");
    auto [ec, lags] = run_call<std::vector<partition_lag>>(s.io, [&](auto h) { s.admin().group_lag(ids[0], h); });
    if (ec) return s.call_failed("read the offsets of group '" + ids[0] + "'", ec);
    int code = exit_ok;
    std::int64_t total = 0;
    std::string out;
    if (json) out = "{\"group\":", json_string(out, ids[0]), out += ",\"partitions\":[";
    std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "ERROR"}};
    for (std::size_t i = 0; i < lags.size(); ++i) {
        const auto& l = lags[i];
        if (l.lag > 0) total += l.lag;
        if (l.error) {
            std::fprintf(stderr, "kwire: group '%s', topic '%s' partition %d: %s\n", ids[0].c_str(), l.tp.topic.c_str(),
                         l.tp.partition, describe_error(l.error).c_str());
            code = exit_failure;
        }
        if (json) {
            out += i ? ",{" : "{";
            tp_json(out, l.tp);
            out += ",\"committed\":" + std::to_string(l.committed) + ",\"end_offset\":" + std::to_string(l.end_offset) +
                   ",\"lag\":" + std::to_string(l.lag) + ",";
            json_error(out, l.error);
            out += '}';
        } else {
            rows.push_back({l.tp.topic, std::to_string(l.tp.partition), offset_cell(l.committed), offset_cell(l.end_offset),
                            offset_cell(l.lag), error_cell(l.error)});
        }
    }
    if (json) {
        out += "],\"total_lag\":" + std::to_string(total) + "}\n";
    } else if (lags.empty()) {
        out = "Group '" + ids[0] + "' has no committed offsets.\n";
    } else {
        out = table(rows, "") + "Total lag: " + std::to_string(total) + "\n";
    }
    if (!write_stdout(out)) return exit_failure;
    return code;
}

// --- reset-offsets ---------------------------------------------------------------------------

struct reset_target {
    enum kind { none, earliest, latest, offset, timestamp, shift } how = none;
    std::int64_t value = 0;
};

int groups_reset_offsets(std::span<const std::string_view> args) {
    admin_session s;
    std::vector<std::string> ids;
    std::vector<std::string> topic_args;
    bool all_topics = false, execute = false, json = false;
    reset_target target;
    const auto set_target = [&](reset_target::kind k, std::int64_t v = 0) {
        if (target.how != reset_target::none) throw usage_error("give one of --to-earliest, --to-latest, --to-offset, --to-timestamp, --shift-by");
        target = {k, v};
    };
    option_parser parser;
    s.options.add_bootstrap(parser);
    parser.add(group_option(ids, "the group (required; it must have no active members)"));
    parser.add({'t', "topic", "TOPIC[:P,P...]", "reset this topic (all its partitions, or those listed; repeatable)",
                [&](std::string_view v) {
                    if (v.empty()) throw usage_error("-t needs a topic name");
                    topic_args.emplace_back(v);
                }});
    parser.add({0, "all-topics", "", "reset every topic the group has committed offsets for",
                [&](std::string_view) { all_topics = true; }});
    parser.add({0, "to-earliest", "", "to each partition's earliest offset", [&](std::string_view) { set_target(reset_target::earliest); }});
    parser.add({0, "to-latest", "", "to each partition's end offset", [&](std::string_view) { set_target(reset_target::latest); }});
    parser.add({0, "to-offset", "N", "to offset N (kept within each partition's earliest..end)", [&](std::string_view v) {
                    set_target(reset_target::offset, integer_option("--to-offset", v, 0, INT64_MAX));
                }});
    parser.add({0, "to-timestamp", "MS", "to the first offset with a timestamp >= MS (ms since the epoch)",
                [&](std::string_view v) { set_target(reset_target::timestamp, integer_option("--to-timestamp", v, 0, INT64_MAX)); }});
    parser.add({0, "shift-by", "N", "move the committed offset by N (may be negative; kept in range)", [&](std::string_view v) {
                    set_target(reset_target::shift, integer_option("--shift-by", v, INT64_MIN / 2, INT64_MAX / 2));
                }});
    parser.add({0, "execute", "", "commit the new offsets (without it: only show them)", [&](std::string_view) { execute = true; }});
    parser.add({0, "json", "", "print the plan as one JSON document", [&](std::string_view) { json = true; }});
    if (s.parse(parser, args,
                "Usage: kwire groups reset-offsets -b HOST:PORT[,...] -g GROUP (-t TOPIC[:P,...]... | --all-topics)\n"
                "         (--to-earliest | --to-latest | --to-offset N | --to-timestamp MS | --shift-by N)\n"
                "         [--execute] [--json]\n"
                "\n"
                "Computes new committed offsets for a group and, with --execute, commits them\n"
                "(OffsetCommit with no generation and no member id, as Kafka's own tool does). Without\n"
                "--execute it is a dry run: the plan is printed and nothing changes. The group must\n"
                "have no active members: stop its consumers first (the coordinator refuses otherwise).\n"
                "Exits 1 if a partition's offset could not be reset, naming it and the Kafka error.\n"
                "\n"
                "Options:\n"))
        return exit_ok;
    if (ids.size() != 1) throw usage_error(ids.empty() ? "missing -g GROUP" : "reset-offsets takes one -g GROUP");
    if (topic_args.empty() == !all_topics) throw usage_error("give -t TOPIC or --all-topics (not both)");
    if (target.how == reset_target::none)
        throw usage_error("missing --to-earliest, --to-latest, --to-offset, --to-timestamp or --shift-by");
    const auto& group = ids[0];

    // The group must be inactive. Brokers without DescribeGroups leave the check to OffsetCommit.
    auto [dec, described] = run_call<std::vector<group_description>>(s.io, [&](auto h) { s.admin().describe_groups({group}, h); });
    if (!dec && !described.empty() && !described[0].error && !described[0].members.empty()) {
        std::fprintf(stderr, "kwire: group '%s' is active (state %s, %s): stop its consumers before resetting its offsets\n",
                     group.c_str(), described[0].state.c_str(), plural(described[0].members.size(), "member").c_str());
        return exit_failure;
    }

    auto [cec, committed] = run_call<std::vector<committed_offset>>(s.io, [&](auto h) { s.admin().list_group_offsets(group, h); });
    if (cec) return s.call_failed("read the committed offsets of group '" + group + "'", cec);
    std::map<topic_partition, std::int64_t> current;
    for (const auto& c : committed) current[c.tp] = c.offset;

    std::vector<topic_partition> partitions;
    if (all_topics) {
        for (const auto& c : committed) partitions.push_back(c.tp);
    } else {
        std::vector<std::string> whole;
        for (const auto& arg : topic_args) {
            const auto colon = arg.find(':');
            if (colon == std::string::npos) {
                whole.push_back(arg);
                continue;
            }
            for (const auto p : split(std::string_view(arg).substr(colon + 1), ','))
                partitions.push_back({arg.substr(0, colon), static_cast<std::int32_t>(integer_option("-t", p, 0, 0x7fffffff))});
        }
        if (!whole.empty()) {
            auto [tec, topics] = run_call<std::vector<topic_description>>(s.io, [&](auto h) { s.admin().describe_topics(whole, h); });
            if (tec) return s.call_failed("describe topics", tec);
            for (const auto& t : topics) {
                if (t.error) {
                    std::fprintf(stderr, "kwire: topic '%s': %s\n", t.name.c_str(), describe_error(t.error).c_str());
                    return exit_failure;
                }
                for (const auto& p : t.partitions) partitions.push_back({t.name, p.id});
            }
        }
    }
    std::sort(partitions.begin(), partitions.end());
    partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
    if (partitions.empty()) {
        std::fprintf(stderr, "kwire: group '%s': nothing to reset (no partitions)\n", group.c_str());
        return exit_failure;
    }

    // Each partition's earliest and end offsets bound every target; timestamps are looked up.
    const auto lookup = [&](std::int64_t spec) {
        std::vector<offset_query> q;
        for (const auto& tp : partitions) q.push_back({tp, spec});
        return run_call<std::vector<listed_offset>>(s.io, [&](auto h) { s.admin().list_offsets(q, h); });
    };
    auto [eec, earliest] = lookup(offset_spec::earliest);
    auto [lec, latest] = lookup(offset_spec::latest);
    std::pair<std::error_code, std::vector<listed_offset>> at_time;
    if (target.how == reset_target::timestamp) at_time = lookup(target.value);
    if (eec || lec || at_time.first) return s.call_failed("list offsets", eec ? eec : lec ? lec : at_time.first);

    struct plan_row {
        topic_partition tp;
        std::int64_t current = -1;
        std::int64_t target = -1;
        std::error_code error;
    };
    std::vector<plan_row> plan;
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        plan_row row{partitions[i], current.count(partitions[i]) ? current[partitions[i]] : -1, -1, {}};
        row.error = earliest[i].error ? earliest[i].error : latest[i].error;
        const auto lo = earliest[i].offset, hi = latest[i].offset;
        const auto clamp = [&](std::int64_t v) { return std::clamp(v, lo, std::max(lo, hi)); };
        switch (target.how) {
            case reset_target::earliest: row.target = lo; break;
            case reset_target::latest: row.target = hi; break;
            case reset_target::offset: row.target = clamp(target.value); break;
            case reset_target::timestamp:
                if (!row.error) row.error = at_time.second[i].error;
                // No record at or after the timestamp: the end.
                row.target = at_time.second[i].offset >= 0 ? at_time.second[i].offset : hi;
                break;
            case reset_target::shift: row.target = clamp((row.current >= 0 ? row.current : lo) + target.value); break;
            case reset_target::none: break;
        }
        plan.push_back(row);
    }

    std::map<topic_partition, std::error_code> outcome;
    if (execute) {
        std::vector<std::pair<topic_partition, std::int64_t>> offsets;
        for (const auto& r : plan)
            if (!r.error) offsets.emplace_back(r.tp, r.target);
        auto [aec, results] = run_call<std::vector<partition_result>>(
            s.io, [&](auto h) { s.admin().alter_group_offsets(group, offsets, h); });
        if (aec && results.empty()) return s.call_failed("commit the offsets of group '" + group + "'", aec);
        for (const auto& r : results) outcome[r.tp] = r.error;
    }

    int code = exit_ok;
    std::string out = json ? "{\"group\":" : "";
    if (json) json_string(out, group), out += std::string(",\"executed\":") + (execute ? "true" : "false") + ",\"partitions\":[";
    std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITION", "CURRENT", "NEW", "ERROR"}};
    for (std::size_t i = 0; i < plan.size(); ++i) {
        auto& r = plan[i];
        if (!r.error && outcome.count(r.tp)) r.error = outcome[r.tp];
        if (r.error) {
            std::fprintf(stderr, "kwire: group '%s', topic '%s' partition %d: %s\n", group.c_str(), r.tp.topic.c_str(),
                         r.tp.partition, describe_error(r.error).c_str());
            code = exit_failure;
        }
        if (json) {
            out += i ? ",{" : "{";
            tp_json(out, r.tp);
            out += ",\"current\":" + std::to_string(r.current) + ",\"new\":" + std::to_string(r.target) + ",";
            json_error(out, r.error);
            out += '}';
        } else {
            rows.push_back({r.tp.topic, std::to_string(r.tp.partition), offset_cell(r.current), offset_cell(r.target),
                            error_cell(r.error)});
        }
    }
    if (json) {
        out += "]}\n";
    } else {
        out = table(rows, "");
        out += execute ? (code == exit_ok ? "Committed the new offsets of group '" + group + "'.\n"
                                          : std::string("Some offsets were not committed (see the errors).\n"))
                       : std::string("Dry run: nothing changed. Add --execute to commit these offsets.\n");
    }
    if (!write_stdout(out)) return exit_failure;
    return code;
}

constexpr subcommand group_subcommands[] = {
    {"list", "list the groups", groups_list},
    {"describe", "state, members and their assignments", groups_describe},
    {"delete", "delete groups without members", groups_delete},
    {"lag", "committed offsets, end offsets and lag per partition", groups_lag},
    {"reset-offsets", "move an inactive group's committed offsets", groups_reset_offsets},
};

}  // namespace

int run_groups(const command_context& ctx) {
    return run_subcommand(ctx.name, ctx.args, group_subcommands,
                          "Usage: kwire groups SUBCOMMAND -b HOST:PORT[,...] [OPTIONS]\n"
                          "\n"
                          "Inspects and manages consumer groups with the admin client.\n");
}

}  // namespace kwire::tools
