// Shared body of the request and response decoder fuzzers. The first two input bytes pick the
// API (index into all_apis) and the version; the rest is the message body. Whatever decodes must
// re-encode and decode again to an equal message, so the fuzzer checks more than "no crash".
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kwire/protocol/messages.hpp"

namespace kwire::fuzz {

template <bool Requests> int decode_message(const std::uint8_t* data, std::size_t size) {
    namespace kp = kwire::protocol;
    if (size < 2) return 0;
    const std::size_t api_index = data[0] % kp::all_apis.size();
    const std::uint8_t version_byte = data[1];
    std::size_t index = 0;
    kp::for_each_api([&]<class Req, class Resp>() {
        if (index++ != api_index) return;
        using M = std::conditional_t<Requests, Req, Resp>;
        const auto span = M::max_version - M::min_version + 1;
        const auto v = static_cast<std::int16_t>(M::min_version + version_byte % span);
        M m;
        kp::reader r(data + 2, size - 2);
        m.decode(r, v);
        if (!r.ok()) return;
        std::vector<std::uint8_t> out;
        kp::writer w(out);
        m.encode(w, v);
        M again;
        kp::reader r2(out.data(), out.size());
        again.decode(r2, v);
        if (!r2.ok() || r2.remaining() != 0 || !(again == m)) std::abort();
    });
    return 0;
}

}  // namespace kwire::fuzz
