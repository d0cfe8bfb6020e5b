// Data messages that travel behind an INT16 version prefix inside another message's bytes field
// (the consumer protocol's subscription and assignment, inside JoinGroup and SyncGroup).
//
// Reading follows the Java client: a version below the oldest the schema knows is an error, a
// newer one is read as the newest known (such messages only ever append fields), and whatever
// follows the fields read is ignored.
#pragma once

#include <algorithm>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/types.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::protocol {

/// Appends the version and the message at that version; unsupported_version (and nothing
/// appended) if the schema has no such version.
template <class M> std::error_code encode_version_prefixed(std::vector<std::uint8_t>& out, const M& m, std::int16_t version) {
    if (version < M::min_version || version > M::max_version) return make_error_code(errc::unsupported_version);
    writer w(out);
    w.i16(version);
    m.encode(w, version);
    return {};
}

/// Decodes into `m` (left untouched on error); `version`, if given, receives the prefix as sent.
template <class M> std::error_code decode_version_prefixed(bytes_view in, M& m, std::int16_t* version = nullptr) {
    reader r(in);
    const auto v = r.i16();
    if (!r.ok()) return r.error();
    if (version) *version = v;
    if (v < M::min_version) return make_error_code(errc::unsupported_version);
    M decoded;
    decoded.decode(r, std::min<std::int16_t>(v, M::max_version));
    if (!r.ok()) return r.error();
    m = std::move(decoded);
    return {};
}

}  // namespace kwire::protocol
