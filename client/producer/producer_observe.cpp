// What the producer tells about itself: the causes behind its failures ("record not acknowledged
// within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)"), kept without
// allocating -- a Kafka error is a code and a broker, a connection failure is the cluster's
// (observe/telemetry.hpp) -- and put into words only when asked for.
#include "kwire/protocol/error.hpp"
#include "producer/producer_impl.hpp"

namespace kwire::client::detail {

namespace {

/// Errors that end retries without being the cause themselves.
bool hides_a_cause(std::error_code ec) noexcept {
    return ec == client_errc::delivery_timed_out || ec == client_errc::request_timed_out ||
           ec == client_errc::no_brokers || ec == client_errc::connection_closed;
}

std::string in_words(const kafka_cause& c) {
    std::string out(kafka_error_name(c.code));
    if (c.broker >= 0) out += " from broker " + std::to_string(c.broker);
    return out;
}

}  // namespace

void producer_impl::note_produce_error(partition_state& p, std::int16_t code, std::int32_t broker) {
    const kafka_cause c{code, broker, clock::now()};
    p.cause = c;
    cause_ = c;
}

std::string producer_impl::last_error(std::string_view topic, std::int32_t partition) const {
    const kafka_cause* kafka = &cause_;
    if (const auto t = topics_.find(topic); t != topics_.end() && partition >= 0 &&
                                            static_cast<std::size_t>(partition) < t->second->partitions.size())
        kafka = &t->second->partitions[static_cast<std::size_t>(partition)].cause;
    const auto connection = cluster_->last_error();
    // Whichever happened last: a partition whose leader answered with errors before its
    // connection went down says so, and the other way round.
    if (kafka->code != 0 && (!connection || connection->when <= kafka->at)) return in_words(*kafka);
    if (connection) return connection->description;
    return {};
}

std::string producer_impl::describe(std::error_code ec, std::string_view topic, std::int32_t partition) const {
    std::string out = ec.message();
    if (!hides_a_cause(ec)) return out;
    if (auto cause = last_error(topic, partition); !cause.empty()) out += " (last error: " + cause + ")";
    return out;
}

}  // namespace kwire::client::detail

namespace kwire {

std::string producer::last_error(std::string_view topic, std::int32_t partition) const {
    return impl_->last_error(topic, partition);
}

std::string producer::describe(boost::system::error_code ec, std::string_view topic, std::int32_t partition) const {
    return impl_->describe(ec, topic, partition);
}

}  // namespace kwire
