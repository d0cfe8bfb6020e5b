// kwire_cluster: the admin calls run on a private io_context, one at a time, each driven until
// its completion handler has run (the client keeps connections open, so io_context::run would
// not return on its own).
#include "cluster_kwire.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "kwire/admin/admin.hpp"
#include "kwire/client/producer.hpp"

namespace kwire::bench {

struct kwire_cluster::state {
    boost::asio::io_context io;
    std::optional<admin::admin_client> admin;

    /// Starts `call` with a callback and runs the io_context until it has completed.
    template <class Result, class Call>
    Result await(Call&& call) {
        std::optional<Result> result;
        call([&](std::error_code ec, auto value) { result.emplace(ec, std::move(value)); });
        while (!result) io.run_one();
        return std::move(*result);
    }
};

namespace {
template <class T>
T take(std::pair<std::error_code, T> r, const std::string& what) {
    if (r.first) throw std::runtime_error(what + ": " + r.first.message());
    return std::move(r.second);
}
}  // namespace

kwire_cluster::kwire_cluster(const std::string& bootstrap) : st_(std::make_unique<state>()), bootstrap_(bootstrap) {
    admin::admin_config cfg;
    cfg.bootstrap_servers = split_bootstrap(bootstrap);
    cfg.client_id = "kwire-bench-admin";
    st_->admin.emplace(st_->io.get_executor(), cfg);
    auto cluster = take(st_->await<std::pair<std::error_code, admin::cluster_description>>(
                            [&](auto h) { st_->admin->describe_cluster(std::move(h)); }),
                        "describe cluster");
    brokers_ = static_cast<int>(cluster.brokers.size());
}

kwire_cluster::~kwire_cluster() {
    if (st_->admin) st_->admin->close();
}

int kwire_cluster::ensure_topic(const std::string& name, int partitions) {
    const auto replication = static_cast<std::int16_t>(std::min(3, brokers_));
    auto [ec, created] = st_->await<std::pair<std::error_code, std::vector<admin::topic_result>>>([&](auto h) {
        st_->admin->create_topics({{.name = name, .partitions = partitions, .replication_factor = replication}}, {},
                                  std::move(h));
    });
    // Not fatal: the topic may exist already (librdkafka's mock lacks CreateTopics; create the
    // topics there beforehand), or be auto-created on first use.
    if (ec)
        std::fprintf(stderr, "kwire-bench: warning: CreateTopics %s: %s; using the topic as the cluster has it\n",
                     name.c_str(), ec.message().c_str());
    for (const auto& r : created)
        if (!ec && r.error && r.error != kafka_errc::topic_already_exists)
            std::fprintf(stderr, "kwire-bench: warning: CreateTopics %s: %s %s; using the topic as the cluster has it\n",
                         name.c_str(), r.error.message().c_str(), r.message.c_str());
    std::string why = "no metadata";
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto described = st_->await<std::pair<std::error_code, std::vector<admin::topic_description>>>(
            [&](auto h) { st_->admin->describe_topics({name}, std::move(h)); });
        if (described.first) why = described.first.message();
        else if (described.second.size() == 1 && !described.second[0].error && !described.second[0].partitions.empty())
            return static_cast<int>(described.second[0].partitions.size());
        else if (described.second.size() == 1) why = described.second[0].error.message();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("topic " + name + " has no partitions: " + why);
}

namespace {
std::vector<admin::offset_query> queries(const std::string& topic, int partitions, std::int64_t spec) {
    std::vector<admin::offset_query> q;
    for (int p = 0; p < partitions; ++p) q.push_back({.tp = {topic, p}, .spec = spec});
    return q;
}
}  // namespace

std::int64_t kwire_cluster::log_end(const std::string& topic, int partitions) {
    auto listed = take(st_->await<std::pair<std::error_code, std::vector<admin::listed_offset>>>([&](auto h) {
        st_->admin->list_offsets(queries(topic, partitions, admin::offset_spec::latest), std::move(h));
    }),
                       "watermarks of " + topic);
    std::int64_t sum = 0;
    for (const auto& o : listed) {
        if (o.error) throw std::runtime_error("watermarks of " + topic + ": " + o.error.message());
        sum += o.offset;
    }
    return sum;
}

std::int64_t kwire_cluster::log_size(const std::string& topic, int partitions) {
    auto listed = take(st_->await<std::pair<std::error_code, std::vector<admin::listed_offset>>>([&](auto h) {
        st_->admin->list_offsets(queries(topic, partitions, admin::offset_spec::earliest), std::move(h));
    }),
                       "watermarks of " + topic);
    std::int64_t low = 0;
    for (const auto& o : listed) {
        if (o.error) throw std::runtime_error("watermarks of " + topic + ": " + o.error.message());
        low += o.offset;
    }
    return log_end(topic, partitions) - low;
}

void kwire_cluster::fill(const scenario& s, std::size_t count, const std::vector<std::string>& payloads) {
    const auto have = log_size(s.topic, s.partitions);
    if (have >= static_cast<std::int64_t>(count)) return;
    const auto missing = count - static_cast<std::size_t>(have);

    boost::asio::io_context io;
    producer_config cfg;
    cfg.bootstrap_servers = split_bootstrap(bootstrap_);
    cfg.client_id = "kwire-bench-fill";
    cfg.linger = std::chrono::milliseconds(5);
    cfg.batch_size = 1000000;
    cfg.buffer_memory = 1ull << 30;
    cfg.on_buffer_full = client::buffer_full_policy::wait;
    const auto codec = client::parse_compression(s.compression);
    if (!codec) throw std::invalid_argument("unknown compression " + s.compression);
    cfg.compression = *codec;
    producer p(io.get_executor(), cfg);
    std::size_t failed = 0;
    std::string first_error;
    for (std::size_t i = 0; i < missing; ++i) {
        const auto& v = payloads[i % payloads.size()];
        p.send({.topic = s.topic,
                .value = protocol::bytes_view(reinterpret_cast<const std::uint8_t*>(v.data()), v.size()),
                .partition = static_cast<std::int32_t>(i % static_cast<std::size_t>(s.partitions))},
               [&](std::error_code ec, delivery) {
                   if (ec && failed++ == 0) first_error = ec.message();
               });
        if (i % 10000 == 0) io.poll();
    }
    bool closed = false;
    p.close([&](std::error_code) { closed = true; });
    while (!closed) io.run_one();
    if (failed)
        throw std::runtime_error("fill " + s.topic + ": " + std::to_string(failed) + " records failed: " + first_error);
    const auto now = log_size(s.topic, s.partitions);
    if (now < static_cast<std::int64_t>(count))
        throw std::runtime_error("fill " + s.topic + ": the log holds " + std::to_string(now) + " records, not " +
                                 std::to_string(count));
}

}  // namespace kwire::bench
