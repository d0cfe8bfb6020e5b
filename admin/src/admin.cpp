// The admin calls. Each is an admin_call (admin_impl.hpp): run() makes one attempt, and items whose
// errors are retriable stay pending for the next one (routing.hpp decides), until they are all
// answered or the call's deadline passes.
#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <set>

#include "admin_impl.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/create_partitions.hpp"
#include "kwire/protocol/messages/create_topics.hpp"
#include "kwire/protocol/messages/delete_groups.hpp"
#include "kwire/protocol/messages/delete_records.hpp"
#include "kwire/protocol/messages/delete_topics.hpp"
#include "kwire/protocol/messages/describe_cluster.hpp"
#include "kwire/protocol/messages/describe_configs.hpp"
#include "kwire/protocol/messages/describe_groups.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/incremental_alter_configs.hpp"
#include "kwire/protocol/messages/list_groups.hpp"
#include "kwire/protocol/messages/list_offsets.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"

namespace kwire::admin {

using client::client_errc;

namespace detail {

namespace kp = protocol;

// --- admin_impl ------------------------------------------------------------------------------

admin_impl::admin_impl(net::any_io_executor e, admin_config c) : ex(e), cfg(std::move(c)) {
    cfg.allow_auto_create_topics = false;  // looking at a topic must never create it
    cluster = std::make_shared<client::detail::cluster>(ex, cfg);
    cluster->push_metrics("admin");  // KIP-714 (enable.metrics.push)
    cluster->start_statistics("admin");  // statistics.interval.ms: requests, brokers
}

admin_impl::~admin_impl() { close(); }

void admin_impl::close() {
    if (closed) return;
    closed = true;
    cluster->close();
}

void admin_impl::metadata(std::vector<std::string> topics, client::detail::cluster::fetch_done done) {
    cluster->fetch(std::move(topics), std::move(done));
}

void admin_impl::controller(std::vector<std::string> topics, route_done done) {
    metadata(std::move(topics), [self = shared_from_this(), done = std::move(done)](
                                    std::error_code ec, const kp::MetadataResponse&, std::int16_t) {
        if (ec) return done(ec, nullptr);
        conn_ptr c = self->cluster->controller_id() >= 0 ? self->cluster->broker(self->cluster->controller_id()) : nullptr;
        if (!c) c = self->cluster->any_broker();
        if (!c) return done(make_error_code(client_errc::no_brokers), nullptr);
        done({}, std::move(c));
    });
}

void admin_impl::coordinator(const std::string& group, route_done done) {
    if (const auto it = coordinators_.find(group); it != coordinators_.end())
        if (auto c = cluster->broker(it->second)) return done({}, std::move(c));
    auto conn = cluster->any_broker();
    if (!conn) return done(make_error_code(client_errc::no_brokers), nullptr);
    kp::FindCoordinatorRequest req;
    req.key = group;
    req.key_type = 0;
    req.coordinator_keys = {group};
    conn->request(std::move(req), [self = shared_from_this(), group, done = std::move(done)](
                                      std::error_code ec, kp::FindCoordinatorResponse resp, std::int16_t v) {
        if (ec) return done(ec, nullptr);
        std::int16_t error = resp.error_code;
        std::int32_t node = resp.node_id;
        std::string host = resp.host;
        std::int32_t port = resp.port;
        if (v >= 4) {
            if (resp.coordinators.empty()) return done(make_error_code(errc::truncated), nullptr);
            const auto& c = resp.coordinators.front();
            error = c.error_code;
            node = c.node_id;
            host = c.host;
            port = c.port;
        }
        if (error != 0) return done(kafka_error(error), nullptr);
        self->cluster->add_broker({node, host, static_cast<std::uint16_t>(port), std::nullopt});
        self->coordinators_[group] = node;
        auto c = self->cluster->broker(node);
        if (!c) return done(make_error_code(client_errc::no_brokers), nullptr);
        done({}, std::move(c));
    });
}

namespace {

// --- items: how each result type names its item ----------------------------------------------

void set_key(topic_result& r, const std::string& k) { r.name = k; }
void set_key(group_result& r, const std::string& k) { r.group_id = k; }
void set_key(group_description& r, const std::string& k) { r.group_id = k; }
void set_key(resource_result& r, const config_resource& k) { r.resource = k; }
void set_key(config_description& r, const config_resource& k) { r.resource = k; }
template <class R> void set_key(R& r, const topic_partition& k) { r.tp = k; }

std::int16_t kafka_code(std::error_code ec) {
    return ec.category() == kafka_category() ? static_cast<std::int16_t>(ec.value())
                                              : wire_code(kafka_errc::unknown_server_error);
}

/// A call over a list of items (topics, partitions, groups, resources), each with its own result.
/// The results come back in the order the items were given (duplicates once).
template <class Derived, class Sig, class Key, class Result>
class items_call : public admin_call<Derived, Sig> {
public:
    items_call(impl_ptr i, handler<Sig> h, const std::vector<Key>& keys) : admin_call<Derived, Sig>(std::move(i), std::move(h)) {
        for (const auto& k : keys)
            if (std::find(order_.begin(), order_.end(), k) == order_.end()) {
                order_.push_back(k);
                items_.add(k);
            }
    }

    void timed_out() {
        items_.give_up([](const Key& k) { return result(k, make_error_code(client_errc::request_timed_out)); });
        finish_items();
    }

public:
    static Result result(const Key& k, std::error_code ec, std::string message = {}) {
        Result r{};
        set_key(r, k);
        r.error = client::detail::api_error(ec);
        if constexpr (requires { r.message; }) r.message = std::move(message);
        return r;
    }

protected:
    /// A broker's answer for `k`; `code` is its Kafka error code.
    void answer(const Key& k, Result r, std::int16_t code, bool unknown_topic_retriable = false) {
        answered_ = true;
        items_.answer(k, std::move(r), code, this->late(), unknown_topic_retriable);
    }
    /// No answer for `k`: the request failed with `ec` (or there was no route).
    void fail(const Key& k, std::error_code ec) {
        if (const auto code = kafka_code(ec); code >= 0) return answer(k, result(k, ec), code);
        last_error_ = ec;
        items_.fail(k, result(k, ec), ec, this->late());
    }
    void fail_all(std::error_code ec) {
        const auto pending = items_.pending();
        for (const auto& k : pending) fail(k, ec);
    }
    /// After an attempt: done, or another one after the backoff.
    void next() {
        if (items_.finished()) return finish_items();
        this->retry();
    }
    void finish_items() {
        std::vector<Result> out;
        for (const auto& k : order_) {
            auto it = items_.results().find(k);
            out.push_back(it != items_.results().end() ? std::move(it->second)
                                                       : result(k, make_error_code(client_errc::request_timed_out)));
        }
        // The call's own error only when no broker answered for any item.
        std::error_code ec;
        if (!answered_) ec = last_error_ ? last_error_ : make_error_code(client_errc::request_timed_out);
        this->finish(ec, std::move(out));
    }
    std::vector<Key> pending_list() const { return {items_.pending().begin(), items_.pending().end()}; }

    item_tracker<Key, Result> items_;
    std::vector<Key> order_;
    bool answered_ = false;
    std::error_code last_error_;
};

/// The key of each item, in order.
template <class T, class Key> auto keys_of(const std::vector<T>& items, Key key) {
    std::vector<std::decay_t<std::invoke_result_t<Key, const T&>>> out;
    for (const auto& i : items) out.push_back(key(i));
    return out;
}

std::vector<std::string> topics_of(const std::vector<topic_partition>& tps) {
    std::set<std::string> names;
    for (const auto& tp : tps) names.insert(tp.topic);
    return {names.begin(), names.end()};
}

/// Finds the leader of `tp` in a Metadata answer: (leader, error).
std::pair<std::int32_t, std::int16_t> leader_in(const kp::MetadataResponse& md, const topic_partition& tp) {
    for (const auto& t : md.topics) {
        if (!t.name || *t.name != tp.topic) continue;
        if (t.error_code != 0) return {-1, t.error_code};
        for (const auto& p : t.partitions)
            if (p.partition_index == tp.partition) return {p.leader_id, wire_code(p.leader_id < 0 ? kafka_errc::leader_not_available : kafka_errc::none)};
        return {-1, wire_code(kafka_errc::unknown_topic_or_partition)};  // the topic exists, the partition does not
    }
    return {-1, wire_code(kafka_errc::unknown_topic_or_partition)};
}

// --- topics: create, delete, create partitions (the controller) ------------------------------

/// A call over topics, sent to the controller in one request; Derived::send(conn) sends it and
/// answers each topic with answer_topic().
template <class Derived>
class controller_call : public items_call<Derived, topics_signature, std::string, topic_result> {
public:
    using items_call<Derived, topics_signature, std::string, topic_result>::items_call;
    void run() {
        this->impl->controller(this->pending_list(), [s = this->shared_from_this()](std::error_code ec, conn_ptr conn) {
            if (s->finished()) return;
            if (ec) return s->fail_all(ec), s->next();
            s->send(std::move(conn));
        });
    }
    /// The response handler of Derived's request: `each(resp, answer)` calls
    /// answer(name, error_code, message) per topic.
    template <class Resp, class Each> auto on_response(Each each) {
        return [s = this->shared_from_this(), each](std::error_code ec, Resp resp, std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->fail_all(ec), s->next();
            each(resp, [&](const std::string& name, std::int16_t code, const std::optional<std::string>& message) {
                s->answer(name, Derived::result(name, kafka_error(code), message.value_or("")), code);
            });
            s->next();
        };
    }
    std::int32_t timeout_ms() const { return static_cast<std::int32_t>(this->impl->cfg.request_timeout.count()); }
};

class create_topics_call : public controller_call<create_topics_call> {
public:
    create_topics_call(impl_ptr i, handler<topics_signature> h, std::vector<new_topic> topics, create_topics_options o)
        : controller_call(std::move(i), std::move(h), keys_of(topics, [](const new_topic& t) { return t.name; })),
          options_(o) {
        for (auto& t : topics) topics_.emplace(t.name, std::move(t));
    }
    void send(conn_ptr conn) {
        kp::CreateTopicsRequest req;
        bool needs_defaults = false;
        for (const auto& name : items_.pending()) {
            const auto& t = topics_.at(name);
            auto& ct = req.topics.emplace_back();
            ct.name = t.name;
            ct.num_partitions = t.assignments.empty() ? t.partitions : -1;
            ct.replication_factor = t.assignments.empty() ? t.replication_factor : std::int16_t{-1};
            if (t.assignments.empty() && (t.partitions < 0 || t.replication_factor < 0)) needs_defaults = true;
            for (const auto& [p, brokers] : t.assignments) ct.assignments.push_back({p, brokers, {}});
            for (const auto& [k, v] : t.configs) ct.configs.push_back({k, v, {}});
        }
        req.timeout_ms = timeout_ms();
        req.validate_only = options_.validate_only;
        // -1 for the broker's defaults needs v4 (KIP-464); validate_only needs v1.
        const std::int16_t min_version = needs_defaults ? 4 : options_.validate_only ? 1 : 0;
        conn->request(std::move(req), on_response<kp::CreateTopicsResponse>([](const auto& resp, auto answer) {
                          for (const auto& t : resp.topics) answer(t.name, t.error_code, t.error_message);
                      }),
                      {.min_version = min_version});
    }

private:
    create_topics_options options_;
    std::map<std::string, new_topic> topics_;
};

class delete_topics_call : public controller_call<delete_topics_call> {
public:
    using controller_call::controller_call;
    void send(conn_ptr conn) {
        kp::DeleteTopicsRequest req;  // names in both layouts: the version picks one
        for (const auto& name : items_.pending()) {
            req.topic_names.push_back(name);
            req.topics.emplace_back().name = name;
        }
        req.timeout_ms = timeout_ms();
        conn->request(std::move(req), on_response<kp::DeleteTopicsResponse>([](const auto& resp, auto answer) {
                          for (const auto& t : resp.responses) answer(t.name.value_or(""), t.error_code, t.error_message);
                      }));
    }
};

class create_partitions_call : public controller_call<create_partitions_call> {
public:
    create_partitions_call(impl_ptr i, handler<topics_signature> h, std::vector<new_partitions> topics, bool validate_only)
        : controller_call(std::move(i), std::move(h), keys_of(topics, [](const new_partitions& t) { return t.topic; })),
          validate_only_(validate_only) {
        for (auto& t : topics) topics_.emplace(t.topic, std::move(t));
    }
    void send(conn_ptr conn) {
        kp::CreatePartitionsRequest req;
        for (const auto& name : items_.pending()) {
            const auto& t = topics_.at(name);
            auto& ct = req.topics.emplace_back();
            ct.name = t.topic;
            ct.count = t.total_count;
            if (t.assignments.empty()) {
                ct.assignments.reset();
            } else {
                ct.assignments.emplace();
                for (const auto& a : t.assignments) ct.assignments->push_back({a, {}});
            }
        }
        req.timeout_ms = timeout_ms();
        req.validate_only = validate_only_;
        conn->request(std::move(req), on_response<kp::CreatePartitionsResponse>([](const auto& resp, auto answer) {
                          for (const auto& t : resp.results) answer(t.name, t.error_code, t.error_message);
                      }));
    }

private:
    bool validate_only_;
    std::map<std::string, new_partitions> topics_;
};

// --- topics: list and describe (Metadata) ----------------------------------------------------

/// One Metadata answer, retried while the request fails or a topic is retriably unavailable
/// (LEADER_NOT_AVAILABLE while a topic is being created).
template <class Derived, class Sig>
class metadata_call : public admin_call<Derived, Sig> {
public:
    metadata_call(impl_ptr i, handler<Sig> h, std::vector<std::string> topics)
        : admin_call<Derived, Sig>(std::move(i), std::move(h)), topics_(std::move(topics)) {}
    void run() {
        this->impl->metadata(topics_, [s = this->shared_from_this()](std::error_code ec, const kp::MetadataResponse& resp,
                                                                     std::int16_t) {
            if (s->finished()) return;
            if (ec) {
                s->last_error_ = ec;
                if (classify(ec) == next_step::done) return s->finish(ec, typename Derived::result_type{});
                return s->retry();
            }
            s->last_ = resp;
            s->have_answer_ = true;
            for (const auto& t : resp.topics)
                if (classify(t.error_code) != next_step::done && !s->late()) return s->retry();
            s->done(resp);
        });
    }
    void timed_out() {
        if (have_answer_) return static_cast<Derived*>(this)->done(last_);
        this->finish(last_error_ ? last_error_ : make_error_code(client_errc::request_timed_out),
                     typename Derived::result_type{});
    }

protected:
    std::vector<std::string> topics_;
    kp::MetadataResponse last_;
    bool have_answer_ = false;
    std::error_code last_error_;
};

class list_topics_call : public metadata_call<list_topics_call, list_topics_signature> {
public:
    list_topics_call(impl_ptr i, handler<list_topics_signature> h, bool internal)
        : metadata_call(std::move(i), std::move(h), {}), internal_(internal) {}
    void done(const kp::MetadataResponse& resp) {
        std::vector<topic_listing> out;
        for (const auto& t : resp.topics) {
            if (!t.name || (t.is_internal && !internal_)) continue;
            out.push_back({*t.name, t.is_internal, static_cast<std::int32_t>(t.partitions.size())});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        finish(std::error_code{}, std::move(out));
    }

private:
    bool internal_;
};

class describe_topics_call : public metadata_call<describe_topics_call, describe_topics_signature> {
public:
    using metadata_call::metadata_call;
    void done(const kp::MetadataResponse& resp) {
        std::vector<topic_description> out;
        for (const auto& name : topics_) {
            auto& d = out.emplace_back();
            d.name = name;
            d.error = make_error_code(kafka_errc::unknown_topic_or_partition);
            for (const auto& t : resp.topics) {
                if (!t.name || *t.name != name) continue;
                d.error = kafka_error(t.error_code);
                d.internal = t.is_internal;
                for (const auto& p : t.partitions)
                    d.partitions.push_back({p.partition_index, p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes,
                                            p.offline_replicas, kafka_error(p.error_code)});
                std::sort(d.partitions.begin(), d.partitions.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
            }
        }
        finish(std::error_code{}, std::move(out));
    }
};

// --- configs ---------------------------------------------------------------------------------

/// Where a resource's config requests go: a broker's to that broker, a topic's to the controller.
void config_route(const impl_ptr& impl, const config_resource& r, route_done done) {
    if (r.type == resource_type::topic) return impl->controller({r.name}, std::move(done));
    std::int32_t node = -1;
    const auto [end, ec] = std::from_chars(r.name.data(), r.name.data() + r.name.size(), node);
    if (r.name.empty() || ec != std::errc{} || end != r.name.data() + r.name.size()) {
        // The cluster-wide default ("") goes to any broker.
        if (!r.name.empty()) return done(make_error_code(errc::invalid_argument), nullptr);
        return impl->metadata({}, [impl, done = std::move(done)](std::error_code e, const kp::MetadataResponse&, std::int16_t) {
            if (e) return done(e, nullptr);
            auto c = impl->cluster->any_broker();
            done(c ? std::error_code{} : make_error_code(client_errc::no_brokers), c);
        });
    }
    impl->metadata({}, [impl, node, done = std::move(done)](std::error_code e, const kp::MetadataResponse&, std::int16_t) {
        if (e) return done(e, nullptr);
        auto c = impl->cluster->broker(node);
        done(c ? std::error_code{} : make_error_code(kafka_errc::broker_not_available), c);
    });
}

/// A config call: one request per resource, each to its own route.
template <class Derived, class Sig, class Result>
class config_call : public items_call<Derived, Sig, config_resource, Result> {
public:
    using items_call<Derived, Sig, config_resource, Result>::items_call;
    void run() {
        const auto pending = this->pending_list();
        outstanding_ = pending.size();
        for (const auto& r : pending) {
            config_route(this->impl, r, [s = this->shared_from_this(), r](std::error_code ec, conn_ptr conn) {
                if (s->finished()) return;
                if (ec) return s->fail(r, ec), s->one_done();
                s->send(r, conn);
            });
        }
    }
    void one_done() {
        if (--outstanding_ == 0) this->next();
    }

private:
    std::size_t outstanding_ = 0;
};

class describe_configs_call : public config_call<describe_configs_call, describe_configs_signature, config_description> {
public:
    using config_call::config_call;
    void send(const config_resource& r, conn_ptr conn) {
        kp::DescribeConfigsRequest req;
        auto& res = req.resources.emplace_back();
        res.resource_type = static_cast<std::int8_t>(r.type);
        res.resource_name = r.name;
        res.configuration_keys.reset();  // every config
        conn->request(std::move(req), [s = shared_from_this(), r](std::error_code ec, kp::DescribeConfigsResponse resp,
                                                                  std::int16_t v) {
            if (s->finished()) return;
            if (ec) return s->fail(r, ec), s->one_done();
            for (const auto& res2 : resp.results) {
                auto d = result(r, kafka_error(res2.error_code), res2.error_message.value_or(""));
                for (const auto& c : res2.configs) {
                    config_entry e;
                    e.name = c.name;
                    e.value = c.value;
                    e.read_only = c.read_only;
                    e.sensitive = c.is_sensitive;
                    if (v == 0) {
                        e.is_default = c.is_default;
                        e.source = c.is_default ? config_source::default_config : config_source::unknown;
                    } else {
                        e.source = static_cast<config_source>(c.config_source);
                        e.is_default = e.source == config_source::default_config;
                    }
                    d.entries.push_back(std::move(e));
                }
                std::sort(d.entries.begin(), d.entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
                s->answer(r, std::move(d), res2.error_code);
            }
            s->one_done();
        });
    }
};

class alter_configs_call : public config_call<alter_configs_call, alter_configs_signature, resource_result> {
public:
    alter_configs_call(impl_ptr i, handler<alter_configs_signature> h, std::vector<resource_alterations> changes,
                       bool validate_only)
        : config_call(std::move(i), std::move(h), keys_of(changes, [](const resource_alterations& c) { return c.resource; })), validate_only_(validate_only) {
        for (auto& c : changes) changes_.emplace(c.resource, std::move(c.alterations));
    }
    void send(const config_resource& r, conn_ptr conn) {
        kp::IncrementalAlterConfigsRequest req;
        auto& res = req.resources.emplace_back();
        res.resource_type = static_cast<std::int8_t>(r.type);
        res.resource_name = r.name;
        for (const auto& a : changes_.at(r))
            res.configs.push_back({a.name, static_cast<std::int8_t>(a.op),
                                   a.op == alter_op::remove ? std::nullopt : a.value, {}});
        req.validate_only = validate_only_;
        conn->request(std::move(req), [s = shared_from_this(), r](std::error_code ec,
                                                                  kp::IncrementalAlterConfigsResponse resp, std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->fail(r, ec), s->one_done();
            for (const auto& res2 : resp.responses)
                s->answer(r, result(r, kafka_error(res2.error_code), res2.error_message.value_or("")), res2.error_code);
            s->one_done();
        });
    }

private:
    bool validate_only_;
    std::map<config_resource, std::vector<config_alteration>> changes_;
};

// --- offsets: list offsets, delete records (partition leaders) -------------------------------

/// A call over partitions: fresh metadata, one request per leader, per-partition answers.
template <class Derived, class Sig, class Result>
class leader_call : public items_call<Derived, Sig, topic_partition, Result> {
public:
    using items_call<Derived, Sig, topic_partition, Result>::items_call;
    void run() {
        const auto pending = this->pending_list();
        this->impl->metadata(topics_of(pending), [s = this->shared_from_this(), pending](
                                                     std::error_code ec, const kp::MetadataResponse& md, std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->fail_all(ec), s->next();
            auto routes = route_by_leader(pending, [&](const topic_partition& tp) { return leader_in(md, tp); });
            for (const auto& [tp, code] : routes.unroutable) s->answer(tp, s->result(tp, kafka_error(code)), code);
            s->outstanding_ = routes.by_leader.size();
            if (s->outstanding_ == 0) return s->next();
            for (auto& [leader, tps] : routes.by_leader) {
                auto conn = s->impl->cluster->broker(leader);
                if (!conn) {
                    for (const auto& tp : tps) s->fail(tp, make_error_code(client_errc::no_brokers));
                    s->one_done();
                    continue;
                }
                s->send(std::move(tps), conn);
            }
        });
    }
    void one_done() {
        if (--outstanding_ == 0) this->next();
    }
    void fail_each(const std::vector<topic_partition>& tps, std::error_code ec) {
        for (const auto& tp : tps) this->fail(tp, ec);
    }

private:
    std::size_t outstanding_ = 0;
};

/// Requests grouped by topic: Topics[{Name, ...}]; `fill(topic, tp)` adds the partition.
template <class TopicList, class Fill>
void by_topic(TopicList& topics, const std::vector<topic_partition>& tps, Fill fill) {
    for (const auto& tp : tps) {
        auto it = std::find_if(topics.begin(), topics.end(), [&](const auto& t) { return t.name == tp.topic; });
        if (it == topics.end()) {
            topics.emplace_back().name = tp.topic;
            it = std::prev(topics.end());
        }
        fill(*it, tp);
    }
}

class list_offsets_call : public leader_call<list_offsets_call, list_offsets_signature, listed_offset> {
public:
    list_offsets_call(impl_ptr i, handler<list_offsets_signature> h, std::vector<offset_query> queries)
        : leader_call(std::move(i), std::move(h), keys_of(queries, [](const offset_query& q) { return q.tp; })) {
        for (const auto& q : queries) specs_[q.tp] = q.spec;
    }
    void send(std::vector<topic_partition> tps, conn_ptr conn) {
        kp::ListOffsetsRequest req;
        req.replica_id = -1;
        bool max_ts = false;
        by_topic(req.topics, tps, [&](auto& t, const topic_partition& tp) {
            auto& p = t.partitions.emplace_back();
            p.partition_index = tp.partition;
            p.timestamp = specs_.at(tp);
            max_ts = max_ts || p.timestamp == offset_spec::max_timestamp;
        });
        // v1 answers one offset (v0's list is gone); MAX_TIMESTAMP needs v7 (KIP-734).
        conn->request(std::move(req), [s = shared_from_this(), tps](std::error_code ec, kp::ListOffsetsResponse resp,
                                                                    std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->fail_each(tps, ec), s->one_done();
            for (const auto& t : resp.topics)
                for (const auto& p : t.partitions) {
                    topic_partition tp{t.name, p.partition_index};
                    auto r = result(tp, kafka_error(p.error_code));
                    r.offset = p.offset;
                    r.timestamp = p.timestamp;
                    r.leader_epoch = p.leader_epoch;
                    s->answer(tp, std::move(r), p.error_code, true);
                }
            s->one_done();
        }, {.min_version = std::int16_t(max_ts ? 7 : 1)});
    }

private:
    std::map<topic_partition, std::int64_t> specs_;
};

class delete_records_call : public leader_call<delete_records_call, delete_records_signature, deleted_records> {
public:
    delete_records_call(impl_ptr i, handler<delete_records_signature> h, std::vector<delete_records_request> reqs)
        : leader_call(std::move(i), std::move(h), keys_of(reqs, [](const delete_records_request& r) { return r.tp; })) {
        for (const auto& r : reqs) before_[r.tp] = r.before_offset;
    }
    void send(std::vector<topic_partition> tps, conn_ptr conn) {
        kp::DeleteRecordsRequest req;
        by_topic(req.topics, tps, [&](auto& t, const topic_partition& tp) {
            auto& p = t.partitions.emplace_back();
            p.partition_index = tp.partition;
            p.offset = before_.at(tp);
        });
        req.timeout_ms = static_cast<std::int32_t>(impl->cfg.request_timeout.count());
        conn->request(std::move(req), [s = shared_from_this(), tps](std::error_code ec, kp::DeleteRecordsResponse resp,
                                                                    std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->fail_each(tps, ec), s->one_done();
            for (const auto& t : resp.topics)
                for (const auto& p : t.partitions) {
                    topic_partition tp{t.name, p.partition_index};
                    auto r = result(tp, kafka_error(p.error_code));
                    r.low_watermark = p.low_watermark;
                    s->answer(tp, std::move(r), p.error_code, true);
                }
            s->one_done();
        });
    }

private:
    std::map<topic_partition, std::int64_t> before_;
};

// --- groups (coordinators) -------------------------------------------------------------------

/// A call over groups: one request per group, to its coordinator.
template <class Derived, class Sig, class Result>
class group_call : public items_call<Derived, Sig, std::string, Result> {
public:
    using items_call<Derived, Sig, std::string, Result>::items_call;
    void run() {
        const auto pending = this->pending_list();
        outstanding_ = pending.size();
        for (const auto& g : pending) {
            this->impl->coordinator(g, [s = this->shared_from_this(), g](std::error_code ec, conn_ptr conn) {
                if (s->finished()) return;
                if (ec) return s->fail(g, ec), s->one_done();
                s->send(g, conn);
            });
        }
    }
    void one_done() {
        if (--outstanding_ == 0) this->next();
    }
    /// A group's answer: a coordinator error forgets the cached coordinator.
    void group_answer(const std::string& g, Result r, std::int16_t code) {
        if (classify(code) == next_step::find_coordinator) this->impl->forget_coordinator(g);
        this->answer(g, std::move(r), code);
    }
    void group_fail(const std::string& g, std::error_code ec) {
        this->impl->forget_coordinator(g);  // the connection failed: ask again next time
        this->fail(g, ec);
    }

private:
    std::size_t outstanding_ = 0;
};

class describe_groups_call : public group_call<describe_groups_call, describe_groups_signature, group_description> {
public:
    using group_call::group_call;
    void send(const std::string& g, conn_ptr conn) {
        kp::DescribeGroupsRequest req;
        req.groups = {g};
        const auto node = conn->node_id();
        conn->request(std::move(req), [s = shared_from_this(), g, node](std::error_code ec,
                                                                        kp::DescribeGroupsResponse resp, std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->group_fail(g, ec), s->one_done();
            for (const auto& dg : resp.groups) {
                if (dg.group_id != g) continue;
                auto d = result(g, kafka_error(dg.error_code));
                d.state = dg.group_state;
                d.protocol_type = dg.protocol_type;
                d.protocol = dg.protocol_data;
                d.coordinator = node;
                for (const auto& m : dg.members) {
                    auto& md = d.members.emplace_back();
                    md.member_id = m.member_id;
                    md.group_instance_id = m.group_instance_id;
                    md.client_id = m.client_id;
                    md.client_host = m.client_host;
                    if (dg.protocol_type == "consumer" || dg.protocol_type.empty())
                        md.assignment_error = decode_consumer_assignment(
                            std::span<const std::uint8_t>(m.member_assignment.data(), m.member_assignment.size()),
                            md.assignment);
                }
                s->group_answer(g, std::move(d), dg.error_code);
            }
            s->one_done();
        });
    }
};

class delete_groups_call : public group_call<delete_groups_call, groups_signature, group_result> {
public:
    using group_call::group_call;
    void send(const std::string& g, conn_ptr conn) {
        kp::DeleteGroupsRequest req;
        req.groups_names = {g};
        conn->request(std::move(req), [s = shared_from_this(), g](std::error_code ec, kp::DeleteGroupsResponse resp,
                                                                  std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->group_fail(g, ec), s->one_done();
            for (const auto& r : resp.results)
                if (r.group_id == g) s->group_answer(g, result(g, kafka_error(r.error_code)), r.error_code);
            s->one_done();
        });
    }
};

class list_group_offsets_call : public admin_call<list_group_offsets_call, group_offsets_signature> {
public:
    list_group_offsets_call(impl_ptr i, handler<group_offsets_signature> h, std::string group)
        : admin_call(std::move(i), std::move(h)), group_(std::move(group)) {}
    void run() {
        if (!explicit_) return fetch();
        // Every partition of every topic, named: for brokers that cannot answer "all topics".
        impl->metadata({}, [s = shared_from_this()](std::error_code ec, const kp::MetadataResponse& md, std::int16_t) {
            if (s->finished()) return;
            if (ec) return s->failed(ec);
            s->partitions_.clear();
            for (const auto& t : md.topics)
                for (const auto& p : t.partitions) s->partitions_.push_back({t.name.value_or(""), p.partition_index});
            s->fetch();
        });
    }
    void fetch() {
        impl->coordinator(group_, [s = shared_from_this()](std::error_code ec, conn_ptr conn) {
            if (s->finished()) return;
            if (ec) return s->failed(ec);
            kp::OffsetFetchRequest req;  // both layouts; the version picks one
            req.group_id = s->group_;
            auto& g = req.groups.emplace_back();
            g.group_id = s->group_;
            if (s->explicit_) {
                req.topics.emplace();
                g.topics.emplace();
                const auto add = [](auto& t, const topic_partition& tp) { t.partition_indexes.push_back(tp.partition); };
                by_topic(*req.topics, s->partitions_, add);
                by_topic(*g.topics, s->partitions_, add);
            } else {
                req.topics.reset();  // every topic the group committed to (v2+)
                g.topics.reset();
            }
            conn->request(std::move(req), [s](std::error_code ec2, kp::OffsetFetchResponse resp, std::int16_t v) {
                if (s->finished()) return;
                if (ec2 == errc::negative_length && !s->explicit_) {
                    // The C client's mock cluster answers a null topic list with a count of -1: ask again,
                    // naming every partition.
                    s->explicit_ = true;
                    return s->run();
                }
                if (ec2) return s->impl->forget_coordinator(s->group_), s->failed(ec2);
                std::vector<committed_offset> out;
                std::int16_t error = resp.error_code;
                auto add = [&](const std::string& topic, const auto& p) {
                    // Named partitions without a commit come back with offset -1: not committed.
                    if (s->explicit_ && p.committed_offset < 0 && p.error_code == 0) return;
                    auto& c = out.emplace_back();
                    c.tp = {topic, p.partition_index};
                    c.error = kafka_error(p.error_code);
                    c.offset = p.committed_offset;
                    c.leader_epoch = p.committed_leader_epoch;
                    c.metadata = p.metadata;
                };
                if (v >= 8) {
                    for (const auto& g2 : resp.groups) {
                        if (g2.group_id != s->group_) continue;
                        error = g2.error_code;
                        for (const auto& t : g2.topics)
                            for (const auto& p : t.partitions) add(t.name, p);
                    }
                } else {
                    for (const auto& t : resp.topics)
                        for (const auto& p : t.partitions) add(t.name, p);
                }
                if (error != 0) return s->failed(kafka_error(error));
                std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.tp < b.tp; });
                s->finish(std::error_code{}, std::move(out));
            }, {.min_version = 2});
        });
    }
    void failed(std::error_code ec) {
        last_error_ = ec;
        const auto step = classify(ec);
        if (step == next_step::find_coordinator) impl->forget_coordinator(group_);
        if (step == next_step::done) return finish(ec, std::vector<committed_offset>{});
        retry();
    }
    void timed_out() {
        finish(last_error_ ? last_error_ : make_error_code(client_errc::request_timed_out), std::vector<committed_offset>{});
    }

private:
    std::string group_;
    bool explicit_ = false;
    std::vector<topic_partition> partitions_;
    std::error_code last_error_;
};

class alter_group_offsets_call
    : public items_call<alter_group_offsets_call, alter_offsets_signature, topic_partition, partition_result> {
public:
    alter_group_offsets_call(impl_ptr i, handler<alter_offsets_signature> h, std::string group,
                             std::vector<std::pair<topic_partition, std::int64_t>> offsets)
        : items_call(std::move(i), std::move(h), keys_of(offsets, [](const auto& o) { return o.first; })),
          group_(std::move(group)) {
        for (const auto& [tp, o] : offsets) offsets_[tp] = o;
    }
    void run() {
        impl->coordinator(group_, [s = shared_from_this()](std::error_code ec, conn_ptr conn) {
            if (s->finished()) return;
            if (ec) return s->fail_all(ec), s->next();
            kp::OffsetCommitRequest req;
            req.group_id = s->group_;
            req.generation_id_or_member_epoch = -1;  // no generation, no member: an admin commit
            req.member_id = "";
            req.retention_time_ms = -1;
            by_topic(req.topics, s->pending_list(), [&](auto& t, const topic_partition& tp) {
                auto& p = t.partitions.emplace_back();
                p.partition_index = tp.partition;
                p.committed_offset = s->offsets_.at(tp);
                p.committed_metadata = std::string();
            });
            conn->request(std::move(req), [s](std::error_code ec2, kp::OffsetCommitResponse resp, std::int16_t) {
                if (s->finished()) return;
                if (ec2) return s->impl->forget_coordinator(s->group_), s->fail_all(ec2), s->next();
                for (const auto& t : resp.topics)
                    for (const auto& p : t.partitions) {
                        if (classify(p.error_code) == next_step::find_coordinator) s->impl->forget_coordinator(s->group_);
                        topic_partition tp{t.name, p.partition_index};
                        s->answer(tp, result(tp, kafka_error(p.error_code)), p.error_code);
                    }
                s->next();
            }, {.min_version = 2});
        });
    }

private:
    std::string group_;
    std::map<topic_partition, std::int64_t> offsets_;
};

/// A call asked of every broker: fresh metadata, then Derived::ask(index, conn) per broker, each
/// ending with broker_done(); Derived::done() when all have answered (or at the deadline).
template <class Derived, class Sig>
class per_broker_call : public admin_call<Derived, Sig> {
public:
    using admin_call<Derived, Sig>::admin_call;
    void run() {
        this->impl->metadata({}, [s = this->shared_from_this()](std::error_code ec, const kp::MetadataResponse& md,
                                                                std::int16_t) {
            if (s->finished()) return;
            if (ec) {
                s->last_error_ = ec;
                return classify(ec) == next_step::done ? s->timed_out() : s->retry();
            }
            s->brokers_.clear();
            for (const auto& b : md.brokers) s->brokers_.push_back({b.node_id, b.host, b.port, b.rack});
            s->outstanding_ = s->brokers_.size();
            if (s->outstanding_ == 0) return s->timed_out();
            for (std::size_t i = 0; i < s->brokers_.size(); ++i) {
                auto conn = s->impl->cluster->broker(s->brokers_[i].node_id);
                if (!conn) {
                    s->broker_done(i, make_error_code(client_errc::no_brokers));
                    continue;
                }
                s->ask(i, std::move(conn));
            }
        });
    }
    void broker_done(std::size_t index, std::error_code ec) {
        static_cast<Derived*>(this)->answered(index, ec);
        if (--outstanding_ == 0) this->timed_out();
    }
    /// The deadline passed, or every broker answered.
    void timed_out() {
        std::error_code ec;
        if (outstanding_ != 0 || brokers_.empty()) ec = last_error_ ? last_error_ : make_error_code(client_errc::request_timed_out);
        static_cast<Derived*>(this)->done(ec);
    }

protected:
    std::vector<broker_description> brokers_;
    std::size_t outstanding_ = 1;
    std::error_code last_error_;
};

class list_groups_call : public per_broker_call<list_groups_call, list_groups_signature> {
public:
    using per_broker_call::per_broker_call;
    void ask(std::size_t index, conn_ptr conn) {
        conn->request(kp::ListGroupsRequest{}, [s = shared_from_this(), index](std::error_code ec, kp::ListGroupsResponse resp,
                                                                               std::int16_t) {
            if (s->finished()) return;
            if (!ec) ec = kafka_error(resp.error_code);
            for (const auto& g : resp.groups)
                s->groups_.push_back({g.group_id, g.protocol_type, g.group_state, s->brokers_[index].node_id});
            s->broker_done(index, ec);
        });
    }
    void answered(std::size_t, std::error_code ec) {
        if (ec && !first_error_) first_error_ = ec;
    }
    void done(std::error_code ec) {
        std::sort(groups_.begin(), groups_.end(), [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
        finish(first_error_ ? first_error_ : ec, std::move(groups_));
    }

private:
    std::vector<group_listing> groups_;
    std::error_code first_error_;
};

// --- cluster ---------------------------------------------------------------------------------

class describe_cluster_call : public admin_call<describe_cluster_call, describe_cluster_signature> {
public:
    using admin_call::admin_call;
    void run() {
        if (use_metadata_) return from_metadata();
        auto conn = impl->cluster->any_broker();
        if (!conn) return failed(make_error_code(client_errc::no_brokers));
        conn->request(kp::DescribeClusterRequest{}, [s = shared_from_this()](std::error_code ec,
                                                                             kp::DescribeClusterResponse resp, std::int16_t) {
            if (s->finished()) return;
            if (ec == client_errc::unsupported_version) {
                s->use_metadata_ = true;  // before Kafka 2.8
                return s->from_metadata();
            }
            if (!ec) ec = kafka_error(resp.error_code);
            if (ec) return s->failed(ec);
            cluster_description d;
            d.cluster_id = resp.cluster_id;
            d.controller_id = resp.controller_id;
            d.from_describe_cluster = true;
            for (const auto& b : resp.brokers) d.brokers.push_back({b.broker_id, b.host, b.port, b.rack});
            s->done(std::move(d));
        });
    }
    void from_metadata() {
        impl->metadata({}, [s = shared_from_this()](std::error_code ec, const kp::MetadataResponse& md, std::int16_t v) {
            if (s->finished()) return;
            if (ec) return s->failed(ec);
            cluster_description d;
            if (v >= 2) d.cluster_id = md.cluster_id;
            d.controller_id = v >= 1 ? md.controller_id : -1;
            for (const auto& b : md.brokers) d.brokers.push_back({b.node_id, b.host, b.port, b.rack});
            s->done(std::move(d));
        });
    }
    void done(cluster_description d) {
        std::sort(d.brokers.begin(), d.brokers.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
        finish(std::error_code{}, std::move(d));
    }
    void failed(std::error_code ec) {
        last_error_ = ec;
        if (classify(ec) == next_step::done) return finish(ec, cluster_description{});
        retry();
    }
    void timed_out() { finish(last_error_ ? last_error_ : make_error_code(client_errc::request_timed_out), cluster_description{}); }

private:
    bool use_metadata_ = false;
    std::error_code last_error_;
};

class api_versions_call : public per_broker_call<api_versions_call, api_versions_signature> {
public:
    using per_broker_call::per_broker_call;
    void ask(std::size_t index, conn_ptr conn) {
        prepare();
        kp::ApiVersionsRequest req;
        req.client_software_name = "kwire";
        req.client_software_version = "0.1.0";
        conn->request(std::move(req), [s = shared_from_this(), index](std::error_code ec, kp::ApiVersionsResponse resp,
                                                                      std::int16_t) {
            if (s->finished()) return;
            if (!ec) ec = kafka_error(resp.error_code);
            auto& apis = s->out_[index].apis;
            for (const auto& k : resp.api_keys) apis.push_back({k.api_key, k.min_version, k.max_version});
            std::sort(apis.begin(), apis.end(), [](const auto& a, const auto& b) { return a.api_key < b.api_key; });
            s->broker_done(index, ec);
        });
    }
    void answered(std::size_t index, std::error_code ec) {
        prepare();
        out_[index].error = client::detail::api_error(ec);
    }
    /// One entry per broker, "timed out" until it answers.
    void prepare() {
        if (!out_.empty()) return;
        for (const auto& b : brokers_) {
            auto& v = out_.emplace_back();
            v.node_id = b.node_id;
            v.address = b.host + ":" + std::to_string(b.port);
            v.error = make_error_code(client_errc::request_timed_out);
        }
    }
    void done(std::error_code ec) {
        std::sort(out_.begin(), out_.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
        finish(out_.empty() ? ec : std::error_code{}, std::move(out_));
    }

private:
    std::vector<broker_api_versions> out_;
};

template <class Call, class... Args> void launch(impl_ptr impl, Args&&... args) {
    std::make_shared<Call>(std::move(impl), std::forward<Args>(args)...)->start();
}

}  // namespace

void start_create_topics(impl_ptr i, std::vector<new_topic> t, create_topics_options o, handler<topics_signature> h) {
    launch<create_topics_call>(std::move(i), std::move(h), std::move(t), o);
}
void start_delete_topics(impl_ptr i, std::vector<std::string> t, handler<topics_signature> h) {
    launch<delete_topics_call>(std::move(i), std::move(h), t);
}
void start_list_topics(impl_ptr i, bool internal, handler<list_topics_signature> h) {
    launch<list_topics_call>(std::move(i), std::move(h), internal);
}
void start_describe_topics(impl_ptr i, std::vector<std::string> t, handler<describe_topics_signature> h) {
    launch<describe_topics_call>(std::move(i), std::move(h), std::move(t));
}
void start_create_partitions(impl_ptr i, std::vector<new_partitions> t, bool validate_only, handler<topics_signature> h) {
    launch<create_partitions_call>(std::move(i), std::move(h), std::move(t), validate_only);
}
void start_describe_configs(impl_ptr i, std::vector<config_resource> r, handler<describe_configs_signature> h) {
    launch<describe_configs_call>(std::move(i), std::move(h), r);
}
void start_alter_configs(impl_ptr i, std::vector<resource_alterations> c, bool validate_only,
                         handler<alter_configs_signature> h) {
    launch<alter_configs_call>(std::move(i), std::move(h), std::move(c), validate_only);
}
void start_list_offsets(impl_ptr i, std::vector<offset_query> q, handler<list_offsets_signature> h) {
    launch<list_offsets_call>(std::move(i), std::move(h), std::move(q));
}
void start_delete_records(impl_ptr i, std::vector<delete_records_request> r, handler<delete_records_signature> h) {
    launch<delete_records_call>(std::move(i), std::move(h), std::move(r));
}
void start_list_groups(impl_ptr i, handler<list_groups_signature> h) { launch<list_groups_call>(std::move(i), std::move(h)); }
void start_describe_groups(impl_ptr i, std::vector<std::string> g, handler<describe_groups_signature> h) {
    launch<describe_groups_call>(std::move(i), std::move(h), g);
}
void start_delete_groups(impl_ptr i, std::vector<std::string> g, handler<groups_signature> h) {
    launch<delete_groups_call>(std::move(i), std::move(h), g);
}
void start_list_group_offsets(impl_ptr i, std::string g, handler<group_offsets_signature> h) {
    launch<list_group_offsets_call>(std::move(i), std::move(h), std::move(g));
}
void start_alter_group_offsets(impl_ptr i, std::string g, std::vector<std::pair<topic_partition, std::int64_t>> o,
                               handler<alter_offsets_signature> h) {
    launch<alter_group_offsets_call>(std::move(i), std::move(h), std::move(g), std::move(o));
}
void start_describe_cluster(impl_ptr i, handler<describe_cluster_signature> h) {
    launch<describe_cluster_call>(std::move(i), std::move(h));
}
void start_api_versions(impl_ptr i, handler<api_versions_signature> h) { launch<api_versions_call>(std::move(i), std::move(h)); }

void start_group_lag(impl_ptr impl, std::string group, handler<group_lag_signature> h) {
    // Committed offsets, then the high watermarks of those partitions: two calls, one result.
    client::detail::completion done(impl->ex, std::move(h), client::detail::stop_waiting);
    start_list_group_offsets(
        impl, group,
        [impl, done](std::error_code ec, std::vector<committed_offset> committed) mutable {
            if (!done.pending()) return;  // cancelled
            if (ec) return done(ec, std::vector<partition_lag>{});
            std::vector<offset_query> queries;
            for (const auto& c : committed) queries.push_back({c.tp, offset_spec::latest});
            if (queries.empty())
                return done(std::error_code{}, std::vector<partition_lag>{});
            start_list_offsets(impl, std::move(queries),
                               [done, committed = std::move(committed)](std::error_code ec2,
                                                                            std::vector<listed_offset> ends) mutable {
                                   std::vector<partition_lag> out;
                                   for (std::size_t i = 0; i < committed.size(); ++i) {
                                       auto& l = out.emplace_back();
                                       l.tp = committed[i].tp;
                                       l.committed = committed[i].offset;
                                       l.error = committed[i].error;
                                       if (i < ends.size()) {
                                           l.end_offset = ends[i].offset;
                                           if (!l.error) l.error = ends[i].error;
                                       } else if (!l.error) {
                                           l.error = client::detail::api_error(ec2);
                                       }
                                       if (!l.error && l.committed >= 0 && l.end_offset >= 0)
                                           l.lag = std::max<std::int64_t>(0, l.end_offset - l.committed);
                                   }
                                   done(ends.empty() ? ec2 : std::error_code{}, std::move(out));
                               });
        });
}

}  // namespace detail

// --- admin_client ----------------------------------------------------------------------------

admin_client::admin_client(boost::asio::any_io_executor ex, admin_config cfg) {
    if (std::string what; auto ec = validate(cfg, &what)) throw std::system_error(ec, what);
    impl_ = std::make_shared<detail::admin_impl>(ex, std::move(cfg));
}

admin_client::~admin_client() { close(); }

void admin_client::close() {
    if (impl_) impl_->close();
}

}  // namespace kwire::admin
