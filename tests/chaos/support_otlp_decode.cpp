// OTLP payloads read through `protoc --decode_raw` (support_otlp_decode.hpp).
#include "support_otlp_decode.hpp"

#include <cstring>
#include <sstream>

#include "subprocess.hpp"

namespace kwire::test {

namespace {

/// protoc's C-style escapes in a quoted string.
std::string unquote(const std::string& s) {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        if (c >= '0' && c <= '7') {
            int v = 0;
            for (int k = 0; k < 3 && i < s.size() - 1 && s[i] >= '0' && s[i] <= '7'; ++k, ++i) v = v * 8 + (s[i] - '0');
            --i;
            out += static_cast<char>(v);
        } else {
            out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
    }
    return out;
}

/// Parses protoc's raw output ("N: value" and "N { ... }" lines) into a tree.
raw_field parse(const std::string& text) {
    raw_field root;
    root.message = true;
    std::vector<raw_field*> stack{&root};
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto b = line.find_first_not_of(' ');
        if (b == std::string::npos) continue;
        line = line.substr(b);
        if (line == "}") {
            stack.pop_back();
            continue;
        }
        raw_field f;
        f.number = std::stoi(line);
        if (line.ends_with(" {")) {
            f.message = true;
            stack.back()->children.push_back(f);
            stack.push_back(&stack.back()->children.back());
        } else {
            f.value = line.substr(line.find(": ") + 2);
            if (f.value.starts_with("\"")) f.value = unquote(f.value);
            stack.back()->children.push_back(f);
        }
    }
    return root;
}

std::map<std::string, std::string> attributes(const raw_field& holder, int field) {
    std::map<std::string, std::string> out;
    for (const auto* kv : holder.all(field)) {
        const auto* any = kv->first(2);
        out[kv->text(1)] = any ? any->text(1) : "";
    }
    return out;
}

decoded_metric data_point(const std::string& name, const std::string& kind, const raw_field& body, const raw_field& p) {
    decoded_metric m;
    m.name = name;
    m.kind = kind;
    m.start_nanos = p.fixed64(2);
    m.time_nanos = p.fixed64(3);
    if (const auto* t = body.first(2)) m.temporality = std::stoi(t->value);
    if (kind == "histogram") {
        m.attributes = attributes(p, 9);
        m.count = p.fixed64(4);
    } else {
        m.attributes = attributes(p, 7);
        if (p.first(4)) {
            m.is_double = true;
            m.double_value = p.float64(4);
        } else {
            m.int_value = static_cast<std::int64_t>(p.fixed64(6));
        }
    }
    return m;
}

}  // namespace

std::vector<const raw_field*> raw_field::all(int n) const {
    std::vector<const raw_field*> out;
    for (const auto& c : children)
        if (c.number == n) out.push_back(&c);
    return out;
}

const raw_field* raw_field::first(int n) const {
    for (const auto& c : children)
        if (c.number == n) return &c;
    return nullptr;
}

std::string raw_field::text(int n) const {
    const auto* f = first(n);
    return f && !f->message ? f->value : "";
}

std::uint64_t raw_field::fixed64(int n) const {
    const auto* f = first(n);
    return f ? std::stoull(f->value, nullptr, 0) : 0;
}

double raw_field::float64(int n) const {
    const auto bits = fixed64(n);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

const decoded_metric* decoded_payload::find(const std::string& name) const {
    for (const auto& m : metrics)
        if (m.name == name) return &m;
    return nullptr;
}

bool protoc_available() { return peers::program_available("protoc"); }

decoded_payload decode_otlp(const std::vector<std::uint8_t>& payload) {
    decoded_payload out;
    const auto r = peers::run_process({"protoc", "--decode_raw"}, std::string(payload.begin(), payload.end()));
    if (!r.ok()) {
        out.error = r.describe();
        return out;
    }
    const auto root = parse(r.out);
    for (const auto* rm : root.all(1)) {             // ExportMetricsServiceRequest.resource_metrics
        if (const auto* res = rm->first(1)) out.resource = attributes(*res, 1);
        for (const auto* sm : rm->all(2)) {          // ResourceMetrics.scope_metrics
            for (const auto* metric : sm->all(2)) {  // ScopeMetrics.metrics
                const auto name = metric->text(1);
                for (const auto& [field, kind] : {std::pair{5, "gauge"}, {7, "sum"}, {9, "histogram"}})
                    if (const auto* body = metric->first(field))
                        for (const auto* p : body->all(1)) out.metrics.push_back(data_point(name, kind, *body, *p));
            }
        }
    }
    out.ok = true;
    return out;
}

}  // namespace kwire::test
