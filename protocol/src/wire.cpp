#include "kwire/protocol/wire.hpp"

namespace kwire::protocol {

// Out of line: one insert (copy) instead of resize (zero-fill) plus memcpy, kept out of the
// inlined encoders so their code stays as it was for short fields.
void writer::append_long(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

}  // namespace kwire::protocol
