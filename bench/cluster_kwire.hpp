// kwire-bench-kwire's cluster (no librdkafka): an existing cluster named with -b, set up and
// checked with kwire's own admin client (CreateTopics, Metadata, ListOffsets) and, for the
// consumer scenarios, filled by kwire's producer. Same interface as kwire-bench's librdkafka
// cluster_env, whose mock cluster it cannot offer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace kwire::bench {

class kwire_cluster {
public:
    explicit kwire_cluster(const std::string& bootstrap);
    ~kwire_cluster();
    kwire_cluster(const kwire_cluster&) = delete;
    kwire_cluster& operator=(const kwire_cluster&) = delete;

    const std::string& bootstrap() const { return bootstrap_; }
    bool is_mock() const { return false; }
    int brokers() const { return brokers_; }

    /// Creates the topic (an existing one is kept) and returns its partition count.
    int ensure_topic(const std::string& name, int partitions);
    /// Records the topic's log holds now (high minus low watermark, summed over partitions).
    std::int64_t log_size(const std::string& topic, int partitions);
    /// Sum of the topic's high watermarks.
    std::int64_t log_end(const std::string& topic, int partitions);
    /// Consumer scenarios: makes the topic hold at least `count` records (untimed), produced by
    /// kwire with the scenario's compression, spread evenly over the partitions.
    void fill(const scenario& s, std::size_t count, const std::vector<std::string>& payloads);

private:
    struct state;
    std::unique_ptr<state> st_;
    std::string bootstrap_;
    int brokers_ = 0;
};

}  // namespace kwire::bench
