// instant_broker: sockets, the three setup answers, and the prepared Produce responses.
#include "instant_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"
#include "socket_io.hpp"

namespace kwire::bench {

namespace {

constexpr std::int32_t node_id = 1;
constexpr std::int16_t produce_min = 3, produce_max = 9;  // 3: the first with RecordBatch v2
constexpr std::int64_t offset_marker = 0x0123456789abcdefLL;

std::int16_t be16(const std::uint8_t* p) { return static_cast<std::int16_t>((p[0] << 8) | p[1]); }

void put_be(std::uint8_t* p, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

}  // namespace

instant_broker::instant_broker(std::string topic, bool serve_consumers)
    : topic_(std::move(topic)), log_(serve_consumers ? std::make_unique<instant_log>() : nullptr) {
    // Every Produce response is prepared now, per version, with a marker where the base offset
    // goes: answering is then a copy and two patches.
    for (std::int16_t v = produce_min; v <= produce_max; ++v) {
        protocol::ProduceResponse resp;
        auto& t = resp.responses.emplace_back();
        t.name = topic_;
        auto& p = t.partition_responses.emplace_back();
        p.index = 0;
        p.base_offset = offset_marker;
        p.log_start_offset = 0;
        std::vector<std::uint8_t> frame;
        protocol::encode_response(frame, resp, v, 0);
        std::uint8_t marker[8];
        put_be(marker, static_cast<std::uint64_t>(offset_marker), 8);
        const auto at = std::search(frame.begin(), frame.end(), marker, marker + 8);
        if (at == frame.end()) throw std::logic_error("instant_broker: no base offset in the Produce response");
        offset_at_[v] = static_cast<std::size_t>(at - frame.begin());
        prepared_[v] = std::move(frame);
    }

    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("instant_broker: socket: " + std::string(std::strerror(errno)));
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("instant_broker: listen: " + std::string(std::strerror(errno)));
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

instant_broker::~instant_broker() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    std::vector<std::thread> servers;
    {
        std::lock_guard lock(mu_);
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);  // wakes each server's blocking read
        servers.swap(servers_);
    }
    for (auto& t : servers) t.join();
    for (int fd : fds_) ::close(fd);
}

void instant_broker::accept_loop() {
    while (!stopping_) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;  // closed: the destructor
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::lock_guard lock(mu_);
        fds_.push_back(fd);
        servers_.emplace_back([this, fd] { serve(fd); });
    }
}

void instant_broker::serve(int fd) {
    std::vector<std::uint8_t> frame;
    for (;;) {
        std::uint8_t size[4];
        if (!recv_exact(fd, size, 4)) return;
        const auto n = static_cast<std::uint32_t>((size[0] << 24) | (size[1] << 16) | (size[2] << 8) | size[3]);
        if (n < 8 || n > (64u << 20)) return;
        frame.resize(n);
        if (!recv_exact(fd, frame.data(), n)) return;
        if (!answer(fd, frame)) {
            ::shutdown(fd, SHUT_RDWR);
            return;
        }
    }
}

bool instant_broker::answer(int fd, std::vector<std::uint8_t>& frame) {
    const auto key = be16(frame.data()), version = be16(frame.data() + 2);
    const auto correlation = static_cast<std::int32_t>((frame[4] << 24) | (frame[5] << 16) | (frame[6] << 8) | frame[7]);
    if (key == 0) {  // Produce: the hot path
        auto it = prepared_.find(version);
        if (it == prepared_.end()) return false;
        const auto base = log_ ? append(frame) : next_offset_++;
        if (base < 0) return false;
        auto out = it->second;  // small: ~70 bytes
        put_be(out.data() + 4, static_cast<std::uint32_t>(correlation), 4);
        put_be(out.data() + offset_at_.at(version), static_cast<std::uint64_t>(base), 8);
        last_request_bytes_ = frame.size() + 4;
        last_response_bytes_ = out.size();
        ++produce_requests_;
        return send_all(fd, out.data(), out.size());
    }
    if (key == protocol::FetchRequest::api_key && log_) return answer_fetch(fd, frame, version, correlation);
    std::vector<std::uint8_t> out;
    if (key == protocol::ApiVersionsResponse::api_key) {
        protocol::ApiVersionsResponse resp;
        auto add = [&](std::int16_t k, std::int16_t lo, std::int16_t hi) { resp.api_keys.push_back({k, lo, hi, {}}); };
        add(0, produce_min, produce_max);
        add(3, 1, 12);  // Metadata
        add(18, 0, 3);  // ApiVersions
        add(22, 0, 4);  // InitProducerId
        if (log_) {
            add(1, 4, 12);  // Fetch
            add(10, 0, 3);  // FindCoordinator (answered "not available")
        }
        // A version we do not speak: answer in v0 with UNSUPPORTED_VERSION, as Kafka does.
        const bool known = version >= 0 && version <= 3;
        if (!known) resp.error_code = 35;
        protocol::encode_response(out, resp, known ? version : std::int16_t{0}, correlation);
    } else if (key == protocol::MetadataResponse::api_key) {
        protocol::MetadataResponse resp;
        resp.brokers.push_back({node_id, "127.0.0.1", port_, std::nullopt, {}});
        resp.cluster_id = "kwire-bench-instant";
        resp.controller_id = node_id;
        auto& t = resp.topics.emplace_back();
        t.name = topic_;
        t.topic_id.bytes[15] = 1;
        auto& p = t.partitions.emplace_back();
        p.partition_index = 0;
        p.leader_id = node_id;
        p.leader_epoch = 0;
        p.replica_nodes = {node_id};
        p.isr_nodes = {node_id};
        if (protocol::encode_response(out, resp, version, correlation)) return false;
    } else if (key == protocol::InitProducerIdResponse::api_key) {
        protocol::InitProducerIdResponse resp;
        resp.producer_id = 4242;
        resp.producer_epoch = 0;
        if (protocol::encode_response(out, resp, version, correlation)) return false;
    } else if (key == protocol::FindCoordinatorResponse::api_key && log_) {
        protocol::FindCoordinatorResponse resp;
        resp.error_code = 15;  // COORDINATOR_NOT_AVAILABLE: this broker has no groups
        resp.node_id = -1;
        resp.port = -1;
        if (protocol::encode_response(out, resp, version, correlation)) return false;
    } else {
        std::fprintf(stderr, "kwire-bench: instant broker: API key %d v%d not served; closing the connection\n", key,
                     version);
        return false;
    }
    return send_all(fd, out.data(), out.size());
}

std::int64_t instant_broker::append(const std::vector<std::uint8_t>& frame) {
    protocol::ProduceRequest req;
    if (protocol::decode_request(protocol::bytes_view(frame.data(), frame.size()), req)) return -1;
    std::int64_t base = -1;
    for (const auto& t : req.topic_data)
        for (const auto& p : t.partition_data)
            if (p.records && !p.records->empty()) {
                const auto b = log_->append(p.records->data(), p.records->size());
                if (base < 0) base = b;
            }
    return base;
}

bool instant_broker::answer_fetch(int fd, const std::vector<std::uint8_t>& frame, std::int16_t version,
                                  std::int32_t correlation) {
    protocol::FetchRequest req;
    if (protocol::decode_request(protocol::bytes_view(frame.data(), frame.size()), req)) return false;
    protocol::FetchResponse resp;
    resp.session_id = 0;  // no session: the client sends full Fetches
    std::vector<std::vector<std::uint8_t>> records;  // owned here, viewed by resp
    records.reserve(req.topics.size());
    bool waited = false;
    for (const auto& t : req.topics) {
        auto& rt = resp.responses.emplace_back();
        rt.topic = t.topic;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition;
            if (t.topic != topic_ || p.partition != 0) {
                rp.error_code = 3;  // UNKNOWN_TOPIC_OR_PARTITION
                continue;
            }
            std::int64_t end = 0;
            // Only the first partition waits: there is one.
            const auto wait = waited ? std::chrono::milliseconds(0) : std::chrono::milliseconds(req.max_wait_ms);
            waited = true;
            records.push_back(log_->read(p.fetch_offset, static_cast<std::size_t>(std::max(p.partition_max_bytes, 1)),
                                         wait, end));
            rp.high_watermark = end;
            rp.last_stable_offset = end;
            rp.log_start_offset = 0;
            rp.records = protocol::bytes_view(records.back().data(), records.back().size());
        }
    }
    std::vector<std::uint8_t> out;
    if (protocol::encode_response(out, resp, version, correlation)) return false;
    return send_all(fd, out.data(), out.size());
}

}  // namespace kwire::bench
