// kwire consume: records of a topic to stdout, formatted like kcat's -f.
//
// Without -g, the consumer reads the partitions itself (all of the topic's, or -p's) from -o
// (default: the beginning). With -g it joins the group, resumes at the group's committed
// offsets (-o says where to start when there are none) and commits what it printed, per
// --commit. A record counts as processed once it is written to stdout.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "metrics_endpoint.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metadata.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace kwire::tools {

namespace {

constexpr std::string_view help_text =
    "Usage: kwire consume -b HOST:PORT[,...] -t TOPIC [OPTIONS]\n"
    "\n"
    "Prints the records of TOPIC on stdout, by default each value followed by a newline.\n"
    "\n"
    "Without -g, reads every partition of TOPIC (or only -p's) from -o (default: beginning),\n"
    "without a consumer group. With -g GROUP, joins the group, starts each partition it is\n"
    "given at the group's committed offset (where there is none: -o beginning or end, default\n"
    "end) and commits the records it has printed, per --commit (default interval:0, every\n"
    "record as soon as it is printed). With -g and -p, reads exactly that partition and commits\n"
    "for the group without joining it.\n"
    "\n"
    "Stops after -c COUNT records, or with -e once every partition is read to its end (its\n"
    "high watermark when reached), otherwise runs until interrupted (Ctrl-C), then commits what\n"
    "it printed, leaves the group and exits 0 (130 if interrupted). Errors (an unknown topic,\n"
    "an offset out of range with -X auto.offset.reset=none, a fatal group error) are printed on\n"
    "stderr with the Kafka error name, exit status 1.\n"
    "\n"
    "FORMAT (-f), as kcat's: %t topic, %p partition, %o offset, %k key, %s value, %h headers\n"
    "(name=value,...), %T timestamp (ms), %K key length, %S value length, %% a percent sign;\n"
    "\\n newline, \\t tab, \\\\ backslash. A null key or value prints as nothing.\n"
    "\n"
    "Options:\n";

struct consume_settings {
    std::string topic;
    std::string group;
    std::optional<std::int32_t> partition;
    std::optional<std::string> offset;  // beginning, end, or a number
    std::optional<std::uint64_t> count;
    bool exit_at_end = false;
    std::string format = "%s\\n";
};

void append_bytes(std::string& out, const std::optional<protocol::bytes_view>& b) {
    if (b) out.append(b->as_string());
}

/// Renders one record per the format.
void render(std::string& out, std::string_view fmt, const consumer_record& r) {
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '\\' && i + 1 < fmt.size()) {
            const char e = fmt[++i];
            out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
            continue;
        }
        if (c != '%' || i + 1 >= fmt.size()) {
            out += c;
            continue;
        }
        switch (fmt[++i]) {
            case 't': out.append(r.topic); break;
            case 'p': out += std::to_string(r.partition); break;
            case 'o': out += std::to_string(r.offset); break;
            case 'k': append_bytes(out, r.key); break;
            case 's': append_bytes(out, r.value); break;
            case 'K': out += r.key ? std::to_string(r.key->size()) : std::string("-1"); break;
            case 'S': out += r.value ? std::to_string(r.value->size()) : std::string("-1"); break;
            case 'T': out += std::to_string(r.timestamp); break;
            case 'h': {
                bool first = true;
                for (const auto& h : r.headers) {
                    if (!first) out += ',';
                    first = false;
                    out.append(h.key);
                    out += '=';
                    append_bytes(out, h.value);
                }
                break;
            }
            case '%': out += '%'; break;
            default:
                out += '%';
                out += fmt[i];
        }
    }
}

class record_printer {
public:
    std::function<void()> after_close;  // once the consumer is closed (stop serving metrics: io.run() can return)

    record_printer(boost::asio::io_context& io, consumer_config cfg, consume_settings s)
        : io_(io),
          settings_(std::move(s)),
          signals_(io, SIGINT, SIGTERM),
          progress_(io, [this] { return "kwire: " + std::to_string(printed_) + " records consumed"; }),
          consumer_(io.get_executor(), std::move(cfg)) {}

    int run(std::vector<std::int32_t> partitions) {
        signals_.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) return;
            interrupted_ = true;
            finish();
        });
        const auto start = [&]() -> std::int64_t {
            if (!settings_.offset || *settings_.offset == "beginning") return offset::beginning;
            if (*settings_.offset == "end") return offset::end;
            return *parse_integer(*settings_.offset, 0, INT64_MAX);
        }();
        if (!settings_.group.empty() && !settings_.partition) {
            consumer_.subscribe({settings_.topic});
        } else {
            std::vector<partition_offset> assign;
            for (const auto p : partitions)
                assign.push_back({settings_.topic, p, settings_.group.empty() || start >= 0 ? start : offset::committed});
            consumer_.assign(std::move(assign));
        }
        progress_.start();
        poll();
        io_.run();
        std::fflush(stdout);
        if (!error_.empty()) {
            std::fprintf(stderr, "kwire: %s\n", error_.c_str());
            return exit_failure;
        }
        if (isatty(STDERR_FILENO))
            std::fprintf(stderr, "kwire: %llu records consumed from '%s'\n", static_cast<unsigned long long>(printed_),
                         settings_.topic.c_str());
        return interrupted_ ? exit_interrupted : exit_ok;
    }

private:
    void poll() {
        consumer_.poll(std::chrono::milliseconds(200), [this](std::error_code ec, record_batch batch) {
            if (finishing_) return;
            if (ec) {
                error_ = "consuming '" + settings_.topic + "' failed: " + describe_error(ec);
                return finish();
            }
            line_.clear();
            for (const auto& r : batch) {
                if (settings_.count && printed_ >= *settings_.count) break;
                render(line_, settings_.format, r);
                ++printed_;
                pending_.push_back(&r);
            }
            if (!line_.empty() && std::fwrite(line_.data(), 1, line_.size(), stdout) != line_.size()) {
                error_ = "cannot write to stdout";
                return finish();
            }
            std::fflush(stdout);
            for (const auto* r : pending_) r->ack();  // printed: processed
            pending_.clear();
            if ((settings_.count && printed_ >= *settings_.count) || (settings_.exit_at_end && at_end())) return finish();
            poll();
        });
    }

    bool at_end() const {
        const auto assigned = consumer_.assignment();
        if (assigned.empty()) return false;
        for (const auto& tp : assigned) {
            const auto hw = consumer_.high_watermark(tp);
            const auto pos = consumer_.position(tp);
            if (!hw || !pos || *pos < *hw) return false;
        }
        return true;
    }

    void finish() {
        if (finishing_) return;
        finishing_ = true;
        progress_.stop();
        signals_.cancel();
        consumer_.close([this](std::error_code ec) {
            if (ec && error_.empty() && !interrupted_)
                error_ = "committing offsets for group '" + settings_.group + "' failed: " + describe_error(ec);
            if (after_close) after_close();
        });
    }

    boost::asio::io_context& io_;
    consume_settings settings_;
    boost::asio::signal_set signals_;
    progress_line progress_;
    kwire::consumer consumer_;
    std::string line_;
    std::vector<const consumer_record*> pending_;
    std::uint64_t printed_ = 0;
    std::string error_;
    bool finishing_ = false;
    bool interrupted_ = false;
};

}  // namespace

int run_consume(const command_context& ctx) {
    client_options common;
    consume_settings settings;
    std::optional<std::string> commit;

    option_parser parser;
    common.add_bootstrap(parser);
    parser.add({'t', "topic", "TOPIC", "topic to consume (required)", [&](std::string_view v) {
                    if (v.empty()) throw usage_error("-t needs a topic name");
                    settings.topic = v;
                }});
    parser.add({'g', "group", "GROUP", "consumer group to join (group.id)", [&](std::string_view v) {
                    if (v.empty()) throw usage_error("-g needs a group name");
                    settings.group = v;
                }});
    parser.add({'p', "partition", "N", "read only partition N", [&](std::string_view v) {
                    const auto n = parse_integer(v, 0, 0x7fffffff);
                    if (!n) throw usage_error("-p expects a partition number >= 0, got '" + std::string(v) + "'");
                    settings.partition = static_cast<std::int32_t>(*n);
                }});
    parser.add({'o', "offset", "beginning|end|N", "where to start (see above)", [&](std::string_view v) {
                    if (v != "beginning" && v != "end" && !parse_integer(v, 0, INT64_MAX))
                        throw usage_error("-o expects beginning, end or an offset >= 0, got '" + std::string(v) + "'");
                    settings.offset = std::string(v);
                }});
    parser.add({'c', "count", "N", "stop after N records", [&](std::string_view v) {
                    const auto n = parse_integer(v, 1, INT64_MAX);
                    if (!n) throw usage_error("-c expects a count >= 1, got '" + std::string(v) + "'");
                    settings.count = static_cast<std::uint64_t>(*n);
                }});
    parser.add({'e', "exit", "", "stop at the end of every partition", [&](std::string_view) { settings.exit_at_end = true; }});
    parser.add({'f', "format", "FORMAT", "output format (default '%s\\n'; see above)", [&](std::string_view v) {
                    settings.format = v;
                }});
    parser.add({0, "commit", "POLICY", "manual, on_poll or interval:MS (default interval:0)", [&](std::string_view v) {
                    if (!client::parse_commit_policy(v))
                        throw usage_error("--commit expects manual, on_poll or interval:MS, got '" + std::string(v) + "'");
                    commit = std::string(v);
                }});
    metrics_endpoint metrics;
    metrics.add_option(parser);
    if (common.parse_command_line(parser, ctx.args, help_text)) return exit_ok;
    if (settings.topic.empty()) throw usage_error("missing -t TOPIC");

    consumer_config cfg;
    if (!settings.group.empty()) common.properties.set("group.id", settings.group, "-g");
    if (commit) common.properties.set("kwire.commit", *commit, "--commit");
    if (settings.offset && (*settings.offset == "beginning" || *settings.offset == "end"))
        common.properties.set("auto.offset.reset", *settings.offset == "beginning" ? "earliest" : "latest", "-o");
    common.apply(cfg);

    boost::asio::io_context io(1);
    // Which partitions, when not in a group: the topic's, from metadata.
    std::vector<std::int32_t> partitions;
    if (settings.partition) {
        partitions.push_back(*settings.partition);
    } else if (settings.group.empty()) {
        std::error_code ec;
        cluster_metadata md;
        // Naming a topic in a Metadata request may create it (brokers with auto-creation on,
        // old Metadata versions without the flag): with allow.auto.create.topics=false, ask
        // for every topic instead.
        std::vector<std::string> ask;
        if (cfg.allow_auto_create_topics) ask.push_back(settings.topic);
        fetch_metadata(io.get_executor(), cfg, ask, [&](std::error_code e, cluster_metadata m) {
            ec = e;
            md = std::move(m);
        });
        io.run();
        io.restart();
        if (ec) {
            std::fprintf(stderr, "kwire: cannot read metadata from %s: %s\n", join(cfg.bootstrap_servers).c_str(),
                         describe_error(ec).c_str());
            return exit_failure;
        }
        for (const auto& t : md.topics) {
            if (t.name != settings.topic) continue;
            if (t.error) {
                std::fprintf(stderr, "kwire: topic '%s': %s\n", settings.topic.c_str(),
                             describe_error(kafka_error(t.error)).c_str());
                return exit_failure;
            }
            for (const auto& p : t.partitions) partitions.push_back(p.id);
        }
        if (partitions.empty() && std::none_of(md.topics.begin(), md.topics.end(),
                                               [&](const auto& t) { return t.name == settings.topic; })) {
            std::fprintf(stderr, "kwire: topic '%s': UNKNOWN_TOPIC_OR_PARTITION\n", settings.topic.c_str());
            return exit_failure;
        }
    }
    metrics.start(io, cfg);  // after the metadata above: its io.run() returns once that is done
    std::optional<record_printer> printer;
    try {
        printer.emplace(io, cfg, std::move(settings));
    } catch (const std::system_error& e) {
        throw usage_error(std::string("invalid configuration: ") + e.what());
    }
    printer->after_close = [&metrics] { metrics.stop(); };
    const int status = printer->run(std::move(partitions));
    metrics.stop();  // before the io_context it serves on goes (an interrupted run skips after_close)
    return status;
}

}  // namespace kwire::tools
