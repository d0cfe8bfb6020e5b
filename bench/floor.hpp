// The physical floor of an awaited send on this machine: a TCP ping-pong over loopback of the
// same request and response sizes as a Produce round trip, with nothing else in it. The server
// thread blocks in recv (a broker that sleeps between requests); the client either spins on a
// non-blocking socket (the floor of a client whose thread busy-polls) or blocks in recv (the
// floor of one that sleeps). A client's own overhead is its latency against instant_broker minus
// this floor.
//
// The end-to-end floor (tcp_relay) is the path of a record through instant_broker to a waiting
// consumer, with nothing else in it: the request goes to one server thread, which hands it over a
// condition variable to a second one (as the Produce's connection thread wakes the waiting
// Fetch's), which writes the response bytes to a second connection, where the spinning client
// reads them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kwire::bench {

/// `count` round trips (after 200 untimed ones); each one's latency in ns, in order.
std::vector<std::uint64_t> tcp_ping_pong(std::size_t request_bytes, std::size_t response_bytes, std::size_t count,
                                         bool spinning_client);

/// `count` relays (after 200 untimed ones): request_bytes in on one connection, response_bytes
/// out on another, through two server threads; each one's latency in ns.
std::vector<std::uint64_t> tcp_relay(std::size_t request_bytes, std::size_t response_bytes, std::size_t count);

}  // namespace kwire::bench
