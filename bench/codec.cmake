# kwire-codec-bench: checksums, varints, and RecordBatch encode/decode per codec.
add_executable(kwire-codec-bench ${CMAKE_CURRENT_LIST_DIR}/codec_bench.cpp)
# The varint benchmarks measure the record decoder's internal varint reader.
target_include_directories(kwire-codec-bench PRIVATE ${PROJECT_SOURCE_DIR}/codec/src)
target_link_libraries(kwire-codec-bench PRIVATE kwire::codec benchmark::benchmark kwire::options)
