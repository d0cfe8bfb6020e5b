#include "kwire/protocol/error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace kwire {
namespace {

struct kafka_error_info {
    std::int16_t code;
    std::string_view name;  // lower_snake as in the enum; printed upper-case
    bool retriable;
};

constexpr kafka_error_info kafka_errors[] = {
#define KWIRE_KAFKA_ERROR(name, code, retriable) {code, #name, retriable},
#include "kwire/protocol/kafka_errors.def"
#undef KWIRE_KAFKA_ERROR
};

const kafka_error_info* find_kafka_error(std::int16_t code) noexcept {
    // The table is sorted by code and dense from -1, but a search keeps gaps safe.
    auto it = std::lower_bound(std::begin(kafka_errors), std::end(kafka_errors), code,
                               [](const kafka_error_info& e, std::int16_t c) { return e.code < c; });
    return (it != std::end(kafka_errors) && it->code == code) ? it : nullptr;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

class kwire_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::truncated: return "truncated input: fewer bytes than the field needs";
            case errc::negative_length: return "invalid negative length or count";
            case errc::length_too_large: return "length or count larger than the bytes that remain";
            case errc::varint_too_long: return "varint longer than its type allows";
            case errc::too_many_tagged_fields: return "too many tagged fields";
            case errc::tagged_field_order: return "tagged fields out of order";
            case errc::trailing_bytes: return "unexpected bytes after the end of the message";
            case errc::unsupported_version: return "unsupported API version";
            case errc::unknown_api: return "unknown API key";
            case errc::correlation_mismatch: return "response correlation id matches no request";
            case errc::crc_mismatch: return "checksum mismatch";
            case errc::unsupported_magic: return "unsupported record batch magic";
            case errc::unsupported_compression: return "unsupported compression codec";
            case errc::decompression_failed: return "corrupt compressed data";
            case errc::decompressed_too_large: return "decompressed size exceeds the configured limit";
            case errc::invalid_record: return "invalid record";
            case errc::frame_too_large: return "frame larger than the configured maximum";
            case errc::invalid_argument: return "invalid argument";
        }
        return "unknown kwire error";
    }
};

class kafka_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kafka"; }
    std::string message(int ev) const override {
        return std::string(kafka_error_name(static_cast<std::int16_t>(ev)));
    }
};

}  // namespace

const std::error_category& kwire_category() noexcept {
    static const kwire_category_impl c;
    return c;
}

const std::error_category& kafka_category() noexcept {
    static const kafka_category_impl c;
    return c;
}

std::string_view kafka_error_name(std::int16_t code) noexcept {
    // Upper-case names are built once, on first use, from the lower-case table.
    static const auto names = [] {
        std::array<std::string, std::size(kafka_errors)> n;
        for (std::size_t i = 0; i < n.size(); ++i) n[i] = upper(kafka_errors[i].name);
        return n;
    }();
    const auto* e = find_kafka_error(code);
    return e ? std::string_view(names[static_cast<std::size_t>(e - kafka_errors)]) : "UNKNOWN_ERROR_CODE";
}

bool is_retriable(std::int16_t code) noexcept {
    const auto* e = find_kafka_error(code);
    return e && e->retriable;
}

}  // namespace kwire
