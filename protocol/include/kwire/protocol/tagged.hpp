// Tagged fields (KIP-482): in flexible versions every struct ends with
//   UNSIGNED_VARINT count, then count x { UNSIGNED_VARINT tag, UNSIGNED_VARINT size, size bytes }
// in strictly increasing tag order. Tags the schema knows are decoded into their fields; the rest
// are kept here and written back, so a message passes through kwire unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "kwire/protocol/wire.hpp"

namespace kwire::protocol {

/// Upper bound on tagged fields in one section: far above anything Kafka sends, low enough that
/// a hostile count cannot make the decoder spin.
inline constexpr std::uint64_t max_tagged_fields = 1024;

struct unknown_tag {
    std::uint32_t tag = 0;
    bytes data;
    friend bool operator==(const unknown_tag&, const unknown_tag&) = default;
};

struct tagged_fields {
    std::vector<unknown_tag> unknown;

    bool empty() const noexcept { return unknown.empty(); }
    friend bool operator==(const tagged_fields&, const tagged_fields&) = default;

    /// Reads a whole section, keeping every tag (used where the schema knows no tags).
    void decode(reader& r);
};

}  // namespace kwire::protocol

namespace kwire::protocol {

/// Writes a tagged-field section: the known tags a struct adds (in increasing order, each
/// encoded into a small scratch buffer because its size precedes it) merged with the unknown ones
/// it kept. A section with nothing to say costs one byte and no allocation.
class tagged_writer {
public:
    tagged_writer(writer& w, const tagged_fields& unknown) noexcept : w_(w), unknown_(unknown) {}

    template <class Encode> void add(std::uint32_t tag, Encode&& encode) {
        known_.push_back({tag, {}});
        writer sub(known_.back().data);
        encode(sub);
    }

    void finish();

private:
    writer& w_;
    const tagged_fields& unknown_;
    std::vector<unknown_tag> known_;
};

/// Reads a tagged-field section, handing each tag's payload to `known(tag, sub_reader)`, which
/// returns false for tags it does not decode; those are kept in `unknown`.
template <class Known> void read_tagged_fields(reader& r, tagged_fields& unknown, Known&& known) {
    unknown.unknown.clear();
    const auto count = r.uvarint();
    if (!r.ok()) return;
    if (count > max_tagged_fields) { r.fail(errc::too_many_tagged_fields); return; }
    std::int64_t last = -1;
    for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
        const auto tag = r.uvarint();
        const auto size = r.uvarint();
        if (!r.ok()) return;
        if (static_cast<std::int64_t>(tag) <= last) { r.fail(errc::tagged_field_order); return; }
        last = static_cast<std::int64_t>(tag);
        if (size > r.remaining()) { r.fail(errc::length_too_large); return; }
        const auto payload = r.take(static_cast<std::size_t>(size));
        reader sub(payload);
        if (known(static_cast<std::uint32_t>(tag), sub)) {
            if (!sub.ok()) r.fail(sub.error());
        } else {
            unknown.unknown.push_back({static_cast<std::uint32_t>(tag), bytes(payload.begin(), payload.end())});
        }
    }
}

}  // namespace kwire::protocol
