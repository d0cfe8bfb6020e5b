// Rewrites the broker addresses in Metadata and FindCoordinator answers (see the header).
#include "support_address_rewrite.hpp"

#include <cstdio>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/metadata.hpp"

namespace kwire::test {

namespace {

template <class Host, class Port> void map_address(Host& host, Port& port, const address_map& map) {
    for (const auto& [upstream, proxy] : map.ports)
        if (port == static_cast<Port>(upstream)) {
            host = map.proxy_host;
            port = static_cast<Port>(proxy);
            return;
        }
}

void trace_leaders(const protocol::MetadataResponse& resp) {
    for (const auto& t : resp.topics)
        for (const auto& p : t.partitions)
            std::fprintf(stderr, "proxy   metadata %s/%d leader %d\n", t.name ? t.name->c_str() : "?", p.partition_index,
                         p.leader_id);
}

/// Decodes, lets `change` edit, re-encodes; any codec failure passes the frame on unchanged.
template <class Resp, class Change>
rewrite_outcome reencode(const std::uint8_t* frame, std::size_t size, std::int16_t version,
                         std::vector<std::uint8_t>& out, Change&& change) {
    Resp resp;
    protocol::response_header header;
    std::vector<std::uint8_t> encoded;
    if (protocol::decode_response(protocol::bytes_view(frame + 4, size), version, resp, &header) ||
        (change(resp), protocol::encode_response(encoded, resp, version, header.correlation_id))) {
        out.insert(out.end(), frame, frame + 4 + size);
        return rewrite_outcome::undecodable;
    }
    out.insert(out.end(), encoded.begin(), encoded.end());
    return rewrite_outcome::rewritten;
}

}  // namespace

rewrite_outcome forward_response(const std::uint8_t* frame, std::size_t size, std::int16_t api_key,
                                 std::int16_t version, const address_map& map, std::vector<std::uint8_t>& out) {
    if (api_key == metadata_api_key)
        return reencode<protocol::MetadataResponse>(frame, size, version, out, [&](protocol::MetadataResponse& r) {
            if (map.trace) trace_leaders(r);
            for (auto& b : r.brokers) map_address(b.host, b.port, map);
        });
    if (api_key == find_coordinator_api_key)
        return reencode<protocol::FindCoordinatorResponse>(frame, size, version, out,
                                                           [&](protocol::FindCoordinatorResponse& r) {
                                                               map_address(r.host, r.port, map);
                                                               for (auto& c : r.coordinators)
                                                                   map_address(c.host, c.port, map);
                                                           });
    out.insert(out.end(), frame, frame + 4 + size);
    return rewrite_outcome::passed;
}

}  // namespace kwire::test
