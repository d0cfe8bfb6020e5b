#include "kwire/client/config.hpp"

#include <charconv>
#include <functional>

#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client {
namespace {

// Each property is a name and a setter that parses its value; the setter returns an error text,
// empty on success. One table per config type; the producer's extends the connection's.
template <class Config>
using setter = std::function<std::string(Config&, std::string_view)>;

template <class Int> std::string parse_int(std::string_view s, Int& out, Int min, Int max) {
    Int v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return "expected an integer";
    if (v < min || v > max) return "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    out = v;
    return {};
}

std::string parse_ms(std::string_view s, milliseconds& out, std::int64_t min = 0) {
    std::int64_t v = 0;
    auto err = parse_int<std::int64_t>(s, v, min, std::int64_t{1} << 40);
    if (err.empty()) out = milliseconds(v);
    return err;
}

std::string parse_bool(std::string_view s, bool& out) {
    if (s == "true" || s == "1") { out = true; return {}; }
    if (s == "false" || s == "0") { out = false; return {}; }
    return "expected true or false";
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto comma = s.find(',');
        auto item = s.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

std::string set_sasl_mechanism(connection_config& c, std::string_view v) {
    if (v != "PLAIN" && v != "SCRAM-SHA-256" && v != "SCRAM-SHA-512" && v != "OAUTHBEARER")
        return "expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER";
    c.sasl.mechanism = v;
    return {};
}

const std::map<std::string, setter<connection_config>, std::less<>>& connection_setters() {
    static const std::map<std::string, setter<connection_config>, std::less<>> table = {
        {"bootstrap.servers",
         [](connection_config& c, std::string_view v) -> std::string {
             c.bootstrap_servers = split_list(v);
             return c.bootstrap_servers.empty() ? "expected host:port[,host:port...]" : "";
         }},
        {"client.id", [](connection_config& c, std::string_view v) { c.client_id = v; return std::string(); }},
        {"request.timeout.ms", [](connection_config& c, std::string_view v) { return parse_ms(v, c.request_timeout, 1); }},
        {"metadata.max.age.ms", [](connection_config& c, std::string_view v) { return parse_ms(v, c.metadata_max_age, 1); }},
        {"reconnect.backoff.ms", [](connection_config& c, std::string_view v) { return parse_ms(v, c.reconnect_backoff); }},
        {"reconnect.backoff.max.ms", [](connection_config& c, std::string_view v) { return parse_ms(v, c.reconnect_backoff_max); }},
        {"socket.connection.setup.timeout.ms",
         [](connection_config& c, std::string_view v) { return parse_ms(v, c.socket_connection_setup_timeout, 1); }},
        {"receive.message.max.bytes",
         [](connection_config& c, std::string_view v) {
             return parse_int<std::uint32_t>(v, c.max_response_bytes, 1024, 0x7fffffffu);
         }},
        {"allow.auto.create.topics",
         [](connection_config& c, std::string_view v) { return parse_bool(v, c.allow_auto_create_topics); }},
        {"security.protocol",
         [](connection_config& c, std::string_view v) -> std::string {
             std::string lower(v);
             for (auto& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
             if (lower == "plaintext") c.security = security_protocol::plaintext;
             else if (lower == "ssl") c.security = security_protocol::ssl;
             else if (lower == "sasl_plaintext") c.security = security_protocol::sasl_plaintext;
             else if (lower == "sasl_ssl") c.security = security_protocol::sasl_ssl;
             else return "expected plaintext, ssl, sasl_plaintext or sasl_ssl";
             return {};
         }},
        {"ssl.ca.location", [](connection_config& c, std::string_view v) { c.tls.ca_location = v; return std::string(); }},
        {"ssl.ca.pem", [](connection_config& c, std::string_view v) { c.tls.ca_pem = v; return std::string(); }},
        {"ssl.certificate.location",
         [](connection_config& c, std::string_view v) { c.tls.certificate_location = v; return std::string(); }},
        {"ssl.key.location", [](connection_config& c, std::string_view v) { c.tls.key_location = v; return std::string(); }},
        {"ssl.key.password", [](connection_config& c, std::string_view v) { c.tls.key_password = v; return std::string(); }},
        {"ssl.endpoint.identification.algorithm",
         [](connection_config& c, std::string_view v) -> std::string {
             if (v == "https") c.tls.verify_hostname = true;
             else if (v == "none" || v.empty()) c.tls.verify_hostname = false;
             else return "expected https or none";
             return {};
         }},
        {"sasl.mechanism", set_sasl_mechanism},
        {"sasl.mechanisms", set_sasl_mechanism},  // the C client's name
        {"sasl.username", [](connection_config& c, std::string_view v) { c.sasl.username = v; return std::string(); }},
        {"sasl.password", [](connection_config& c, std::string_view v) { c.sasl.password = v; return std::string(); }},
        {"client.dns.lookup",
         [](connection_config& c, std::string_view v) -> std::string {
             if (v == "use_all_dns_ips" || v == "resolve_canonical_bootstrap_servers_only") c.use_all_dns_ips = true;
             else return "expected use_all_dns_ips or resolve_canonical_bootstrap_servers_only";
             return {};
         }},
        // Accepted for compatibility: kwire always disables Nagle, and resolves names itself.
        {"socket.nagle.disable",
         [](connection_config&, std::string_view v) {
             bool b = true;
             auto err = parse_bool(v, b);
             return err.empty() && !b ? std::string("kwire always disables Nagle (TCP_NODELAY)") : err;
         }},
    };
    return table;
}

const std::map<std::string, setter<producer_config>, std::less<>>& producer_setters() {
    static const std::map<std::string, setter<producer_config>, std::less<>> table = {
        {"acks",
         [](producer_config& c, std::string_view v) -> std::string {
             if (v == "all" || v == "-1") c.required_acks = acks::all;
             else if (v == "1") c.required_acks = acks::leader;
             else if (v == "0") c.required_acks = acks::none;
             else return "expected 0, 1, all or -1";
             return {};
         }},
        {"linger.ms", [](producer_config& c, std::string_view v) { return parse_ms(v, c.linger); }},
        {"batch.size",
         [](producer_config& c, std::string_view v) { return parse_int<std::uint32_t>(v, c.batch_size, 1, 0x7fffffffu); }},
        {"max.request.size",
         [](producer_config& c, std::string_view v) {
             return parse_int<std::uint32_t>(v, c.max_request_size, 1024, 0x7fffffffu);
         }},
        {"compression.type",
         [](producer_config& c, std::string_view v) -> std::string {
             const auto codec = parse_compression(v);
             if (!codec) return "expected none, gzip, snappy, lz4 or zstd";
             c.compression = *codec;
             return {};
         }},
        {"compression.level",
         [](producer_config& c, std::string_view v) {
             int level = 0;
             auto err = parse_int<int>(v, level, -131072, 22);
             if (err.empty()) c.compression_level = level;
             return err;
         }},
        {"buffer.memory",
         [](producer_config& c, std::string_view v) {
             return parse_int<std::uint64_t>(v, c.buffer_memory, 1024, std::uint64_t{1} << 40);
         }},
        {"enable.idempotence",
         [](producer_config& c, std::string_view v) { return parse_bool(v, c.enable_idempotence); }},
        {"max.in.flight.requests.per.connection",
         [](producer_config& c, std::string_view v) {
             return parse_int<int>(v, c.max_in_flight_per_connection, 1, 1000000);
         }},
        {"delivery.timeout.ms", [](producer_config& c, std::string_view v) { return parse_ms(v, c.delivery_timeout, 1); }},
        {"retry.backoff.ms", [](producer_config& c, std::string_view v) { return parse_ms(v, c.retry_backoff); }},
        {"retry.backoff.max.ms", [](producer_config& c, std::string_view v) { return parse_ms(v, c.retry_backoff_max); }},
        {"topic.creation.default.partitions",
         [](producer_config& c, std::string_view v) {
             auto err = parse_int<std::int32_t>(v, c.topic_creation_partitions, -1, 1000000);
             return err.empty() && c.topic_creation_partitions == 0 ? std::string("expected -1 or at least 1") : err;
         }},
        {"topic.creation.default.replication.factor",
         [](producer_config& c, std::string_view v) {
             auto err = parse_int<std::int16_t>(v, c.topic_creation_replication_factor, -1, 32767);
             return err.empty() && c.topic_creation_replication_factor == 0 ? std::string("expected -1 or at least 1")
                                                                            : err;
         }},
    };
    return table;
}

const std::map<std::string, setter<consumer_config>, std::less<>>& consumer_setters() {
    static const std::map<std::string, setter<consumer_config>, std::less<>> table = {
        {"group.id", [](consumer_config& c, std::string_view v) { c.group_id = v; return std::string(); }},
        {"group.instance.id",
         [](consumer_config& c, std::string_view v) {
             if (v.empty()) c.group_instance_id.reset();
             else c.group_instance_id = std::string(v);
             return std::string();
         }},
        {"group.protocol",
         [](consumer_config& c, std::string_view v) -> std::string {
             if (v == "classic") c.group_protocol = group_protocol_kind::classic;
             else if (v == "consumer") c.group_protocol = group_protocol_kind::consumer;
             else return "expected classic or consumer";
             return {};
         }},
        {"group.remote.assignor",
         [](consumer_config& c, std::string_view v) {
             if (v.empty()) c.group_remote_assignor.reset();
             else c.group_remote_assignor = std::string(v);
             return std::string();
         }},
        {"session.timeout.ms", [](consumer_config& c, std::string_view v) { return parse_ms(v, c.session_timeout, 1); }},
        {"heartbeat.interval.ms", [](consumer_config& c, std::string_view v) { return parse_ms(v, c.heartbeat_interval, 1); }},
        {"max.poll.interval.ms", [](consumer_config& c, std::string_view v) { return parse_ms(v, c.max_poll_interval, 1); }},
        {"partition.assignment.strategy",
         [](consumer_config& c, std::string_view v) -> std::string {
             std::vector<assignor_kind> kinds;
             for (const auto& name : split_list(v)) {
                 if (name == "range") kinds.push_back(assignor_kind::range);
                 else if (name == "roundrobin") kinds.push_back(assignor_kind::roundrobin);
                 else if (name == "cooperative-sticky") kinds.push_back(assignor_kind::cooperative_sticky);
                 else return "expected a list of range, roundrobin, cooperative-sticky";
             }
             if (kinds.empty()) return "expected a list of range, roundrobin, cooperative-sticky";
             c.assignors = std::move(kinds);
             return {};
         }},
        {"fetch.min.bytes",
         [](consumer_config& c, std::string_view v) { return parse_int<std::int32_t>(v, c.fetch_min_bytes, 1, 0x7fffffff); }},
        {"fetch.max.wait.ms", [](consumer_config& c, std::string_view v) { return parse_ms(v, c.fetch_max_wait); }},
        {"max.partition.fetch.bytes",
         [](consumer_config& c, std::string_view v) {
             return parse_int<std::int32_t>(v, c.max_partition_fetch_bytes, 1, 0x7fffffff);
         }},
        {"fetch.max.bytes",
         [](consumer_config& c, std::string_view v) { return parse_int<std::int32_t>(v, c.fetch_max_bytes, 1, 0x7fffffff); }},
        {"max.poll.records",
         [](consumer_config& c, std::string_view v) {
             return parse_int<std::size_t>(v, c.max_poll_records, 1, std::size_t{1} << 30);
         }},
        {"auto.offset.reset",
         [](consumer_config& c, std::string_view v) -> std::string {
             if (v == "earliest" || v == "smallest" || v == "beginning") c.auto_offset_reset = offset_reset::earliest;
             else if (v == "latest" || v == "largest" || v == "end") c.auto_offset_reset = offset_reset::latest;
             else if (v == "none" || v == "error") c.auto_offset_reset = offset_reset::none;
             else return "expected earliest, latest or none";
             return {};
         }},
        {"isolation.level",
         [](consumer_config& c, std::string_view v) -> std::string {
             if (v == "read_uncommitted") c.isolation_level = isolation::read_uncommitted;
             else if (v == "read_committed") c.isolation_level = isolation::read_committed;
             else return "expected read_uncommitted or read_committed";
             return {};
         }},
        // Java/C auto-commit, mapped onto the policies after every property is read (see below).
        {"enable.auto.commit",
         [](consumer_config&, std::string_view v) {
             bool b = true;
             return parse_bool(v, b);
         }},
        {"auto.commit.interval.ms",
         [](consumer_config&, std::string_view v) {
             milliseconds d{};
             return parse_ms(v, d);
         }},
        {"kwire.commit",
         [](consumer_config& c, std::string_view v) -> std::string {
             const auto p = parse_commit_policy(v);
             if (!p) return "expected manual, on_poll or interval:MS";
             c.commit = *p;
             return {};
         }},
        {"check.crcs", [](consumer_config& c, std::string_view v) { return parse_bool(v, c.check_crcs); }},
        {"retry.backoff.ms", [](consumer_config& c, std::string_view v) { return parse_ms(v, c.retry_backoff); }},
        {"default.api.timeout.ms",
         [](consumer_config& c, std::string_view v) { return parse_ms(v, c.default_api_timeout, 1); }},
        {"client.rack", [](consumer_config& c, std::string_view v) { c.client_rack = v; return std::string(); }},
    };
    return table;
}

std::error_code fail(std::string* what, std::string_view name, std::string_view value, const std::string& why) {
    if (what) *what = std::string(name) + "=" + std::string(value) + ": " + why;
    return make_error_code(client_errc::invalid_config);
}

/// Applies `props` onto a client's config: its own properties first, then the connection's;
/// anything else is unknown.
template <class Config>
std::error_code apply_layered(Config& cfg, const std::map<std::string, setter<Config>, std::less<>>& own,
                              const properties& props, std::string* what) {
    for (const auto& [name, value] : props) {
        std::string err;
        if (const auto it = own.find(name); it != own.end()) err = it->second(cfg, value);
        else if (const auto ct = connection_setters().find(name); ct != connection_setters().end()) err = ct->second(cfg, value);
        else err = "unknown property";
        if (!err.empty()) return fail(what, name, value, err);
    }
    return {};
}

}  // namespace

std::optional<codec::compression> parse_compression(std::string_view name) noexcept {
    if (name == "none") return codec::compression::none;
    if (name == "gzip") return codec::compression::gzip;
    if (name == "snappy") return codec::compression::snappy;
    if (name == "lz4") return codec::compression::lz4;
    if (name == "zstd") return codec::compression::zstd;
    return std::nullopt;
}

std::error_code apply_properties(connection_config& cfg, const properties& props, std::string* what) {
    for (const auto& [name, value] : props) {
        const auto it = connection_setters().find(name);
        if (it == connection_setters().end()) return fail(what, name, value, "unknown property");
        if (auto err = it->second(cfg, value); !err.empty()) return fail(what, name, value, err);
    }
    return {};
}

std::error_code apply_properties(producer_config& cfg, const properties& props, std::string* what) {
    if (auto ec = apply_layered(cfg, producer_setters(), props, what)) return ec;
    // As in the Java client: idempotence is on by default, quietly off when acks is weakened
    // and idempotence was not asked for, and an error when both were asked for.
    if (cfg.enable_idempotence && cfg.required_acks != acks::all) {
        if (props.contains("enable.idempotence"))
            return fail(what, "acks", props.find("acks") != props.end() ? props.find("acks")->second : "",
                        "enable.idempotence=true requires acks=all");
        cfg.enable_idempotence = false;
    }
    if (cfg.enable_idempotence && cfg.max_in_flight_per_connection > 5)
        return fail(what, "max.in.flight.requests.per.connection", std::to_string(cfg.max_in_flight_per_connection),
                    "at most 5 with enable.idempotence=true");
    return {};
}

std::optional<commit_policy> parse_commit_policy(std::string_view s) noexcept {
    if (s == "manual") return commit_policy::manual();
    if (s == "on_poll") return commit_policy::on_poll();
    if (s.starts_with("interval:")) {
        std::int64_t ms = -1;
        const auto digits = s.substr(9);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
        if (ec != std::errc{} || end != digits.data() + digits.size() || ms < 0) return std::nullopt;
        return commit_policy::interval(milliseconds(ms));
    }
    return std::nullopt;
}

std::error_code apply_properties(consumer_config& cfg, const properties& props, std::string* what) {
    if (auto ec = apply_layered(cfg, consumer_setters(), props, what)) return ec;
    // enable.auto.commit=true: the previous poll's records count as processed at the next poll,
    // committed at most every auto.commit.interval.ms (default 5000) -- the Java client's
    // auto-commit, as the on_poll policy. false: manual. kwire.commit, if given, wins.
    if (const auto it = props.find("enable.auto.commit"); it != props.end() && !props.contains("kwire.commit")) {
        if (it->second == "true" || it->second == "1") {
            cfg.commit = commit_policy::on_poll();
            cfg.commit.every = milliseconds(5000);
            if (const auto iv = props.find("auto.commit.interval.ms"); iv != props.end())
                parse_ms(iv->second, cfg.commit.every);
        } else {
            cfg.commit = commit_policy::manual();
        }
    } else if (const auto iv = props.find("auto.commit.interval.ms");
               iv != props.end() && !props.contains("kwire.commit") && cfg.commit.k != commit_policy::kind::manual) {
        parse_ms(iv->second, cfg.commit.every);
    }
    if (cfg.session_timeout <= cfg.heartbeat_interval)
        return fail(what, "heartbeat.interval.ms", std::to_string(cfg.heartbeat_interval.count()),
                    "must be below session.timeout.ms");
    return {};
}

}  // namespace kwire::client
