#include "tshark.hpp"

#include "kwire/protocol/wire.hpp"  // store_be

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace kwire::peers {

// ---------------------------------------------------------------------------------------------
// pcap writing

namespace {

using kwire::protocol::store_be;

constexpr std::uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_psh = 0x08, tcp_ack = 0x10;
constexpr std::size_t max_segment = 16000;  // payload bytes per TCP segment
constexpr std::uint16_t client_port = 45678;
constexpr std::uint32_t client_ip = 0x0a000001;  // 10.0.0.1
constexpr std::uint32_t server_ip = 0x0a000002;  // 10.0.0.2
constexpr std::uint32_t client_isn = 1000;
constexpr std::uint32_t server_isn = 500000;

void append(std::vector<std::uint8_t>& v, const std::uint8_t* p, std::size_t n) {
    const auto at = v.size();
    v.resize(at + n);
    if (n) std::memcpy(v.data() + at, p, n);
}
// pcap headers are in the writer's byte order; we write little-endian.
void store_le32(std::uint8_t* p, std::uint32_t x) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(x >> (8 * i));
}
void store_le16(std::uint8_t* p, std::uint16_t x) {
    p[0] = static_cast<std::uint8_t>(x);
    p[1] = static_cast<std::uint8_t>(x >> 8);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc);
}

}  // namespace

pcap_builder::pcap_builder() {
    segments_.push_back({true, {}, tcp_syn});
    segments_.push_back({false, {}, static_cast<std::uint8_t>(tcp_syn | tcp_ack)});
    segments_.push_back({true, {}, tcp_ack});
}

void pcap_builder::add(bool to_server, const std::vector<std::uint8_t>& payload) {
    for (std::size_t off = 0; off < payload.size(); off += max_segment) {
        const auto n = std::min(max_segment, payload.size() - off);
        segments_.push_back({to_server,
                             std::vector<std::uint8_t>(payload.begin() + static_cast<std::ptrdiff_t>(off),
                                                       payload.begin() + static_cast<std::ptrdiff_t>(off + n)),
                             static_cast<std::uint8_t>(tcp_psh | tcp_ack)});
    }
}

void pcap_builder::add_request(const std::vector<std::uint8_t>& frame) { add(true, frame); }

void pcap_builder::add_response(const std::vector<std::uint8_t>& frame, bool with_size_prefix) {
    if (with_size_prefix) {
        add(false, frame);
        return;
    }
    std::vector<std::uint8_t> full(4 + frame.size());
    store_be<std::uint32_t>(full.data(), static_cast<std::uint32_t>(frame.size()));
    if (!frame.empty()) std::memcpy(full.data() + 4, frame.data(), frame.size());
    add(false, full);
}

std::vector<std::uint8_t> pcap_builder::build() const {
    std::vector<std::uint8_t> out;
    // Global header: magic, v2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET.
    std::uint8_t global[24] = {};
    store_le32(global, 0xa1b2c3d4);
    store_le16(global + 4, 2);
    store_le16(global + 6, 4);
    store_le32(global + 16, 262144);
    store_le32(global + 20, 1);
    append(out, global, sizeof global);

    std::uint32_t seq[2] = {client_isn, server_isn};  // [0] client, [1] server: next seq to send
    bool acked_syn[2] = {false, false};
    std::uint32_t usec = 0;
    for (const auto& s : segments_) {
        const int me = s.to_server ? 0 : 1;
        const int peer = 1 - me;
        // Ethernet (14) + IPv4 (20) + TCP (20) headers, then the payload. Fixed offsets into a
        // pre-sized buffer (GCC 12's -Wstringop-overflow misfires on push_back chains at -O3).
        constexpr std::size_t eth = 0, ip = 14, tcp = 34, hdr = 54;
        std::vector<std::uint8_t> pkt(hdr + s.payload.size(), 0);
        std::uint8_t* b = pkt.data();
        const std::uint8_t cmac[6] = {0x02, 0, 0, 0, 0, 1}, smac[6] = {0x02, 0, 0, 0, 0, 2};
        std::memcpy(b + eth, s.to_server ? smac : cmac, 6);
        std::memcpy(b + eth + 6, s.to_server ? cmac : smac, 6);
        store_be<std::uint16_t>(b + eth + 12, 0x0800);
        const std::uint32_t src = s.to_server ? client_ip : server_ip;
        const std::uint32_t dst = s.to_server ? server_ip : client_ip;
        b[ip] = 0x45;
        store_be<std::uint16_t>(b + ip + 2, static_cast<std::uint16_t>(20 + 20 + s.payload.size()));
        store_be<std::uint16_t>(b + ip + 4, static_cast<std::uint16_t>(usec & 0xffff));  // identification
        store_be<std::uint16_t>(b + ip + 6, 0x4000);                                      // DF
        b[ip + 8] = 64;                                                                   // TTL
        b[ip + 9] = 6;                                                                    // TCP
        store_be<std::uint32_t>(b + ip + 12, src);
        store_be<std::uint32_t>(b + ip + 16, dst);
        store_be<std::uint16_t>(b + ip + 10, fold(sum16(b + ip, 20)));
        store_be<std::uint16_t>(b + tcp, s.to_server ? client_port : kafka_port);
        store_be<std::uint16_t>(b + tcp + 2, s.to_server ? kafka_port : client_port);
        store_be<std::uint32_t>(b + tcp + 4, seq[me]);
        store_be<std::uint32_t>(b + tcp + 8, (s.flags & tcp_ack) ? seq[peer] : 0);
        b[tcp + 12] = 5 << 4;  // data offset: 5 words
        b[tcp + 13] = s.flags;
        store_be<std::uint16_t>(b + tcp + 14, 65535);  // window
        if (!s.payload.empty()) std::memcpy(b + hdr, s.payload.data(), s.payload.size());
        // TCP checksum over the pseudo-header and the segment.
        std::uint8_t pseudo[12] = {};
        store_be<std::uint32_t>(pseudo, src);
        store_be<std::uint32_t>(pseudo + 4, dst);
        pseudo[9] = 6;
        store_be<std::uint16_t>(pseudo + 10, static_cast<std::uint16_t>(20 + s.payload.size()));
        store_be<std::uint16_t>(b + tcp + 16, fold(sum16(b + tcp, pkt.size() - tcp, sum16(pseudo, sizeof pseudo))));

        seq[me] += static_cast<std::uint32_t>(s.payload.size());
        if ((s.flags & (tcp_syn | tcp_fin)) && !acked_syn[me]) {
            seq[me] += 1;
            acked_syn[me] = true;
        }
        // Record header: ts_sec, ts_usec, incl_len, orig_len.
        std::uint8_t rec[16];
        store_le32(rec, 1700000000 + usec / 1000000);
        store_le32(rec + 4, usec % 1000000);
        store_le32(rec + 8, static_cast<std::uint32_t>(pkt.size()));
        store_le32(rec + 12, static_cast<std::uint32_t>(pkt.size()));
        append(out, rec, sizeof rec);
        append(out, pkt.data(), pkt.size());
        usec += 1000;
    }
    return out;
}

void pcap_builder::write(const std::string& path) const {
    const auto bytes = build();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

// ---------------------------------------------------------------------------------------------
// PDML parsing: just enough XML for tshark's output (elements, attributes, entities).

namespace {

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        const auto semi = s.find(';', i);
        if (semi == std::string_view::npos) {
            out += s[i];
            continue;
        }
        const auto ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") out += '&';
        else if (ent == "lt") out += '<';
        else if (ent == "gt") out += '>';
        else if (ent == "quot") out += '"';
        else if (ent == "apos") out += '\'';
        else if (!ent.empty() && ent[0] == '#') {
            const bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
            const auto num = std::strtoul(std::string(ent.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10);
            if (num < 0x80) {
                out += static_cast<char>(num);
            } else if (num < 0x800) {
                out += static_cast<char>(0xc0 | (num >> 6));
                out += static_cast<char>(0x80 | (num & 0x3f));
            } else {
                out += static_cast<char>(0xe0 | (num >> 12));
                out += static_cast<char>(0x80 | ((num >> 6) & 0x3f));
                out += static_cast<char>(0x80 | (num & 0x3f));
            }
        } else {
            out.append(s.substr(i, semi - i + 1));
        }
        i = semi;
    }
    return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void collect(const pdml_node& n, const std::string& name, std::vector<const pdml_node*>& out) {
    for (const auto& c : n.children) {
        if (c->name() == name) out.push_back(c.get());
        collect(*c, name, out);
    }
}

}  // namespace

std::vector<const pdml_node*> pdml_node::find_all(const std::string& n) const {
    std::vector<const pdml_node*> out;
    collect(*this, n, out);
    return out;
}

const pdml_node* pdml_node::find_first(const std::string& n) const {
    for (const auto& c : children) {
        if (c->name() == n) return c.get();
        if (auto* f = c->find_first(n)) return f;
    }
    return nullptr;
}

tshark_decode tshark_decode::parse(std::string pdml) {
    tshark_decode d;
    d.pdml_ = std::move(pdml);
    d.root_ = std::make_unique<pdml_node>();
    d.root_->tag = "#document";
    std::vector<pdml_node*> stack{d.root_.get()};
    const std::string_view s = d.pdml_;
    std::size_t i = 0;
    while ((i = s.find('<', i)) != std::string_view::npos) {
        if (s.compare(i, 4, "<!--") == 0) {
            const auto e = s.find("-->", i);
            if (e == std::string_view::npos) break;
            i = e + 3;
            continue;
        }
        if (s.compare(i, 2, "<?") == 0 || s.compare(i, 2, "<!") == 0) {
            const auto e = s.find('>', i);
            if (e == std::string_view::npos) break;
            i = e + 1;
            continue;
        }
        if (s.compare(i, 2, "</") == 0) {
            const auto e = s.find('>', i);
            if (e == std::string_view::npos) throw std::runtime_error("pdml: unterminated end tag");
            const auto tag = s.substr(i + 2, e - i - 2);
            if (stack.size() < 2 || stack.back()->tag != tag)
                throw std::runtime_error("pdml: mismatched </" + std::string(tag) + ">");
            stack.pop_back();
            i = e + 1;
            continue;
        }
        // Start tag: name, attributes, optional '/'.
        std::size_t p = i + 1;
        const auto name_start = p;
        while (p < s.size() && !is_space(s[p]) && s[p] != '>' && s[p] != '/') ++p;
        auto node = std::make_unique<pdml_node>();
        node->tag = std::string(s.substr(name_start, p - name_start));
        bool self_closing = false;
        for (;;) {
            while (p < s.size() && is_space(s[p])) ++p;
            if (p >= s.size()) throw std::runtime_error("pdml: unterminated start tag");
            if (s[p] == '>') { ++p; break; }
            if (s[p] == '/') {
                self_closing = true;
                p = s.find('>', p);
                if (p == std::string_view::npos) throw std::runtime_error("pdml: bad self-closing tag");
                ++p;
                break;
            }
            const auto k0 = p;
            while (p < s.size() && s[p] != '=' && !is_space(s[p])) ++p;
            const auto key = std::string(s.substr(k0, p - k0));
            while (p < s.size() && (is_space(s[p]) || s[p] == '=')) ++p;
            if (p >= s.size() || (s[p] != '"' && s[p] != '\''))
                throw std::runtime_error("pdml: attribute without quotes: " + key);
            const char q = s[p++];
            const auto v_end = s.find(q, p);
            if (v_end == std::string_view::npos) throw std::runtime_error("pdml: unterminated attribute");
            node->attrs[key] = unescape(s.substr(p, v_end - p));
            p = v_end + 1;
        }
        auto* raw = node.get();
        stack.back()->children.push_back(std::move(node));
        if (!self_closing) stack.push_back(raw);
        i = p;
    }
    if (stack.size() != 1) throw std::runtime_error("pdml: unclosed elements (truncated output?)");
    return d;
}

std::vector<const pdml_node*> tshark_decode::packets() const {
    std::vector<const pdml_node*> out;
    // <pdml><packet>...: packets are the children of the <pdml> element.
    for (const auto& c : root_->children)
        if (c->tag == "pdml")
            for (const auto& p : c->children)
                if (p->tag == "packet") out.push_back(p.get());
    return out;
}

std::vector<const pdml_node*> tshark_decode::kafka_packets() const {
    std::vector<const pdml_node*> out;
    for (const auto* p : packets())
        for (const auto& proto : p->children)
            if (proto->tag == "proto" && proto->name() == "kafka") {
                out.push_back(p);
                break;
            }
    return out;
}

std::vector<std::string> tshark_decode::values(const pdml_node& packet, const std::string& name) {
    std::vector<std::string> out;
    for (const auto* n : packet.find_all(name)) out.push_back(n->show());
    return out;
}

std::vector<std::string> tshark_decode::values(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto* p : packets())
        for (auto& v : values(*p, name)) out.push_back(std::move(v));
    return out;
}

std::string tshark_decode::value(const pdml_node& packet, const std::string& name) {
    const auto* n = packet.find_first(name);
    return n ? n->show() : std::string();
}

std::vector<std::string> tshark_decode::problems(const pdml_node& packet) {
    constexpr unsigned long severity_error = 0x00800000;
    std::vector<std::string> out;
    for (const auto* m : packet.find_all("_ws.malformed")) out.push_back("malformed: " + m->showname());
    for (const auto* e : packet.find_all("_ws.expert")) {
        const auto* sev = e->find_first("_ws.expert.severity");
        const auto severity = sev ? std::strtoul(sev->show().c_str(), nullptr, 0) : 0UL;
        bool from_kafka = false;
        for (const auto& c : e->children)
            if (c->name().rfind("kafka.", 0) == 0) from_kafka = true;
        if (severity >= severity_error || from_kafka) out.push_back("expert: " + e->showname());
    }
    return out;
}

std::vector<std::string> tshark_decode::problems() const {
    std::vector<std::string> out;
    const auto pk = packets();
    for (std::size_t i = 0; i < pk.size(); ++i)
        for (auto& p : problems(*pk[i])) out.push_back("packet " + std::to_string(i + 1) + ": " + p);
    return out;
}

namespace {

void render(const pdml_node& n, int depth, std::string& out) {
    if (n.attr("hide") == "yes") return;
    auto label = n.showname();
    if (label.empty()) label = n.show();
    if (label.empty()) label = n.name();
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
    out += label;
    out += '\n';
    for (const auto& c : n.children) render(*c, depth + 1, out);
}

}  // namespace

std::string tshark_decode::describe_kafka(const pdml_node& packet) {
    std::string out;
    for (const auto& proto : packet.children)
        if (proto->tag == "proto" && proto->name() == "kafka") render(*proto, 0, out);
    return out.empty() ? std::string("(no kafka layer)\n") : out;
}

// ---------------------------------------------------------------------------------------------
// Running tshark

namespace {

struct temp_file {
    std::string path;
    temp_file() {
        const char* dir = std::getenv("TMPDIR");
        std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/kwire-peer-XXXXXX.pcap";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        const int fd = ::mkstemps(buf.data(), 5);
        if (fd < 0) throw std::runtime_error("mkstemps failed");
        ::close(fd);
        path = buf.data();
    }
    ~temp_file() { ::unlink(path.c_str()); }
};

process_result tshark_run(const pcap_builder& capture, const std::vector<std::string>& output_args) {
    temp_file f;
    capture.write(f.path);
    std::vector<std::string> argv{"tshark", "-n", "-r", f.path, "-d", "tcp.port==9092,kafka",
                                  "-o", "tcp.desegment_tcp_streams:TRUE"};
    argv.insert(argv.end(), output_args.begin(), output_args.end());
    auto res = run_process(argv, {}, std::chrono::seconds(60));
    if (!res.ok()) throw std::runtime_error("tshark failed: " + res.describe());
    return res;
}

}  // namespace

tshark_decode run_tshark(const pcap_builder& capture) {
    auto res = tshark_run(capture, {"-T", "pdml"});
    return tshark_decode::parse(std::move(res.out));
}

std::string tshark_verbose(const pcap_builder& capture) {
    return tshark_run(capture, {"-V", "-O", "kafka"}).out;
}

tshark_decode tshark_decode_request(const std::vector<std::uint8_t>& request_frame,
                                    const std::vector<std::uint8_t>* response_body) {
    pcap_builder cap;
    cap.add_request(request_frame);
    if (response_body) cap.add_response(*response_body, false);
    return run_tshark(cap);
}

}  // namespace kwire::peers
