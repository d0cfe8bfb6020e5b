// What the SASL mechanisms share (see sasl_support.hpp): wiping secrets, strict base64, ASCII
// and UTF-8 checks.
#include "net/sasl_support.hpp"

#include "net/crypto.hpp"

namespace kwire::client::detail::sasl {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

void wipe(std::string& s) noexcept {
    if (!s.empty()) crypto::cleanse(s.data(), s.size());
    s.clear();
}

void wipe(std::vector<std::uint8_t>& v) noexcept {
    if (!v.empty()) crypto::cleanse(v.data(), v.size());
    v.clear();
}

void wipe(std::span<std::uint8_t> b) noexcept {
    if (!b.empty()) crypto::cleanse(b.data(), b.size());
}

std::string base64_encode(std::span<const std::uint8_t> in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t g = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
        out += alphabet[g >> 18 & 63];
        out += alphabet[g >> 12 & 63];
        out += alphabet[g >> 6 & 63];
        out += alphabet[g & 63];
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        std::uint32_t g = std::uint32_t{in[i]} << 16;
        if (rest == 2) g |= std::uint32_t{in[i + 1]} << 8;
        out += alphabet[g >> 18 & 63];
        out += alphabet[g >> 12 & 63];
        out += rest == 2 ? alphabet[g >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
    std::vector<std::uint8_t> out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const std::size_t chars = last ? 4 - pad : 4;
        std::uint32_t g = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            int v = 0;
            if (k < chars) {
                v = sextet(in[i + k]);
                if (v < 0) return std::nullopt;  // also '=' anywhere but the padding
            }
            g = g << 6 | static_cast<std::uint32_t>(v);
        }
        out.push_back(static_cast<std::uint8_t>(g >> 16));
        if (chars >= 3) out.push_back(static_cast<std::uint8_t>(g >> 8));
        if (chars == 4) out.push_back(static_cast<std::uint8_t>(g));
        // Padding must cut off only zero bits, or two encodings would mean the same bytes.
        if (chars == 2 && (g & 0xFFFF) != 0) return std::nullopt;
        if (chars == 3 && (g & 0xFF) != 0) return std::nullopt;
    }
    return out;
}

bool is_ascii(std::string_view s) noexcept {
    for (const char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

bool is_utf8(std::string_view s) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char b = byte(i);
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (b >= 0xC2 && b <= 0xDF) len = 2, cp = b & 0x1Fu;
        else if (b >= 0xE0 && b <= 0xEF) len = 3, cp = b & 0x0Fu;
        else if (b >= 0xF0 && b <= 0xF4) len = 4, cp = b & 0x07u;
        else return false;  // a continuation byte first, an overlong 0xC0/0xC1 lead, or > U+10FFFF
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((byte(i + k) & 0xC0) != 0x80) return false;
            cp = cp << 6 | (byte(i + k) & 0x3Fu);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;                           // surrogate
        if (cp > 0x10FFFF) return false;
        i += len;
    }
    return true;
}

std::vector<std::uint8_t> to_bytes(std::string_view s) {
    std::vector<std::uint8_t> v;
    v.reserve(s.size());
    v.insert(v.end(), s.begin(), s.end());
    return v;
}

}  // namespace kwire::client::detail::sasl
