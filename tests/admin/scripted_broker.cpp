#include "scripted_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "kwire/protocol/messages.hpp"

namespace kwire::test {

namespace {

bool read_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const auto r = ::recv(fd, p, n, 0);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const auto r = ::send(fd, p, n, MSG_NOSIGNAL);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

/// Every API kwire has a codec for, with its version range.
template <class... Req> std::vector<kp::ApiVersionsResponse::ApiVersion> ranges_of() {
    return {kp::ApiVersionsResponse::ApiVersion{Req::api_key, Req::min_version, Req::max_version, {}}...};
}

}  // namespace

scripted_cluster::scripted_cluster(int brokers) {
    for (int i = 0; i < brokers; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0)
            throw std::runtime_error("scripted_cluster: cannot listen");
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        listeners_.push_back(fd);
        ports_.push_back(ntohs(addr.sin_port));
    }
    for (int i = 0; i < brokers; ++i) threads_.emplace_back([this, i] { accept_loop(i); });
}

scripted_cluster::~scripted_cluster() {
    stopping_ = true;
    {
        std::lock_guard lock(mutex_);
        for (const int fd : listeners_) ::shutdown(fd, SHUT_RDWR);
        for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    }
    // Connection threads are started by accept threads: join until no thread is left.
    for (;;) {
        std::vector<std::thread> threads;
        {
            std::lock_guard lock(mutex_);
            threads.swap(threads_);
            for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
        }
        if (threads.empty()) break;
        for (auto& t : threads) t.join();
    }
    for (const int fd : listeners_) ::close(fd);
    for (const int fd : connections_) ::close(fd);
}

std::string scripted_cluster::bootstrap() const {
    std::string out;
    for (const auto port : ports_) out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
    return out;
}

std::vector<std::string> scripted_cluster::addresses() const {
    std::vector<std::string> out;
    for (const auto port : ports_) out.push_back("127.0.0.1:" + std::to_string(port));
    return out;
}

scripted_cluster::script scripted_cluster::coordinator_is(int node, std::vector<std::int16_t> errors) const {
    auto remaining = std::make_shared<std::vector<std::int16_t>>(std::move(errors));
    const std::int32_t port = ports_.at(static_cast<std::size_t>(node - 1));
    return [node, port, remaining](const scripted_request& r) {
        std::int16_t error = 0;
        if (!remaining->empty()) {
            error = remaining->front();
            remaining->erase(remaining->begin());
        }
        kp::FindCoordinatorResponse resp;
        resp.error_code = error;
        resp.node_id = node;
        resp.host = "127.0.0.1";
        resp.port = port;
        for (const auto& k : r.decode<kp::FindCoordinatorRequest>().coordinator_keys)
            resp.coordinators.push_back({k, node, "127.0.0.1", port, error, {}, {}});
        return respond(r, resp);
    };
}

void scripted_cluster::set_leader(const std::string& topic, int partition, int node) {
    std::lock_guard lock(mutex_);
    leaders_[{topic, partition}] = node;
}

int scripted_cluster::leader_of(const std::string& topic, int partition) const {
    std::lock_guard lock(mutex_);
    const auto it = leaders_.find({topic, partition});
    return it != leaders_.end() ? it->second : partition % static_cast<int>(ports_.size()) + 1;
}

void scripted_cluster::on(std::int16_t api_key, script s) {
    std::lock_guard lock(mutex_);
    scripts_[api_key] = std::move(s);
}

void scripted_cluster::without_api(std::int16_t api_key) {
    std::lock_guard lock(mutex_);
    hidden_.push_back(api_key);
}

kp::uuid scripted_cluster::topic_id_of(const std::string& name) {
    kp::uuid id;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a, twice with different seeds
    for (const char c : name) h = (h ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
    std::uint64_t h2 = h ^ 0x9e3779b97f4a7c15ull;
    for (const char c : name) h2 = (h2 ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
    for (int i = 0; i < 8; ++i) {
        id.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h >> (8 * i));
        id.bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(h2 >> (8 * i));
    }
    return id;
}

void scripted_cluster::with_api(std::int16_t api_key, std::int16_t min_version, std::int16_t max_version) {
    std::lock_guard lock(mutex_);
    extra_apis_[api_key] = {min_version, max_version};
}

void scripted_cluster::with_feature(const std::string& name, std::int16_t level) {
    std::lock_guard lock(mutex_);
    features_[name] = level;
}

std::vector<scripted_request> scripted_cluster::requests() const {
    std::lock_guard lock(mutex_);
    return log_;
}

std::vector<scripted_request> scripted_cluster::requests(std::int16_t api_key) const {
    std::vector<scripted_request> out;
    for (auto& r : requests())
        if (r.api_key == api_key) out.push_back(r);
    return out;
}

void scripted_cluster::accept_loop(int index) {
    for (;;) {
        const int fd = ::accept(listeners_[static_cast<std::size_t>(index)], nullptr, nullptr);
        if (fd < 0 || stopping_) {
            if (fd >= 0) ::close(fd);
            return;
        }
        std::lock_guard lock(mutex_);
        connections_.push_back(fd);
        threads_.emplace_back([this, index, fd] { serve(index + 1, fd); });
    }
}

void scripted_cluster::serve(int node, int fd) {
    // However serving ends (the peer hung up, a script returned nullopt, a write failed), hang up
    // at once, so the peer sees the close now and not at its request timeout -- unless the
    // destructor is shutting every connection down, and closes them itself.
    struct hang_up {
        scripted_cluster& cluster;
        int fd;
        ~hang_up() {
            std::lock_guard lock(cluster.mutex_);
            if (cluster.stopping_) return;
            std::erase(cluster.connections_, fd);
            ::close(fd);
        }
    } hang_up_at_end{*this, fd};
    for (;;) {
        std::uint8_t size_bytes[4];
        if (!read_all(fd, size_bytes, 4)) return;
        const auto size = (std::uint32_t{size_bytes[0]} << 24) | (std::uint32_t{size_bytes[1]} << 16) |
                          (std::uint32_t{size_bytes[2]} << 8) | std::uint32_t{size_bytes[3]};
        if (size < 8 || size > (64u << 20)) return;
        scripted_request req;
        req.node = node;
        req.frame.resize(size);
        if (!read_all(fd, req.frame.data(), size)) return;
        const auto& f = req.frame;
        req.api_key = static_cast<std::int16_t>((f[0] << 8) | f[1]);
        req.version = static_cast<std::int16_t>((f[2] << 8) | f[3]);
        req.correlation_id = static_cast<std::int32_t>((std::uint32_t{f[4]} << 24) | (std::uint32_t{f[5]} << 16) |
                                                       (std::uint32_t{f[6]} << 8) | std::uint32_t{f[7]});
        {
            std::lock_guard lock(mutex_);
            log_.push_back(req);
        }
        const auto resp = answer(req);
        if (!resp || !write_all(fd, resp->data(), resp->size())) return;
    }
}

std::optional<std::vector<std::uint8_t>> scripted_cluster::answer(const scripted_request& req) {
    script s;
    std::vector<std::int16_t> hidden;
    std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> extra;
    std::map<std::string, std::int16_t> features;
    {
        std::lock_guard lock(mutex_);
        if (auto it = scripts_.find(req.api_key); it != scripts_.end()) s = it->second;
        hidden = hidden_;
        extra = extra_apis_;
        features = features_;
    }
    if (s) return s(req);
    if (req.api_key == kp::ApiVersionsRequest::api_key) {
        kp::ApiVersionsResponse resp;
        for (const auto& v :
             ranges_of<kp::ProduceRequest, kp::FetchRequest, kp::ListOffsetsRequest, kp::MetadataRequest,
                       kp::OffsetCommitRequest, kp::OffsetFetchRequest, kp::FindCoordinatorRequest,
                       kp::DescribeGroupsRequest, kp::ListGroupsRequest, kp::ApiVersionsRequest, kp::CreateTopicsRequest,
                       kp::DeleteTopicsRequest, kp::DeleteRecordsRequest, kp::InitProducerIdRequest,
                       kp::DescribeConfigsRequest, kp::CreatePartitionsRequest, kp::DeleteGroupsRequest,
                       kp::IncrementalAlterConfigsRequest, kp::DescribeClusterRequest>())
            if (std::find(hidden.begin(), hidden.end(), v.api_key) == hidden.end() && !extra.count(v.api_key))
                resp.api_keys.push_back(v);
        for (const auto& [key, range] : extra)
            if (std::find(hidden.begin(), hidden.end(), key) == hidden.end())
                resp.api_keys.push_back({key, range.first, range.second, {}});
        for (const auto& [name, level] : features) {
            resp.supported_features.push_back({name, 0, level, {}});
            resp.finalized_features.push_back({name, level, level, {}});
        }
        if (!features.empty()) resp.finalized_features_epoch = 1;
        // An ApiVersions request at a version the broker lacks gets a v0 answer (as Kafka does).
        auto r = req;
        if (r.version > kp::ApiVersionsRequest::max_version) r.version = 0;
        return respond(r, resp);
    }
    if (req.api_key == kp::MetadataRequest::api_key) {
        kp::MetadataResponse resp;
        const int n = static_cast<int>(ports_.size());
        for (int i = 0; i < n; ++i)
            resp.brokers.push_back({i + 1, "127.0.0.1", ports_[static_cast<std::size_t>(i)], std::nullopt, {}});
        resp.cluster_id = "scripted";
        resp.controller_id = controller;
        const auto asked = req.decode<kp::MetadataRequest>();
        std::map<std::string, int> topics_copy;
        bool with_ids = false;
        {
            std::lock_guard lock(mutex_);
            topics_copy = topics;
            with_ids = topic_ids;
        }
        const auto add = [&](const std::string& name) {
            auto& t = resp.topics.emplace_back();
            t.name = name;
            if (with_ids) t.topic_id = topic_id_of(name);
            const auto it = topics_copy.find(name);
            if (it == topics_copy.end()) {
                t.error_code = 3;
                return;
            }
            for (int p = 0; p < it->second; ++p) {
                auto& part = t.partitions.emplace_back();
                const int leader = leader_of(name, p);
                part.partition_index = p;
                part.leader_id = leader;
                part.replica_nodes = {leader};
                part.isr_nodes = {leader};
            }
        };
        if (!asked.topics || asked.topics->empty()) {
            for (const auto& [name, count] : topics_copy) add(name);
        } else {
            for (const auto& t : *asked.topics) add(t.name.value_or(""));
        }
        return respond(req, resp);
    }
    return std::nullopt;  // not scripted: close the connection
}

}  // namespace kwire::test
