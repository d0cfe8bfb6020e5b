# Fuzzers of the record codec. The codec library itself is instrumented too (coverage, ASan,
# UBSan) in this build, so libFuzzer sees its branches rather than only the harness's, and UBSan
# findings abort instead of scrolling by.
target_compile_options(kwire_codec PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)

kwire_fuzzer(record_batch ${CMAKE_CURRENT_LIST_DIR}/fuzz_record_batch.cpp)
target_compile_options(fuzz-record_batch PRIVATE -fno-sanitize-recover=all)

# One binary per codec from one source: fuzz-decompress_gzip, _snappy, _lz4, _zstd (the codecs
# this build has: KWIRE_WITH_ZLIB, _SNAPPY, _LZ4, _ZSTD).
set(KWIRE_FUZZ_CODECS)
foreach(codec_switch gzip:ZLIB snappy:SNAPPY lz4:LZ4 zstd:ZSTD)
  string(REPLACE ":" ";" codec_switch ${codec_switch})
  list(GET codec_switch 1 switch)
  if(KWIRE_WITH_${switch})
    list(GET codec_switch 0 codec)
    list(APPEND KWIRE_FUZZ_CODECS ${codec})
  endif()
endforeach()
foreach(codec ${KWIRE_FUZZ_CODECS})
  kwire_fuzzer(decompress_${codec} ${CMAKE_CURRENT_LIST_DIR}/fuzz_decompress.cpp)
  target_compile_definitions(fuzz-decompress_${codec} PRIVATE KWIRE_FUZZ_CODEC=${codec})
  target_compile_options(fuzz-decompress_${codec} PRIVATE -fno-sanitize-recover=all)
endforeach()
