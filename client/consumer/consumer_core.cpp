// The slot table and the consumer's shared core. See consumer_core.hpp.
#include "consumer/consumer_core.hpp"

namespace kwire::client::detail {

consumer_core::consumer_core(net::any_io_executor executor, consumer_config config)
    : ex(executor),
      cfg(std::move(config)),
      brokers(std::make_shared<cluster>(executor, static_cast<const connection_config&>(cfg))) {
    if (auto* registry = brokers->observe().metrics()) meters = std::make_unique<consumer_meters>(*registry, cfg.client_id);
    brokers->push_metrics("consumer");  // KIP-714 (enable.metrics.push)
}

std::uint32_t slot_table::slot_for(const std::string& topic, std::int32_t partition) {
    const topic_partition tp{topic, partition};
    if (const auto it = slot_index_.find(tp); it != slot_index_.end()) return it->second;
    const auto index = static_cast<std::uint32_t>(slots_.size());
    auto s = std::make_unique<partition_slot>();
    s->topic = topic;
    s->partition = partition;
    slots_.push_back(std::move(s));
    slot_index_.emplace(tp, index);
    return index;
}

partition_slot* slot_table::find(const topic_partition& tp) {
    const auto it = slot_index_.find(tp);
    return it == slot_index_.end() ? nullptr : slots_[it->second].get();
}

const partition_slot* slot_table::find(const topic_partition& tp) const {
    const auto it = slot_index_.find(tp);
    return it == slot_index_.end() ? nullptr : slots_[it->second].get();
}

std::optional<std::uint32_t> slot_table::index_of(const topic_partition& tp) const {
    const auto it = slot_index_.find(tp);
    if (it == slot_index_.end()) return std::nullopt;
    return it->second;
}

std::vector<topic_partition> slot_table::owned() const {
    std::vector<topic_partition> out;
    for (const auto& s : slots_)
        if (s->assigned) out.push_back({s->topic, s->partition});
    return out;
}

}  // namespace kwire::client::detail
