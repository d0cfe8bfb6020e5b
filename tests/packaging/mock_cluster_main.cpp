// kwire-mock-cluster: starts librdkafka's in-process mock cluster (tests only), creates topics,
// prints its bootstrap address on one line, and keeps running until its standard input closes.
// For script tests (tests/packaging/static_chroot_test.sh) that need a cluster in the background,
// and for kwire-bench-kwire (which cannot start librdkafka's mock itself). Its ListOffsets stays
// at v0-3: librdkafka 2.0.2's mock answers v4+ malformed (tests/peers/mock_cluster_test.cpp).
//
//   kwire-mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "mock_cluster.hpp"

int main(int argc, char** argv) {
    try {
        int brokers = 1;
        for (int i = 1; i < argc; ++i)
            if (std::string(argv[i]) == "--brokers" && i + 1 < argc) brokers = std::atoi(argv[++i]);
        kwire::peers::mock_cluster cluster(brokers);
        cluster.set_api_version(2, 0, 3);  // ListOffsets
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--brokers") {
                ++i;
            } else if (a == "--topic" && i + 1 < argc) {
                const std::string spec = argv[++i];
                const auto colon = spec.rfind(':');
                const std::string name = spec.substr(0, colon);
                const int partitions = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
                cluster.create_topic(name, partitions, std::min(brokers, 3));
            } else {
                std::fprintf(stderr, "usage: kwire-mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...\n");
                return 2;
            }
        }
        std::cout << cluster.bootstrap() << std::endl;
        for (std::string line; std::getline(std::cin, line);) {
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kwire-mock-cluster: %s\n", e.what());
        return 1;
    }
}
