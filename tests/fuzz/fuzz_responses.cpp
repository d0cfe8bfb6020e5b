// libFuzzer target: every response decoder of every API and version.
#include "fuzz_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return kwire::fuzz::decode_message<false>(data, size);
}
