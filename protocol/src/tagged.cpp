#include "kwire/protocol/tagged.hpp"

#include <algorithm>

#include "kwire/protocol/frame.hpp"

namespace kwire::protocol {

void tagged_fields::decode(reader& r) {
    read_tagged_fields(r, *this, [](std::uint32_t, reader&) { return false; });
}

void tagged_writer::finish() {
    w_.uvarint(known_.size() + unknown_.unknown.size());
    // Both lists are in increasing tag order already: merge them.
    auto k = known_.begin();
    auto u = unknown_.unknown.begin();
    auto emit = [&](const unknown_tag& t) {
        w_.uvarint(t.tag);
        w_.uvarint(t.data.size());
        w_.raw(t.data.data(), t.data.size());
    };
    while (k != known_.end() || u != unknown_.unknown.end()) {
        if (u == unknown_.unknown.end() || (k != known_.end() && k->tag < u->tag)) emit(*k++);
        else emit(*u++);
    }
}

std::error_code decode_request_header(reader& r, request_header& h, std::int16_t first_flexible) {
    h.api_key = r.i16();
    h.api_version = r.i16();
    h.correlation_id = r.i32();
    h.client_id = r.nullable_string(false);
    if (r.ok() && is_flexible(h.api_version, first_flexible)) h.unknown_tagged_fields.decode(r);
    return r.error();
}

}  // namespace kwire::protocol
