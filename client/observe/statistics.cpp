// The statistics emitter and document (observe/statistics.hpp): the top level, `brokers` and
// `topics` from the cluster and the metrics registry, then the contributors' fields.
#include "observe/statistics.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cmath>

#include "net/cluster.hpp"

namespace kwire::client::detail {

namespace json = boost::json;

namespace {

json::object& child(json::object& parent, std::string_view key) {
    auto& v = parent[key];
    if (!v.is_object()) v = json::object();
    return v.as_object();
}

bool matches(const metric_labels& l, std::string_view client_id, std::optional<std::int32_t> broker,
             std::string_view topic, std::optional<std::int32_t> partition) {
    return l.client_id == client_id && (!broker || l.broker == broker) && (topic.empty() || l.topic == topic) &&
           (!partition || l.partition == partition);
}

/// The C client numbers its handles per type ("<library>#producer-1"). kwire: "kwire#producer-1".
std::string instance_name(std::string_view type) {
    static std::atomic<unsigned> producers{0}, consumers{0}, others{0};
    auto& n = type == "producer" ? producers : type == "consumer" ? consumers : others;
    return "kwire#" + std::string(type) + "-" + std::to_string(n.fetch_add(1, std::memory_order_relaxed) + 1);
}

std::int64_t as_int(std::uint64_t v) { return static_cast<std::int64_t>(v); }

}  // namespace

json::object& statistics_document::topic(std::string_view name) {
    auto& topics = child(root_, "topics");
    auto& t = child(topics, name);
    if (!t.contains("topic")) t["topic"] = name;
    child(t, "partitions");
    return t;
}

json::object& statistics_document::partition(std::string_view topic_name, std::int32_t id) {
    auto& parts = child(topic(topic_name), "partitions");
    auto& p = child(parts, std::to_string(id));
    if (!p.contains("partition")) {
        p["partition"] = id;
        p["leader"] = -1;
    }
    return p;
}

json::object& statistics_document::section(std::string_view name) { return child(root_, name); }

std::optional<std::int64_t> statistics_document::total(std::string_view name, std::optional<std::int32_t> broker,
                                                       std::string_view topic_name,
                                                       std::optional<std::int32_t> partition) const {
    std::optional<std::int64_t> sum;
    for (const auto& s : samples_)
        if (s.type != metric_type::histogram && s.name == name &&
            matches(s.labels, client_id_, broker, topic_name, partition))
            sum = sum.value_or(0) + s.value;
    return sum;
}

json::object window_stats(const metric_histogram::snapshot& now, const std::vector<std::uint64_t>& before_buckets,
                          std::uint64_t before_sum) {
    metric_histogram::snapshot w;
    w.buckets = now.buckets;
    for (std::size_t i = 0; i < w.buckets.size() && i < before_buckets.size(); ++i) w.buckets[i] -= before_buckets[i];
    w.sum = now.sum - before_sum;
    std::size_t first = w.buckets.size(), last = 0;
    for (std::size_t i = 0; i < w.buckets.size(); ++i) {
        if (!w.buckets[i]) continue;
        w.count += w.buckets[i];
        first = std::min(first, i);
        last = i;
    }
    json::object o;
    if (w.count == 0) {
        for (const char* k : {"min", "max", "avg", "sum", "cnt", "stddev", "p50", "p75", "p90", "p95", "p99", "p99_99"})
            o[k] = 0;
        return o;
    }
    w.max = std::min(metric_histogram::bucket_upper(last), now.max);
    const auto lower = [](std::size_t i) { return i == 0 ? 0 : metric_histogram::bucket_upper(i - 1) + 1; };
    const double mean = w.mean();
    double var = 0;
    for (std::size_t i = first; i <= last; ++i) {
        if (!w.buckets[i]) continue;
        const double mid = (static_cast<double>(lower(i)) + static_cast<double>(metric_histogram::bucket_upper(i))) / 2;
        var += static_cast<double>(w.buckets[i]) * (mid - mean) * (mid - mean);
    }
    o["min"] = as_int(std::min(lower(first), w.max));
    o["max"] = as_int(w.max);
    o["avg"] = std::llround(mean);
    o["sum"] = as_int(w.sum);
    o["cnt"] = as_int(w.count);
    o["stddev"] = std::llround(std::sqrt(var / static_cast<double>(w.count)));
    o["p50"] = as_int(w.quantile(0.50));
    o["p75"] = as_int(w.quantile(0.75));
    o["p90"] = as_int(w.quantile(0.90));
    o["p95"] = as_int(w.quantile(0.95));
    o["p99"] = as_int(w.quantile(0.99));
    o["p99_99"] = as_int(w.quantile(0.9999));
    return o;
}

statistics_emitter::statistics_emitter(boost::asio::any_io_executor ex, cluster& owner)
    : owner_(owner), timer_(ex), created_(std::chrono::steady_clock::now()) {}

void statistics_emitter::start(std::string_view type) {
    if (started_ || stopped_) return;
    started_ = true;
    type_ = type;
    name_ = instance_name(type);
    if (!owner_.config().on_statistics) return;  // nobody reads them: no timer
    timer_.expires_after(owner_.config().statistics_interval);
    wait();
}

void statistics_emitter::wait() {
    // The owner weakly: a wait that ends after the cluster is gone does nothing.
    timer_.async_wait([self = owner_.weak_from_this()](boost::system::error_code ec) {
        if (ec) return;
        if (auto c = self.lock())
            if (auto* s = c->statistics()) s->emit();
    });
}

void statistics_emitter::emit() {
    if (stopped_) return;
    const auto json_text = render();
    if (const auto& handler = owner_.config().on_statistics) handler(json_text);
    if (stopped_) return;  // the handler closed the client
    timer_.expires_at(timer_.expiry() + owner_.config().statistics_interval);
    wait();
}

void statistics_emitter::stop() {
    stopped_ = true;
    timer_.cancel();
    contributors_.clear();
}

std::string statistics_emitter::render() {
    const auto now = std::chrono::steady_clock::now();
    const auto& cfg = owner_.config();
    const auto* registry = owner_.observe().metrics();
    const auto samples = registry ? registry->snapshot() : std::vector<metrics_registry::sample>{};

    json::object root;
    root["name"] = name_.empty() ? instance_name(type_.empty() ? "client" : type_) : name_;
    root["client_id"] = cfg.client_id;
    if (!type_.empty()) root["type"] = type_;
    root["ts"] = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    root["time"] = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
    root["age"] = std::chrono::duration_cast<std::chrono::microseconds>(now - created_).count();
    statistics_document doc(root, samples, cfg.client_id);

    // brokers: every connection the cluster holds, bootstrap ones included.
    std::int64_t tx = 0, txbytes = 0, rx = 0, rxbytes = 0;
    auto& brokers = child(root, "brokers");
    for (const auto& c : owner_.connections()) {
        const auto id = c->node_id();
        const bool bootstrap = id < 0;
        const auto key = c->address() + "/" + (bootstrap ? std::string("bootstrap") : std::to_string(id));
        json::object b;
        b["name"] = key;
        b["nodeid"] = bootstrap ? -1 : id;
        b["nodename"] = c->address();
        b["source"] = bootstrap ? "configured" : "learned";
        b["state"] = c->state_name();
        b["outbuf_cnt"] = c->waiting();
        b["waitresp_cnt"] = c->in_flight();
        const auto count = [&](std::string_view metric) { return doc.total(metric, id).value_or(0); };
        b["tx"] = count("request-total");
        b["txbytes"] = count("outgoing-byte-total");
        b["rx"] = count("response-total");
        b["rxbytes"] = count("incoming-byte-total");
        b["connects"] = count("connection-attempt-total");
        b["disconnects"] = count("connection-close-total");
        tx += b["tx"].as_int64();
        txbytes += b["txbytes"].as_int64();
        rx += b["rx"].as_int64();
        rxbytes += b["rxbytes"].as_int64();
        for (const auto& s : samples)
            if (s.type == metric_type::histogram && s.name == "request-latency" &&
                matches(s.labels, cfg.client_id, id, {}, {})) {
                auto& before = rtt_before_[id];
                b["rtt"] = window_stats(s.histogram, before.buckets, before.sum);
                before.buckets = s.histogram.buckets;
                before.sum = s.histogram.sum;
            }
        json::object toppars;
        if (!bootstrap)
            for (const auto& [name, t] : owner_.topics())
                for (const auto& p : t.partitions)
                    if (p.leader == id)
                        toppars[name + "-" + std::to_string(p.id)] = json::object{{"topic", name}, {"partition", p.id}};
        b["toppars"] = std::move(toppars);
        brokers[key] = std::move(b);
    }
    root["tx"] = tx;
    root["txbytes"] = txbytes;
    root["rx"] = rx;
    root["rxbytes"] = rxbytes;
    root["metadata_cache_cnt"] = owner_.topics().size();

    for (const auto& [name, t] : owner_.topics())
        for (const auto& p : t.partitions) doc.partition(name, p.id)["leader"] = p.leader;
    child(root, "topics");

    // A copy: a contributor may end its client, whose close() stops this emitter and drops them.
    const auto contributors = contributors_;
    for (const auto& contribute : contributors)
        if (contribute) contribute(doc);
    return json::serialize(root);
}

}  // namespace kwire::client::detail
