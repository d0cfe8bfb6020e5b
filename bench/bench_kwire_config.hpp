// kwire's producer and consumer configurations for a scenario (the settings librdkafka's side
// gets too), shared by the producer, consumer and end-to-end runs.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <string>

#include "bench_common.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"

namespace kwire::bench {

/// `pool`: the compression executor's pool (nullptr: compress inline).
producer_config make_producer_config(const scenario& s, const std::string& bootstrap, boost::asio::thread_pool* pool);
consumer_config make_consumer_config(const scenario& s, const std::string& bootstrap);

inline protocol::bytes_view bv(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace kwire::bench
