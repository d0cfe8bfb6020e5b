// frame_reader (see frame_reader.hpp): cutting a broker's byte stream into response frames.
#include "net/frame_reader.hpp"

#include <cstring>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::client::detail {

std::span<std::uint8_t> frame_reader::prepare(std::size_t min_bytes) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (missing_ > min_bytes) min_bytes = missing_;
    if (buf_.size() - end_ < min_bytes) {
        // Move the unconsumed tail to the front before growing: frames are consumed in order,
        // so the buffer stays about one frame plus one read in size.
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (buf_.size() - end_ < min_bytes) buf_.resize(end_ + min_bytes);
    }
    return {buf_.data() + end_, buf_.size() - end_};
}

std::optional<protocol::bytes_view> frame_reader::next(std::error_code& ec) {
    ec.clear();
    const std::size_t have = end_ - begin_;
    if (have < 4) return std::nullopt;
    const std::uint8_t* p = buf_.data() + begin_;
    const auto size = protocol::load_be<std::int32_t>(p);
    if (size < 0 || static_cast<std::size_t>(size) > max_frame_) {
        ec = looks_like_tls(p, have) ? make_error_code(client_errc::tls_on_plaintext)
                                     : make_error_code(errc::frame_too_large);
        return std::nullopt;
    }
    if (have - 4 < static_cast<std::size_t>(size)) {
        // Remember how much is missing: prepare() then makes room for the whole frame at once,
        // so a large Fetch response is read straight into place instead of in growing steps.
        missing_ = 4 + static_cast<std::size_t>(size) - have;
        return std::nullopt;
    }
    missing_ = 0;
    begin_ += 4 + static_cast<std::size_t>(size);
    return protocol::bytes_view(p + 4, static_cast<std::size_t>(size));
}

}  // namespace kwire::client::detail
