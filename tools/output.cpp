#include "output.hpp"

#include <algorithm>
#include <cstdio>

#include "kwire/protocol/error.hpp"
#include "options.hpp"

namespace kwire::tools {

std::string table(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        if (width.size() < row.size()) width.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line(indent);
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
        }
        out += line + '\n';
    }
    return out;
}

std::string plural(std::size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string id_list(const std::vector<std::int32_t>& ids) {
    if (ids.empty()) return "-";
    std::string s;
    for (const auto id : ids) {
        if (!s.empty()) s += ',';
        s += std::to_string(id);
    }
    return s;
}

std::string name_of_error(std::int16_t code) {
    return code == 0 ? std::string("-") : std::string(kafka_error_name(code));
}

std::string error_cell(const std::error_code& ec) { return ec ? describe_error(ec) : std::string("-"); }

void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void json_optional_string(std::string& out, const std::optional<std::string>& s) {
    if (s) json_string(out, *s);
    else out += "null";
}

void json_ids(std::string& out, const std::vector<std::int32_t>& ids) {
    out += '[';
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(ids[i]);
    }
    out += ']';
}

void json_error(std::string& out, std::int16_t code) {
    out += "\"error_code\":" + std::to_string(code) + ",\"error\":";
    if (code == 0) out += "null";
    else json_string(out, kafka_error_name(code));
}

void json_error(std::string& out, const std::error_code& ec) {
    if (!ec) return json_error(out, std::int16_t{0});
    if (ec.category() == kafka_category()) return json_error(out, static_cast<std::int16_t>(ec.value()));
    out += "\"error_code\":-1,\"error\":";
    json_string(out, ec.message());
}

bool write_stdout(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) {
        std::perror("kwire: writing the output");
        return false;
    }
    return true;
}

}  // namespace kwire::tools
