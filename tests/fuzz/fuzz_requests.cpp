// libFuzzer target: every request decoder of every API and version.
#include "fuzz_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return kwire::fuzz::decode_message<true>(data, size);
}
