# kwire-bench: kwire against librdkafka at its best on the same cluster (librdkafka's in-process
# mock cluster by default), with the TCP floor and the in-bench instant broker. librdkafka is the
# rival and the mock broker here; kwire itself never links it.
if(NOT TARGET PkgConfig::RDKAFKA)
  pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
endif()
add_executable(kwire-bench
  ${CMAKE_CURRENT_LIST_DIR}/kwire_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/plot.cpp
  ${CMAKE_CURRENT_LIST_DIR}/floor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/instant_broker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_kwire.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_kwire_e2e.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_kwire_txn.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_kwire_consumer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_rdkafka_consumer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_rdkafka_e2e.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_rdkafka_txn.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench_rdkafka.cpp)
target_link_libraries(kwire-bench PRIVATE kwire::client kwire::protocol PkgConfig::RDKAFKA kwire::options)
