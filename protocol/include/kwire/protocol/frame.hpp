// Request/response framing: the INT32 size prefix and the headers.
//
// Request header v1: api_key INT16, api_version INT16, correlation_id INT32, client_id
// NULLABLE_STRING (always the classic INT16-length form). v2 adds a tagged-field section and is used
// for flexible versions. Response header v0: correlation_id; v1 adds tagged fields and is used for
// flexible versions -- except ApiVersions, whose response header is always v0 so that a client can
// parse the answer before it knows which versions the broker speaks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/tagged.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::protocol {

inline constexpr std::int16_t api_versions_key = 18;

struct request_header {
    std::int16_t api_key = 0;
    std::int16_t api_version = 0;
    std::int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    tagged_fields unknown_tagged_fields;
};

struct response_header {
    std::int32_t correlation_id = 0;
    tagged_fields unknown_tagged_fields;
};

/// Whether version `v` of a message whose first flexible version is `first_flexible` (-1: never)
/// is flexible.
constexpr bool is_flexible(std::int16_t v, std::int16_t first_flexible) noexcept {
    return first_flexible >= 0 && v >= first_flexible;
}
constexpr bool response_header_flexible(std::int16_t api_key, bool flexible) noexcept {
    return flexible && api_key != api_versions_key;
}

/// Message types generated from protocol/schema (see kwire/protocol/messages.hpp).
template <class M>
concept message = requires(const M& m, M& mm, writer& w, reader& r, std::int16_t v) {
    { M::api_key } -> std::convertible_to<std::int16_t>;
    { M::min_version } -> std::convertible_to<std::int16_t>;
    { M::max_version } -> std::convertible_to<std::int16_t>;
    { M::first_flexible } -> std::convertible_to<std::int16_t>;
    m.encode(w, v);
    mm.decode(r, v);
};

/// Appends a whole request frame (size, header, body) to `out`. The version must be one the
/// message supports; otherwise nothing is written and `unsupported_version` is returned.
template <message Req>
std::error_code encode_request(std::vector<std::uint8_t>& out, const Req& req, std::int16_t version,
                               std::int32_t correlation_id, std::optional<std::string_view> client_id) {
    if (version < Req::min_version || version > Req::max_version)
        return make_error_code(errc::unsupported_version);
    writer w(out);
    const auto size_at = w.reserve_i32();
    const bool flex = is_flexible(version, Req::first_flexible);
    w.i16(Req::api_key);
    w.i16(version);
    w.i32(correlation_id);
    client_id ? w.string(*client_id, false) : w.null_string(false);
    if (flex) w.uvarint(0);  // header tagged fields
    req.encode(w, version);
    w.patch_i32(size_at, static_cast<std::int32_t>(out.size() - size_at - 4));
    return {};
}

/// Reads a request header (the frame's size prefix already removed).
std::error_code decode_request_header(reader& r, request_header& h, std::int16_t first_flexible);

/// Decodes a response frame body (the 4-byte size already removed): header, then the message.
/// Bytes left over after the message are an error (`trailing_bytes`): they mean the schema and
/// the broker disagree, which must not pass silently.
template <message Resp>
std::error_code decode_response(bytes_view frame, std::int16_t version, Resp& out,
                                response_header* header = nullptr) {
    if (version < Resp::min_version || version > Resp::max_version)
        return make_error_code(errc::unsupported_version);
    reader r(frame);
    response_header h;
    h.correlation_id = r.i32();
    const bool flex = is_flexible(version, Resp::first_flexible);
    if (response_header_flexible(Resp::api_key, flex)) h.unknown_tagged_fields.decode(r);
    out.decode(r, version);
    if (r.ok() && r.remaining() != 0) r.fail(errc::trailing_bytes);
    if (header) *header = std::move(h);
    return r.error();
}

/// Encodes a response frame (size, header, body); used by tests and fake brokers.
template <message Resp>
std::error_code encode_response(std::vector<std::uint8_t>& out, const Resp& resp, std::int16_t version,
                                std::int32_t correlation_id) {
    if (version < Resp::min_version || version > Resp::max_version)
        return make_error_code(errc::unsupported_version);
    writer w(out);
    const auto size_at = w.reserve_i32();
    w.i32(correlation_id);
    if (response_header_flexible(Resp::api_key, is_flexible(version, Resp::first_flexible))) w.uvarint(0);
    resp.encode(w, version);
    w.patch_i32(size_at, static_cast<std::int32_t>(out.size() - size_at - 4));
    return {};
}

/// Decodes a request frame body (size removed) whose header says it is a `Req`.
template <message Req>
std::error_code decode_request(bytes_view frame, Req& out, request_header* header = nullptr) {
    reader r(frame);
    request_header h;
    if (auto ec = decode_request_header(r, h, Req::first_flexible)) return ec;
    if (h.api_key != Req::api_key) return make_error_code(errc::unknown_api);
    if (h.api_version < Req::min_version || h.api_version > Req::max_version)
        return make_error_code(errc::unsupported_version);
    out.decode(r, h.api_version);
    if (r.ok() && r.remaining() != 0) r.fail(errc::trailing_bytes);
    if (header) *header = std::move(h);
    return r.error();
}

}  // namespace kwire::protocol
