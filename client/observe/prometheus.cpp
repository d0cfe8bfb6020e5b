// The Prometheus text exposition format (0.0.4) of metrics registries: one HELP/TYPE block per
// metric name across every registry (the format wants a name's samples together), label values
// escaped, histograms in seconds with cumulative buckets. See to_prometheus() in metrics.hpp.
#include <algorithm>
#include <charconv>
#include <map>

#include "kwire/client/metrics.hpp"

namespace kwire::client {

namespace {

std::string prometheus_name(std::string_view java_name, std::string_view suffix = {}) {
    std::string out = "kwire_";
    for (char c : java_name) out += (c == '-' || c == '.') ? '_' : c;
    out += suffix;
    return out;
}

void append_escaped(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

void append_number(std::string& out, double v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

/// `{client_id="p",broker="1"}` plus `extra` (already formatted, e.g. `le="0.001"`); "" if none.
std::string label_text(const metric_labels& l, std::string_view extra = {}) {
    std::string out;
    const auto add = [&](std::string_view name, std::string_view value) {
        out += out.empty() ? "{" : ",";
        out += name;
        out += "=\"";
        append_escaped(out, value);
        out += '"';
    };
    if (!l.client_id.empty()) add("client_id", l.client_id);
    if (l.broker) add("broker", std::to_string(*l.broker));
    if (!l.topic.empty()) add("topic", l.topic);
    if (l.partition) add("partition", std::to_string(*l.partition));
    if (!l.error.empty()) add("error", l.error);
    if (!extra.empty()) {
        out += out.empty() ? "{" : ",";
        out += extra;
    }
    if (!out.empty()) out += '}';
    return out;
}

struct family {
    std::string_view help;
    std::string_view type;
    std::string lines;
};

void add_line(family& f, const std::string& name, const std::string& labels, double value) {
    f.lines += name;
    f.lines += labels;
    f.lines += ' ';
    append_number(f.lines, value);
    f.lines += '\n';
}

/// How a unit is shown: the name's suffix, the factor from a recorded value to the exposed one
/// (buckets, sum), and the factor for the Java-style avg and max gauges.
struct unit_view {
    std::string_view suffix;
    double scale;
    double java_scale;
};
unit_view view_of(metric_unit u) {
    switch (u) {
        case metric_unit::microseconds: return {"_seconds", 1e-6, 1e-3};  // avg/max in ms, as Java's
        case metric_unit::bytes: return {"_bytes", 1, 1};
        case metric_unit::permille: return {"_ratio", 1e-3, 1e-3};
        case metric_unit::count: break;
    }
    return {"", 1, 1};
}

void add_histogram(std::map<std::string, family>& families, const metrics_registry::sample& s) {
    const auto& h = s.histogram;
    const auto unit = view_of(s.unit);
    const auto base = prometheus_name(s.name, unit.suffix);
    auto& f = families[base];
    f.help = s.help;
    f.type = "histogram";
    // Buckets at powers of four (1 µs .. 4^13 µs = 67 s; bytes up to 64 MiB): coarse enough to
    // keep the exposition short, the exact distribution stays in the snapshot.
    for (std::uint64_t le = 1; le <= (std::uint64_t{1} << 26); le *= 4) {
        std::string bound = "le=\"";
        append_number(bound, static_cast<double>(le) * unit.scale);
        bound += '"';
        add_line(f, base + "_bucket", label_text(s.labels, bound), static_cast<double>(h.count_at_most(le)));
    }
    add_line(f, base + "_bucket", label_text(s.labels, "le=\"+Inf\""), static_cast<double>(h.count));
    add_line(f, base + "_sum", label_text(s.labels), static_cast<double>(h.sum) * unit.scale);
    add_line(f, base + "_count", label_text(s.labels), static_cast<double>(h.count));
    // The Java client's names for the same thing, in its unit (milliseconds for times).
    const bool time = s.unit == metric_unit::microseconds;
    auto& avg = families[prometheus_name(s.name, "_avg")];
    avg.help = time ? "average in milliseconds" : "average";
    avg.type = "gauge";
    add_line(avg, prometheus_name(s.name, "_avg"), label_text(s.labels), h.mean() * unit.java_scale);
    auto& max = families[prometheus_name(s.name, "_max")];
    max.help = time ? "maximum in milliseconds" : "maximum";
    max.type = "gauge";
    add_line(max, prometheus_name(s.name, "_max"), label_text(s.labels), static_cast<double>(h.max) * unit.java_scale);
}

}  // namespace

std::string to_prometheus(std::span<const metrics_registry* const> registries) {
    std::map<std::string, family> families;
    for (const auto* r : registries) {
        if (!r) continue;
        for (const auto& s : r->snapshot()) {
            if (s.type == metric_type::histogram) {
                add_histogram(families, s);
                continue;
            }
            const auto name = prometheus_name(s.name);
            auto& f = families[name];
            f.help = s.help;
            f.type = s.type == metric_type::counter ? "counter" : "gauge";
            add_line(f, name, label_text(s.labels), static_cast<double>(s.value));
        }
    }
    std::string out;
    for (const auto& [name, f] : families) {
        out += "# HELP " + name + ' ';
        for (char c : f.help) out += c == '\n' ? ' ' : c;  // HELP escapes only \ and newline
        out += "\n# TYPE " + name + ' ';
        out += f.type;
        out += '\n';
        out += f.lines;
    }
    return out;
}

}  // namespace kwire::client
