kwire_fuzzer(responses ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_responses.cpp)
kwire_fuzzer(requests ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_requests.cpp)
kwire_fuzzer(data_messages ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_data_messages.cpp)
