// kwire-bench-kwire (KWIRE_BENCH_WITH_RDKAFKA=0) has no librdkafka side: kwire_bench.cpp never
// calls these there (run_client[1] is false), but links against them.
#include <stdexcept>

#include "bench_common.hpp"

namespace kwire::bench {

run_result run_rdkafka(const scenario&, const std::string&, const std::vector<std::string>&) {
    throw std::logic_error("kwire-bench-kwire is built without librdkafka");
}

run_result run_rdkafka_consumer(const scenario&, const std::string&) {
    throw std::logic_error("kwire-bench-kwire is built without librdkafka");
}

run_result run_rdkafka_e2e(const scenario&, const std::string&, const std::vector<std::string>&) {
    throw std::logic_error("kwire-bench-kwire is built without librdkafka");
}

run_result run_rdkafka_txn(const scenario&, const std::string&, const std::vector<std::string>&) {
    throw std::logic_error("kwire-bench-kwire is built without librdkafka");
}

bool rival_knows(const char*) { return false; }

}  // namespace kwire::bench
