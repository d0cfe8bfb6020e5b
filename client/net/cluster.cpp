// The cluster (see cluster.hpp): a connection per broker, the metadata cache and its coalesced
// refreshes, leader updates, and topic creation for allow.auto.create.topics.
#include "net/cluster.hpp"

#include <algorithm>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"
#include "kwire/protocol/messages/create_topics.hpp"

namespace kwire::client::detail {

namespace {
/// Statistics and KIP-714 pushes read the metrics registry: with either on and no registry
/// given, the client keeps one of its own.
connection_config with_own_registry(connection_config cfg) {
    if ((cfg.statistics_interval.count() > 0 || cfg.enable_metrics_push) && !cfg.metrics)
        cfg.metrics = std::make_shared<metrics_registry>();
    return cfg;
}
}  // namespace

cluster::cluster(net::any_io_executor ex, connection_config cfg)
    : ex_(ex), cfg_(with_own_registry(std::move(cfg))), telemetry_(std::make_shared<telemetry>(cfg_)),
      age_timer_(ex) {
    if (cfg_.statistics_interval.count() > 0) statistics_ = std::make_unique<statistics_emitter>(ex_, *this);
    std::int32_t id = -1;
    for (const auto& address : cfg_.bootstrap_servers) {
        auto [host, port] = split_broker_address(address);
        bootstrap_.push_back(std::make_shared<broker_connection>(ex_, cfg_, id--, host, port, telemetry_));
    }
}

std::string cluster::with_last_error(std::string_view what) const {
    std::string out(what);
    if (const auto e = last_error()) out += " (last error: " + e->description + ")";
    return out;
}

cluster::~cluster() { close(); }

void cluster::push_metrics(std::string kind) {
    if (!cfg_.enable_metrics_push || pusher_ || closed_ || !telemetry_->metrics()) return;
    pusher_ = std::make_shared<telemetry_push>(*this, std::move(kind), *telemetry_->metrics());
}

void cluster::close() {
    if (closed_) return;
    closed_ = true;
    age_timer_.cancel();
    if (statistics_) statistics_->stop();
    // The terminating push's connection stays open until that push is answered (it closes it).
    const auto pushing = pusher_ ? pusher_->close() : nullptr;
    for (auto& c : bootstrap_)
        if (c != pushing) c->close();
    for (auto& [id, c] : connections_)
        if (c != pushing) c->close();
    // Refreshes asked for but never started will not happen now: say so. (Dropping them silently
    // would also keep whatever their callbacks hold -- the producer itself -- alive forever.)
    auto waiters = std::move(next_waiters_);
    next_waiters_.clear();
    next_topics_.clear();
    for (auto& w : waiters) net::post(ex_, [w = std::move(w)] { w(make_error_code(client_errc::closed)); });
}

const topic_info* cluster::topic(std::string_view name) const {
    const auto it = topics_.find(name);
    return it == topics_.end() ? nullptr : &it->second;
}

std::shared_ptr<broker_connection> cluster::broker(std::int32_t node_id) {
    if (const auto it = connections_.find(node_id); it != connections_.end()) return it->second;
    const auto info = broker_info_.find(node_id);
    if (info == broker_info_.end()) {
        KWIRE_LOG_LIMITED(log(), log_level::warn, log_context::metadata, "unknown broker " + std::to_string(node_id),
                          "broker " + std::to_string(node_id) +
                              " is not in the metadata: nothing to connect to until a refresh names it");
        return nullptr;
    }
    auto c = std::make_shared<broker_connection>(ex_, cfg_, node_id, info->second.host, info->second.port, telemetry_);
    connections_.emplace(node_id, c);
    return c;
}

std::vector<std::shared_ptr<broker_connection>> cluster::connections() const {
    std::vector<std::shared_ptr<broker_connection>> all(bootstrap_.begin(), bootstrap_.end());
    for (const auto& [id, c] : connections_) all.push_back(c);
    return all;
}

void cluster::start_statistics(std::string_view type, statistics_contributor contribute) {
    if (!statistics_ || closed_) return;
    if (contribute) statistics_->add(std::move(contribute));
    statistics_->start(type);
}

std::shared_ptr<broker_connection> cluster::any_broker() {
    for (auto& [id, c] : connections_)
        if (c->ready()) return c;
    for (auto& c : bootstrap_)
        if (c->ready()) return c;
    // Nothing connected: rotate over known brokers, then bootstrap addresses, so one dead
    // address does not stall the client.
    std::vector<std::shared_ptr<broker_connection>> candidates;
    for (const auto& [id, info] : broker_info_) candidates.push_back(broker(id));
    for (auto& c : bootstrap_) candidates.push_back(c);
    if (candidates.empty()) return nullptr;
    return candidates[next_broker_++ % candidates.size()];
}

bool metadata_asks_for_all(const std::vector<std::string>& topics, bool allow_auto_create, std::int16_t version) noexcept {
    return !topics.empty() && !allow_auto_create && version < 4;
}

protocol::MetadataRequest metadata_request(const std::vector<std::string>& topics, bool allow_auto_create,
                                           std::int16_t version) {
    protocol::MetadataRequest req;
    if (topics.empty() || metadata_asks_for_all(topics, allow_auto_create, version)) {
        req.topics.reset();  // null: all topics (v1+); v0 sends an empty array, which means the same
    } else {
        req.topics.emplace();
        for (const auto& t : topics) {
            protocol::MetadataRequest::MetadataRequestTopic rt;
            rt.name = t;
            req.topics->push_back(std::move(rt));
        }
    }
    req.allow_auto_topic_creation = allow_auto_create;
    return req;
}

void restrict_metadata(protocol::MetadataResponse& resp, const std::vector<std::string>& topics, bool asked_for_all) {
    if (topics.empty() || !asked_for_all) return;
    std::vector<protocol::MetadataResponse::MetadataResponseTopic> kept;
    for (const auto& name : topics) {
        const auto it = std::find_if(resp.topics.begin(), resp.topics.end(),
                                     [&](const auto& t) { return t.name && *t.name == name; });
        if (it != resp.topics.end()) {
            kept.push_back(std::move(*it));
        } else {
            kept.emplace_back();
            kept.back().name = name;
            kept.back().error_code = wire_code(kafka_errc::unknown_topic_or_partition);
        }
    }
    resp.topics = std::move(kept);
}

cluster_metadata to_cluster_metadata(const protocol::MetadataResponse& resp) {
    cluster_metadata md;
    md.cluster_id = resp.cluster_id;
    md.controller_id = resp.controller_id;
    for (const auto& b : resp.brokers) md.brokers.push_back({b.node_id, b.host, b.port, b.rack});
    for (const auto& t : resp.topics) {
        cluster_metadata::topic topic;
        topic.name = t.name.value_or("");
        topic.error = t.error_code;
        topic.internal = t.is_internal;
        for (const auto& p : t.partitions)
            topic.partitions.push_back(
                {p.partition_index, p.leader_id, p.leader_epoch, p.error_code, p.replica_nodes, p.isr_nodes});
        md.topics.push_back(std::move(topic));
    }
    return md;
}

void cluster::create_topic(std::string name, std::int32_t partitions, std::int16_t replication_factor,
                           refresh_done done) {
    auto conn = controller_id_ >= 0 ? broker(controller_id_) : nullptr;
    if (!conn) conn = any_broker();
    if (!conn) {
        net::post(ex_, [done = std::move(done)] { done(make_error_code(client_errc::no_brokers)); });
        return;
    }
    protocol::CreateTopicsRequest req;
    req.topics.emplace_back();
    req.topics.back().name = std::move(name);
    req.topics.back().num_partitions = partitions;
    req.topics.back().replication_factor = replication_factor;
    req.timeout_ms = static_cast<std::int32_t>(cfg_.request_timeout.count());
    const std::int16_t min_version = partitions < 0 || replication_factor < 0 ? 4 : 0;
    conn->request(std::move(req),
                  [done = std::move(done)](std::error_code ec, protocol::CreateTopicsResponse resp, std::int16_t) {
                      if (!ec && !resp.topics.empty()) ec = kafka_error(resp.topics.front().error_code);
                      if (ec == kafka_errc::topic_already_exists) ec = {};
                      done(ec);
                  },
                  {.min_version = min_version});
}

void cluster::add_broker(const broker_info& b) {
    const auto it = broker_info_.find(b.node_id);
    if (it != broker_info_.end() && (it->second.host != b.host || it->second.port != b.port)) {
        // The broker moved: the old connection points at the wrong address.
        if (auto c = connections_.find(b.node_id); c != connections_.end()) {
            c->second->close(make_error_code(client_errc::connection_closed));
            connections_.erase(c);
        }
    }
    broker_info_[b.node_id] = b;
}

void cluster::update_leader(std::string_view name, std::int32_t partition, std::int32_t leader, std::int32_t epoch) {
    const auto it = topics_.find(name);
    if (it == topics_.end()) return;
    for (auto& p : it->second.partitions) {
        // Only move forward: an older epoch is stale news.
        if (p.id == partition && (epoch < 0 || epoch >= p.leader_epoch)) {
            if (p.leader != leader) ++leaders_version_;
            p.leader = leader;
            p.leader_epoch = epoch;
            p.error = 0;
        }
    }
}

void cluster::refresh(std::vector<std::string> topics, refresh_done done) {
    if (closed_) {
        net::post(ex_, [done = std::move(done)] { done(make_error_code(client_errc::closed)); });
        return;
    }
    if (topics.empty()) next_all_ = true;
    next_topics_.insert(topics.begin(), topics.end());
    next_waiters_.push_back(std::move(done));
    if (!refreshing_) start_refresh();
}

void cluster::start_refresh() {
    refreshing_ = true;
    current_waiters_ = std::move(next_waiters_);
    next_waiters_.clear();
    auto topics = next_all_ ? std::vector<std::string>{}
                            : std::vector<std::string>(next_topics_.begin(), next_topics_.end());
    next_topics_.clear();
    next_all_ = false;
    fetch(std::move(topics), [self = shared_from_this()](std::error_code ec, const protocol::MetadataResponse&,
                                                         std::int16_t) { self->finish_refresh(ec); });
}

void cluster::fetch(std::vector<std::string> topics, fetch_done done) {
    auto conn = any_broker();
    if (!conn) {
        net::post(ex_, [done = std::move(done)] {
            done(make_error_code(client_errc::no_brokers), protocol::MetadataResponse{}, -1);
        });
        return;
    }
    const bool allow = cfg_.allow_auto_create_topics;
    conn->request_built([topics, allow](std::int16_t v) { return metadata_request(topics, allow, v); },
                        [self = shared_from_this(), topics, allow, done = std::move(done)](
                            std::error_code ec, protocol::MetadataResponse resp, std::int16_t version) {
                            if (!ec) {
                                restrict_metadata(resp, topics, metadata_asks_for_all(topics, allow, version));
                                self->apply(resp, version);
                            }
                            done(ec, resp, version);
                        },
                        {.min_version = 0, .max_version = 12});
}

void cluster::apply(const protocol::MetadataResponse& resp, std::int16_t version) {
    if (pusher_) pusher_->kick();  // a broker answered: telemetry may begin
    ++leaders_version_;
    log_changes(resp);
    for (const auto& b : resp.brokers) add_broker({b.node_id, b.host, static_cast<std::uint16_t>(b.port), b.rack});
    if (version >= 2) cluster_id_ = resp.cluster_id;
    if (version >= 1) controller_id_ = resp.controller_id;
    for (const auto& t : resp.topics) {
        if (!t.name) continue;
        topic_info info;
        info.name = *t.name;
        info.error = t.error_code;
        for (const auto& p : t.partitions)
            info.partitions.push_back({p.partition_index, p.leader_id, p.leader_epoch, p.error_code});
        std::sort(info.partitions.begin(), info.partitions.end(),
                  [](const partition_info& a, const partition_info& b) { return a.id < b.id; });
        topics_[info.name] = std::move(info);
    }
}

void cluster::log_changes(const protocol::MetadataResponse& resp) {
    auto* lg = log();
    if (!lg->enabled(log_level::warn, log_context::metadata)) return;  // every message below is warn or finer
    const auto name_of = [](std::int32_t id, const std::string& host, std::int32_t port) {
        return "broker " + std::to_string(id) + " (" + host + ":" + std::to_string(port) + ")";
    };
    // Brokers: the answer lists every live broker whatever topics were asked for.
    if (!broker_info_.empty()) {
        for (const auto& b : resp.brokers)
            if (!broker_info_.count(b.node_id))
                KWIRE_LOG(lg, log_level::info, log_context::metadata,
                          name_of(b.node_id, b.host, b.port) + " joined the cluster");
        for (const auto& [node, info] : broker_info_) {
            const auto id = node;  // clang 14 cannot capture a structured binding
            if (std::none_of(resp.brokers.begin(), resp.brokers.end(), [&](const auto& b) { return b.node_id == id; }))
                KWIRE_LOG(lg, log_level::info, log_context::metadata,
                          name_of(id, info.host, info.port) + " is no longer in the metadata");
        }
    }
    for (const auto& t : resp.topics) {
        if (!t.name) continue;
        const auto known = topics_.find(*t.name);
        for (const auto& p : t.partitions) {
            const auto where = *t.name + "/" + std::to_string(p.partition_index);
            if (p.leader_id >= 0 && std::none_of(resp.brokers.begin(), resp.brokers.end(),
                                                 [&](const auto& b) { return b.node_id == p.leader_id; })) {
                KWIRE_LOG_LIMITED(lg, log_level::warn, log_context::metadata, "leader missing " + where,
                                  "partition " + where + ": leader " + std::to_string(p.leader_id) +
                                      " is not among the brokers in the metadata; waiting for a refresh");
                continue;
            }
            if (p.leader_id < 0) {
                KWIRE_LOG_LIMITED(lg, log_level::warn, log_context::metadata, "no leader " + where,
                                  "partition " + where + " has no leader (" +
                                      std::string(kafka_error_name(p.error_code)) + ")");
                continue;
            }
            if (known == topics_.end()) continue;
            for (const auto& old : known->second.partitions)
                if (old.id == p.partition_index && old.leader != p.leader_id)
                    KWIRE_LOG(lg, log_level::info, log_context::metadata,
                              "partition " + where + ": leader moved from broker " + std::to_string(old.leader) +
                                  " to " + std::to_string(p.leader_id) + " (epoch " +
                                  std::to_string(p.leader_epoch) + ")");
        }
    }
}

void cluster::arm_age_timer() {
    if (age_timer_armed_ || closed_ || topics_.empty()) return;
    age_timer_armed_ = true;
    age_timer_.expires_after(cfg_.metadata_max_age);
    // A weak reference: the periodic refresh must not keep a cluster nobody uses alive.
    age_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        self->age_timer_armed_ = false;
        if (ec || self->closed_) return;
        std::vector<std::string> names;
        for (const auto& [name, info] : self->topics_) names.push_back(name);
        self->refresh(std::move(names), [](std::error_code) {});
    });
}

void cluster::finish_refresh(std::error_code ec) {
    refreshing_ = false;
    if (!ec) arm_age_timer();
    auto waiters = std::move(current_waiters_);
    current_waiters_.clear();
    for (auto& w : waiters) w(ec);
    if (!next_waiters_.empty() && !refreshing_ && !closed_) start_refresh();
}

}  // namespace kwire::client::detail
