#include "kcat.hpp"

#include <stdexcept>

namespace kwire::peers {

namespace {

constexpr char unit_sep = '\x1f';
constexpr char record_sep = '\x1e';

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto end = s.find(sep, start);
        if (end == std::string::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
}

std::int64_t parse_int(const std::string& s, const char* what) {
    try {
        std::size_t used = 0;
        const auto v = std::stoll(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw std::runtime_error(std::string("kcat output: bad ") + what + ": '" + s + "'");
    }
}

}  // namespace

process_result run_kcat(const std::vector<std::string>& args, const std::string& input,
                        std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{"kcat"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, input, timeout);
}

std::vector<kcat_record> kcat_consume(const std::string& bootstrap, const std::string& topic,
                                      std::int32_t partition, const kcat_options& opt) {
    // partition, offset, key, value, headers
    const std::string fmt = std::string("%p") + unit_sep + "%o" + unit_sep + "%k" + unit_sep + "%s" +
                            unit_sep + "%h" + record_sep;
    std::vector<std::string> args{"-C", "-b", bootstrap, "-t", topic, "-p", std::to_string(partition),
                                  "-o", "beginning", "-e", "-q", "-f", fmt,
                                  // Reach the end (-e) without waiting out the default 500 ms.
                                  "-X", "fetch.wait.max.ms=20"};
    args.insert(args.end(), opt.extra_args.begin(), opt.extra_args.end());
    const auto res = run_kcat(args, {}, opt.timeout);
    if (!res.ok()) throw std::runtime_error("kcat -C failed: " + res.describe());

    std::vector<kcat_record> out;
    auto records = split(res.out, record_sep);
    if (!records.empty() && records.back().empty()) records.pop_back();
    else if (!records.empty())
        throw std::runtime_error("kcat output does not end with a record separator: '" +
                                 records.back().substr(0, 200) + "'");
    for (const auto& rec : records) {
        const auto f = split(rec, unit_sep);
        if (f.size() != 5)
            throw std::runtime_error("kcat output: record with " + std::to_string(f.size()) +
                                     " fields: '" + rec.substr(0, 200) + "'");
        kcat_record r;
        r.partition = static_cast<std::int32_t>(parse_int(f[0], "partition"));
        r.offset = parse_int(f[1], "offset");
        r.key = f[2];
        r.value = f[3];
        if (!f[4].empty()) {
            for (const auto& h : split(f[4], ',')) {
                const auto eq = h.find('=');
                if (eq == std::string::npos)
                    throw std::runtime_error("kcat output: bad header '" + h + "'");
                r.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
            }
        }
        out.push_back(std::move(r));
    }
    return out;
}

void kcat_produce(const std::string& bootstrap, const std::string& topic, std::int32_t partition,
                  const std::string& codec, const std::vector<kcat_message>& messages,
                  const header_list& headers, const kcat_options& opt) {
    std::vector<std::string> args{"-P",
                                  "-b", bootstrap,
                                  "-t", topic,
                                  "-p", std::to_string(partition),
                                  "-z", codec,
                                  "-K", std::string(1, unit_sep),
                                  "-D", std::string(1, record_sep),
                                  // One batch per run: linger long enough to collect everything.
                                  "-X", "linger.ms=100",
                                  "-X", "message.max.bytes=10000000"};
    for (const auto& [name, value] : headers) {
        args.push_back("-H");
        args.push_back(name + "=" + value);
    }
    args.insert(args.end(), opt.extra_args.begin(), opt.extra_args.end());
    std::string input;
    for (const auto& m : messages) {
        if (m.key.find_first_of("\x1e\x1f") != std::string::npos ||
            m.value.find_first_of("\x1e\x1f") != std::string::npos)
            throw std::invalid_argument("kcat_produce: key/value contains a separator byte");
        input += m.key;
        input += unit_sep;
        input += m.value;
        input += record_sep;
    }
    const auto res = run_kcat(args, input, opt.timeout);
    if (!res.ok()) throw std::runtime_error("kcat -P failed: " + res.describe());
    // kcat reports delivery failures on stderr ("% Delivery failed ..." / "% ERROR: ...").
    if (res.err.find("ailed") != std::string::npos || res.err.find("ERROR") != std::string::npos)
        throw std::runtime_error("kcat -P reported errors: " + res.err.substr(0, 2000));
}

}  // namespace kwire::peers
