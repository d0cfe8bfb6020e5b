// libFuzzer target: the version-prefixed data messages (the consumer protocol's subscription and
// assignment). The first input byte picks the message; the rest is what a peer would send.
// Whatever decodes must re-encode at the version it was read as and decode to an equal message.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kwire/protocol/messages.hpp"
#include "kwire/protocol/version_prefixed.hpp"

namespace {

template <class M> void check(const std::uint8_t* data, std::size_t size) {
    namespace kp = kwire::protocol;
    M m;
    std::int16_t v = 0;
    if (kp::decode_version_prefixed(kp::bytes_view(data, size), m, &v)) return;
    std::vector<std::uint8_t> out;
    if (kp::encode_version_prefixed(out, m, std::min<std::int16_t>(v, M::max_version))) std::abort();
    M again;
    if (kp::decode_version_prefixed(kp::bytes_view(out.data(), out.size()), again) || !(again == m)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::size_t index = 0;
    kwire::protocol::for_each_data([&]<class D>() {
        if (index++ == data[0] % 2) check<D>(data + 1, size - 1);
    });
    return 0;
}
