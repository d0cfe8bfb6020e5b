// Error codes: kwire's own (malformed input, unsupported versions, ...) and Kafka's broker codes,
// each in its own std::error_category.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace kwire {

/// Errors raised by kwire itself.
enum class errc {
    ok = 0,
    truncated,                 ///< fewer bytes than a length, count or fixed field needs
    negative_length,           ///< a length of -1 (null) where null is not allowed, or < -1
    length_too_large,          ///< a length or count larger than the bytes that remain
    varint_too_long,           ///< a varint longer than its type allows
    too_many_tagged_fields,    ///< tagged-field count above the decoder's cap
    tagged_field_order,        ///< tagged fields not in strictly increasing tag order
    trailing_bytes,            ///< a frame that decoded with bytes left over
    unsupported_version,       ///< an API version outside what the message or broker supports
    unknown_api,               ///< an API key kwire does not speak
    correlation_mismatch,      ///< a response whose correlation id matches no request
    crc_mismatch,              ///< a record batch or message whose checksum is wrong
    unsupported_magic,         ///< a record batch or message set with an unknown magic byte
    unsupported_compression,   ///< a compression codec id kwire does not know
    decompression_failed,      ///< the compressed payload is corrupt
    decompressed_too_large,    ///< the payload inflates beyond the configured cap
    invalid_record,            ///< a record whose fields contradict its length
    frame_too_large,           ///< a frame larger than the configured maximum
    invalid_argument,          ///< a caller passed a value the protocol cannot carry
};

const std::error_category& kwire_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), kwire_category()}; }

/// Kafka's protocol error codes (the ErrorCode fields of responses).
enum class kafka_errc : std::int16_t {
#define KWIRE_KAFKA_ERROR(name, code, retriable) name = code,
#include "kwire/protocol/kafka_errors.def"
#undef KWIRE_KAFKA_ERROR
};

const std::error_category& kafka_category() noexcept;
inline std::error_code make_error_code(kafka_errc e) noexcept {
    return {static_cast<int>(e), kafka_category()};
}
/// The typed code of a response's ErrorCode field, for switches and comparisons (a code kwire
/// does not list keeps its number and falls to `default:`).
constexpr kafka_errc to_kafka_errc(std::int16_t code) noexcept { return static_cast<kafka_errc>(code); }
/// The wire value of a Kafka error code, for ErrorCode fields and the interfaces that carry them.
constexpr std::int16_t wire_code(kafka_errc e) noexcept { return static_cast<std::int16_t>(e); }
/// An error_code for a raw ErrorCode field; 0 maps to success.
inline std::error_code kafka_error(std::int16_t code) noexcept {
    return code == 0 ? std::error_code{} : std::error_code{code, kafka_category()};
}
/// Kafka's name for the code, e.g. "NOT_LEADER_OR_FOLLOWER"; "UNKNOWN_ERROR_CODE" if unknown.
std::string_view kafka_error_name(std::int16_t code) noexcept;
/// Whether Kafka marks the code retriable (a retry of the same request may succeed).
bool is_retriable(std::int16_t code) noexcept;
inline bool is_retriable(kafka_errc e) noexcept { return is_retriable(static_cast<std::int16_t>(e)); }

}  // namespace kwire

template <> struct std::is_error_code_enum<kwire::errc> : std::true_type {};
template <> struct std::is_error_code_enum<kwire::kafka_errc> : std::true_type {};
