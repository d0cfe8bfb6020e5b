// SASLprep (RFC 4013). The Unicode part (mapping tables, NFKC, prohibited and unassigned code
// points of Unicode 3.2, the bidi rule) is libidn's "SASLprep" stringprep profile: those tables
// are not something to keep by hand. ASCII needs none of it: no ASCII character is mapped, NFKC
// leaves ASCII alone, none is right-to-left or unassigned, and only the control characters
// (U+0000-001F, U+007F; RFC 3454 table C.2.1) are prohibited.
#include <idn-free.h>
#include <stringprep.h>

#include <cstring>

#include "net/crypto.hpp"
#include "kwire/client/error.hpp"
#include "net/sasl_support.hpp"

namespace kwire::client::detail {

namespace {

std::error_code invalid() { return make_error_code(client_errc::sasl_invalid_credentials); }

std::error_code saslprep_ascii(std::string_view in, std::string& out) {
    for (const char c : in)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return invalid();
    out.assign(in);
    return {};
}

std::error_code saslprep_unicode(std::string_view in, saslprep_kind kind, std::string& out) {
    // libidn reads a NUL-terminated string, so a NUL inside would cut the text short; it is a
    // prohibited control character anyway.
    if (in.find('\0') != std::string_view::npos) return invalid();
    std::string z;
    z.reserve(in.size() + 1);
    z.assign(in);
    const auto flags = kind == saslprep_kind::stored ? STRINGPREP_NO_UNASSIGNED : Stringprep_profile_flags{};
    char* prepared = nullptr;
    const int rc = stringprep_profile(z.c_str(), &prepared, "SASLprep", flags);
    sasl::wipe(z);
    if (rc != STRINGPREP_OK || prepared == nullptr) {
        idn_free(prepared);
        return invalid();
    }
    const std::size_t n = std::strlen(prepared);
    out.reserve(n);
    out.assign(prepared, n);
    crypto::cleanse(prepared, n);
    idn_free(prepared);
    return {};
}

}  // namespace

std::error_code saslprep(std::string_view in, saslprep_kind kind, std::string& out) {
    sasl::wipe(out);
    if (!sasl::is_utf8(in)) return invalid();
    std::error_code ec = sasl::is_ascii(in) ? saslprep_ascii(in, out) : saslprep_unicode(in, kind, out);
    if (!ec && out.empty()) ec = invalid();  // e.g. only characters mapped to nothing (U+00AD)
    return ec;
}

}  // namespace kwire::client::detail
