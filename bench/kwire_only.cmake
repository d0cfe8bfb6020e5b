# kwire-bench-kwire: kwire-bench without librdkafka (kwire's side only, against a cluster given
# with -b), so that it links fully static (scripts/build-static.sh).
add_executable(kwire-bench-kwire
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
  ${CMAKE_CURRENT_LIST_DIR}/cluster_kwire.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rival_absent.cpp)
target_compile_definitions(kwire-bench-kwire PRIVATE KWIRE_BENCH_WITH_RDKAFKA=0)
target_link_libraries(kwire-bench-kwire PRIVATE kwire::client kwire::admin kwire::protocol kwire::options)
