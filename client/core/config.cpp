// The configuration tables (property name -> field, with its range), the cross-setting rules, and
// apply_properties()/validate() for the connection, producer and consumer configs. See
// core/settings.hpp for how one setting gets one meaning both ways.
#include "kwire/client/config.hpp"

#include <algorithm>
#include <charconv>

#include "core/settings.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client {
namespace detail {

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

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

bool is_sasl_mechanism(std::string_view v) {
    return v == "PLAIN" || v == "SCRAM-SHA-256" || v == "SCRAM-SHA-512" || v == "OAUTHBEARER";
}

std::string set_sasl_mechanism(connection_config& c, std::string_view v) {
    if (!is_sasl_mechanism(v)) return "expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER";
    c.sasl.mechanism = v;
    return {};
}

/// log_level: the C client's syslog numbers (0-3 error, 4 warning, 5-6 info, 7 debug) or a name.
std::string parse_log_level(connection_config& c, std::string_view v) {
    if (v == "error") c.log.level = log_level::error;
    else if (v == "warn" || v == "warning") c.log.level = log_level::warn;
    else if (v == "info") c.log.level = log_level::info;
    else if (v == "debug") c.log.level = log_level::debug;
    else {
        int n = 0;
        if (!parse_integer(v, n).empty() || n < 0 || n > 7) return "expected 0-7 (syslog levels) or error, warn, info, debug";
        c.log.level = n <= 3 ? log_level::error : n == 4 ? log_level::warn : n <= 6 ? log_level::info : log_level::debug;
    }
    return {};
}

/// A string field the caller reaches through `get` (nested structs: tls, sasl).
template <class Get>
setting<connection_config> nested_text(std::string_view name, Get get) {
    return {name, [get](connection_config& c, std::string_view v) {
                get(c) = std::string(v);
                return std::string();
            }};
}

}  // namespace

std::string unknown_property(std::string_view name, const std::vector<std::string_view>& known) {
    std::string message = "unknown property '" + std::string(name) + "'";
    std::string_view best;
    std::size_t best_distance = 3;
    for (const auto candidate : known)
        if (const auto d = edit_distance(name, candidate); d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
    return message;
}

std::error_code config_error(std::string* what, std::string message) {
    if (what) *what = std::move(message);
    return make_error_code(client_errc::invalid_config);
}

const setting_table<connection_config>& connection_settings() {
    using C = connection_config;
    static const setting_table<C> table = {
        {"bootstrap.servers",
         [](C& c, std::string_view v) -> std::string {
             c.bootstrap_servers = split_list(v);
             return c.bootstrap_servers.empty() ? "expected host:port[,host:port...]" : "";
         }},
        text<C>("client.id", &C::client_id),
        duration<C>("request.timeout.ms", &C::request_timeout, 1),
        duration<C>("metadata.max.age.ms", &C::metadata_max_age, 1),
        duration<C>("reconnect.backoff.ms", &C::reconnect_backoff),
        duration<C>("reconnect.backoff.max.ms", &C::reconnect_backoff_max),
        duration<C>("socket.connection.setup.timeout.ms", &C::socket_connection_setup_timeout, 1),
        integer<C>("receive.message.max.bytes", &C::max_response_bytes, 1024, 0x7fffffffu),
        boolean<C>("allow.auto.create.topics", &C::allow_auto_create_topics),
        duration<C>("statistics.interval.ms", &C::statistics_interval),
        boolean<C>("enable.metrics.push", &C::enable_metrics_push),
        {"security.protocol",
         [](C& c, std::string_view v) -> std::string {
             std::string lower(v);
             for (auto& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
             if (lower == "plaintext") c.security = security_protocol::plaintext;
             else if (lower == "ssl") c.security = security_protocol::ssl;
             else if (lower == "sasl_plaintext") c.security = security_protocol::sasl_plaintext;
             else if (lower == "sasl_ssl") c.security = security_protocol::sasl_ssl;
             else return "expected plaintext, ssl, sasl_plaintext or sasl_ssl";
             return {};
         }},
        nested_text("ssl.ca.location", [](C& c) -> std::string& { return c.tls.ca_location; }),
        nested_text("ssl.ca.pem", [](C& c) -> std::string& { return c.tls.ca_pem; }),
        nested_text("ssl.certificate.location", [](C& c) -> std::string& { return c.tls.certificate_location; }),
        nested_text("ssl.key.location", [](C& c) -> std::string& { return c.tls.key_location; }),
        nested_text("ssl.key.password", [](C& c) -> std::string& { return c.tls.key_password; }),
        {"ssl.endpoint.identification.algorithm",
         [](C& c, std::string_view v) -> std::string {
             if (v == "https") c.tls.verify_hostname = true;
             else if (v == "none" || v.empty()) c.tls.verify_hostname = false;
             else return "expected https or none";
             return {};
         }},
        {"sasl.mechanism", set_sasl_mechanism,
         [](const C& c) {
             return is_sasl_mechanism(c.sasl.mechanism)
                        ? std::string()
                        : "sasl.mechanism=" + c.sasl.mechanism +
                              ": expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER";
         }},
        {"sasl.mechanisms", set_sasl_mechanism},  // the C client's name
        nested_text("sasl.username", [](C& c) -> std::string& { return c.sasl.username; }),
        nested_text("sasl.password", [](C& c) -> std::string& { return c.sasl.password; }),
        {"client.dns.lookup",
         [](C& c, std::string_view v) -> std::string {
             if (v == "use_all_dns_ips" || v == "resolve_canonical_bootstrap_servers_only") c.use_all_dns_ips = true;
             else return "expected use_all_dns_ips or resolve_canonical_bootstrap_servers_only";
             return {};
         }},
        {"log_level", parse_log_level},
        {"debug",
         [](C& c, std::string_view v) -> std::string {
             std::string bad;
             const auto contexts = parse_log_contexts(v, &bad);
             if (!contexts)
                 return "unknown context '" + bad + "' (expected all or a list of broker, metadata, producer, " +
                        "consumer, group, security)";
             c.log.debug = *contexts;
             return {};
         },
         [](const C& c) {
             return c.log.repeat_interval.count() < 0 ? std::string("log repeat_interval: must not be negative")
                                                      : std::string();
         }},
        // Accepted for compatibility: kwire always disables Nagle, and resolves names itself.
        {"socket.nagle.disable",
         [](C&, std::string_view v) {
             bool b = true;
             auto err = parse_bool(v, b);
             return err.empty() && !b ? std::string("kwire always disables Nagle (TCP_NODELAY)") : err;
         }},
    };
    return table;
}

}  // namespace detail

namespace {

using detail::config_error;
using detail::setting_table;

/// topic.creation.default.*: -1 (the broker's default) or at least 1.
template <class Int>
detail::setting<producer_config> broker_default_or_positive(std::string_view name, Int producer_config::*field,
                                                            Int max) {
    auto s = detail::integer<producer_config>(name, field, -1, max);
    s.check = [name, field, max](const producer_config& c) {
        const Int v = c.*field;
        if (v == 0) return std::string(name) + "=0: expected -1 or at least 1";
        return v < -1 || v > max ? detail::out_of_range<Int>(name, v, -1, max) : std::string();
    };
    return s;
}

const setting_table<producer_config>& producer_settings() {
    using P = producer_config;
    static const setting_table<P> table = {
        {"acks",
         [](P& c, std::string_view v) -> std::string {
             if (v == "all" || v == "-1") c.required_acks = acks::all;
             else if (v == "1") c.required_acks = acks::leader;
             else if (v == "0") c.required_acks = acks::none;
             else return "expected 0, 1, all or -1";
             return {};
         }},
        detail::duration<P>("linger.ms", &P::linger),
        detail::integer<P>("batch.size", &P::batch_size, 1, 0x7fffffffu),
        detail::integer<P>("max.request.size", &P::max_request_size, 1024, 0x7fffffffu),
        {"compression.type",
         [](P& c, std::string_view v) -> std::string {
             const auto codec = parse_compression(v);
             if (!codec) return "expected none, gzip, snappy, lz4 or zstd";
             c.compression = *codec;
             return {};
         }},
        {"compression.level",
         [](P& c, std::string_view v) {
             int level = 0;
             auto err = detail::parse_integer(v, level);
             if (err.empty()) c.compression_level = level;
             return err;
         },
         [](const P& c) {
             constexpr int min = -131072, max = 22;
             return c.compression_level && (*c.compression_level < min || *c.compression_level > max)
                        ? detail::out_of_range("compression.level", *c.compression_level, min, max)
                        : std::string();
         }},
        detail::integer<P>("buffer.memory", &P::buffer_memory, 1024, std::uint64_t{1} << 40),
        {"enable.idempotence",
         [](P& c, std::string_view v) {
             bool b = true;
             auto err = detail::parse_bool(v, b);
             if (err.empty()) c.enable_idempotence = b;
             return err;
         }},
        detail::integer<P>("max.in.flight.requests.per.connection", &P::max_in_flight_per_connection, 1, 1000000),
        detail::duration<P>("delivery.timeout.ms", &P::delivery_timeout, 1),
        detail::duration<P>("retry.backoff.ms", &P::retry_backoff),
        detail::duration<P>("retry.backoff.max.ms", &P::retry_backoff_max),
        broker_default_or_positive<std::int32_t>("topic.creation.default.partitions", &P::topic_creation_partitions,
                                                 1000000),
        broker_default_or_positive<std::int16_t>("topic.creation.default.replication.factor",
                                                 &P::topic_creation_replication_factor, 32767),
        detail::text<P>("transactional.id", &P::transactional_id),
        detail::duration<P>("transaction.timeout.ms", &P::transaction_timeout, 1),
    };
    return table;
}

std::string_view acks_name(acks a) {
    switch (a) {
        case acks::none: return "0";
        case acks::leader: return "1";
        case acks::all: break;
    }
    return "all";
}

const setting_table<consumer_config>& consumer_settings() {
    using K = consumer_config;
    static const setting_table<K> table = {
        detail::text<K>("group.id", &K::group_id),
        {"group.instance.id",
         [](K& c, std::string_view v) {
             if (v.empty()) c.group_instance_id.reset();
             else c.group_instance_id = std::string(v);
             return std::string();
         }},
        {"group.protocol",
         [](K& c, std::string_view v) -> std::string {
             if (v == "classic") c.group_protocol = group_protocol_kind::classic;
             else if (v == "consumer") c.group_protocol = group_protocol_kind::consumer;
             else return "expected classic or consumer";
             return {};
         }},
        {"group.remote.assignor",
         [](K& c, std::string_view v) {
             if (v.empty()) c.group_remote_assignor.reset();
             else c.group_remote_assignor = std::string(v);
             return std::string();
         }},
        detail::duration<K>("session.timeout.ms", &K::session_timeout, 1),
        detail::duration<K>("heartbeat.interval.ms", &K::heartbeat_interval, 1),
        detail::duration<K>("max.poll.interval.ms", &K::max_poll_interval, 1),
        {"partition.assignment.strategy",
         [](K& c, std::string_view v) -> std::string {
             std::vector<assignor_kind> kinds;
             for (const auto& name : detail::split_list(v)) {
                 if (name == "range") kinds.push_back(assignor_kind::range);
                 else if (name == "roundrobin") kinds.push_back(assignor_kind::roundrobin);
                 else if (name == "cooperative-sticky") kinds.push_back(assignor_kind::cooperative_sticky);
                 else return "expected a list of range, roundrobin, cooperative-sticky";
             }
             c.assignors = std::move(kinds);
             return {};
         },
         [](const K& c) {
             return c.assignors.empty() ? std::string("partition.assignment.strategy=: expected a list of range, "
                                                      "roundrobin, cooperative-sticky")
                                        : std::string();
         }},
        detail::integer<K>("fetch.min.bytes", &K::fetch_min_bytes, 1, 0x7fffffff),
        detail::duration<K>("fetch.max.wait.ms", &K::fetch_max_wait),
        detail::integer<K>("max.partition.fetch.bytes", &K::max_partition_fetch_bytes, 1, 0x7fffffff),
        detail::integer<K>("fetch.max.bytes", &K::fetch_max_bytes, 1, 0x7fffffff),
        detail::integer<K>("max.poll.records", &K::max_poll_records, 1, std::size_t{1} << 30),
        {"auto.offset.reset",
         [](K& c, std::string_view v) -> std::string {
             if (v == "earliest" || v == "smallest" || v == "beginning") c.auto_offset_reset = offset_reset::earliest;
             else if (v == "latest" || v == "largest" || v == "end") c.auto_offset_reset = offset_reset::latest;
             else if (v == "none" || v == "error") c.auto_offset_reset = offset_reset::none;
             else return "expected earliest, latest or none";
             return {};
         }},
        {"isolation.level",
         [](K& c, std::string_view v) -> std::string {
             if (v == "read_uncommitted") c.isolation_level = isolation::read_uncommitted;
             else if (v == "read_committed") c.isolation_level = isolation::read_committed;
             else return "expected read_uncommitted or read_committed";
             return {};
         }},
        // Java/C auto-commit: properties only, mapped onto the commit policy once every property
        // is read (apply_properties below); here only their syntax is checked.
        {"enable.auto.commit",
         [](K&, std::string_view v) {
             bool b = true;
             return detail::parse_bool(v, b);
         }},
        {"auto.commit.interval.ms",
         [](K&, std::string_view v) {
             std::int64_t ms = 0;
             auto err = detail::parse_integer(v, ms);
             return err.empty() && ms < 0 ? std::string("expected at least 0") : err;
         }},
        {"kwire.commit",
         [](K& c, std::string_view v) -> std::string {
             const auto p = parse_commit_policy(v);
             if (!p) return "expected manual, on_poll or interval:MS";
             c.commit = *p;
             return {};
         }},
        detail::boolean<K>("check.crcs", &K::check_crcs),
        detail::duration<K>("retry.backoff.ms", &K::retry_backoff),
        detail::duration<K>("retry.backoff.max.ms", &K::retry_backoff_max),
        detail::duration<K>("default.api.timeout.ms", &K::default_api_timeout, 1),
        detail::text<K>("client.rack", &K::client_rack),
    };
    return table;
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

// --- validate: the checks a struct built in code and one built from properties both pass -------

std::error_code validate(const connection_config& cfg, std::string* what) {
    if (auto err = detail::check_all(cfg, detail::connection_settings()); !err.empty())
        return config_error(what, std::move(err));
    return {};
}

std::error_code validate(const producer_config& cfg, std::string* what) {
    if (auto ec = validate(static_cast<const connection_config&>(cfg), what)) return ec;
    if (auto err = detail::check_all(cfg, producer_settings()); !err.empty()) return config_error(what, std::move(err));
    // As the Java client: idempotence asked for explicitly cannot be had with weaker acks or more
    // than five requests in flight (the broker keeps five batches per producer to deduplicate).
    // Left at its default, those settings turn it off instead (producer_config::idempotent()).
    // A transactional producer is idempotent whatever enable.idempotence's default would say.
    const char* needs = cfg.transactional() ? "transactional.id" : "enable.idempotence=true";
    if (cfg.transactional() && cfg.enable_idempotence == false)
        return config_error(what, "transactional.id requires idempotence (got enable.idempotence=false)");
    if (cfg.enable_idempotence == true || cfg.transactional()) {
        if (cfg.required_acks != acks::all)
            return config_error(what, std::string(needs) + " requires acks=all (got acks=" +
                                          std::string(acks_name(cfg.required_acks)) + ")");
        if (cfg.max_in_flight_per_connection > 5)
            return config_error(what, std::string(needs) + " requires max.in.flight.requests.per.connection at "
                                      "most 5 (got " + std::to_string(cfg.max_in_flight_per_connection) + ")");
    }
    return {};
}

std::error_code validate(const consumer_config& cfg, std::string* what) {
    if (auto ec = validate(static_cast<const connection_config&>(cfg), what)) return ec;
    if (auto err = detail::check_all(cfg, consumer_settings()); !err.empty()) return config_error(what, std::move(err));
    if (cfg.session_timeout <= cfg.heartbeat_interval)
        return config_error(what, "heartbeat.interval.ms=" + std::to_string(cfg.heartbeat_interval.count()) +
                                      " must be below session.timeout.ms (got session.timeout.ms=" +
                                      std::to_string(cfg.session_timeout.count()) + ")");
    return {};
}

// --- apply_properties --------------------------------------------------------------------------

std::error_code apply_properties(connection_config& cfg, const properties& props, std::string* what) {
    static const setting_table<connection_config> none;  // the connection's own table is the base
    if (auto ec = detail::parse_layered(cfg, none, props, what)) return ec;
    return validate(cfg, what);
}

std::error_code apply_properties(producer_config& cfg, const properties& props, std::string* what) {
    if (auto ec = detail::parse_layered(cfg, producer_settings(), props, what)) return ec;
    return validate(cfg, what);
}

std::error_code apply_properties(consumer_config& cfg, const properties& props, std::string* what) {
    if (auto ec = detail::parse_layered(cfg, consumer_settings(), props, what)) return ec;
    // enable.auto.commit=true: the previous poll's records count as processed at the next poll,
    // committed at most every auto.commit.interval.ms (default 5000) -- the Java client's
    // auto-commit, as the on_poll policy. false: manual. kwire.commit names a policy directly;
    // given with enable.auto.commit, the two must agree.
    const auto auto_commit = props.find("enable.auto.commit");
    const auto interval = props.find("auto.commit.interval.ms");
    const auto interval_ms = [&] {
        std::int64_t ms = 5000;
        if (interval != props.end()) detail::parse_integer(interval->second, ms);
        return milliseconds(ms);
    };
    if (const auto named = props.find("kwire.commit"); named != props.end()) {
        if (auto_commit != props.end()) {
            bool on = true;
            detail::parse_bool(auto_commit->second, on);
            if (on == (cfg.commit.k == commit_policy::kind::manual))
                return config_error(what, "enable.auto.commit=" + auto_commit->second + " contradicts kwire.commit=" +
                                              named->second);
        }
    } else if (auto_commit != props.end()) {
        bool on = true;
        detail::parse_bool(auto_commit->second, on);
        if (on) {
            cfg.commit = commit_policy::on_poll();
            cfg.commit.every = interval_ms();
        } else {
            cfg.commit = commit_policy::manual();
        }
    } else if (interval != props.end() && cfg.commit.k != commit_policy::kind::manual) {
        cfg.commit.every = interval_ms();
    }
    return validate(cfg, what);
}

}  // namespace kwire::client
