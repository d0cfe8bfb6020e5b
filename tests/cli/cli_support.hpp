// What the `kwire` command-line tests share: running the binary, reading its output, and a small
// JSON parser to check that --json prints one well-formed document.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "subprocess.hpp"

namespace kwire::cli_test {

using kwire::peers::process_result;
using namespace std::chrono_literals;

inline const std::string kwire_binary = KWIRE_BINARY_DIR "/bin/kwire";

inline process_result run_kwire(std::vector<std::string> args, const std::string& input = {},
                         std::chrono::milliseconds timeout = 60s) {
    args.insert(args.begin(), kwire_binary);
    return kwire::peers::run_process(args, input, timeout);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

inline std::vector<std::string> words_of(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

inline void require_kcat() {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
}

/// A temporary file, removed at the end of the test.
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& content) {
        char name[] = "/tmp/kwire-cli-test-XXXXXX";
        const int fd = ::mkstemp(name);
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        ::close(fd);
        path = name;
        std::ofstream(path) << content;
    }
    ~temp_file() { std::remove(path.c_str()); }
};

// --- a small JSON parser: enough to check that --json is one well-formed document ------------

struct json;
using json_object = std::map<std::string, json>;
using json_array = std::vector<json>;
struct json {
    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<json_array>, std::shared_ptr<json_object>> v;
    const json_object& object() const { return *std::get<std::shared_ptr<json_object>>(v); }
    const json_array& array() const { return *std::get<std::shared_ptr<json_array>>(v); }
    const json& operator[](const std::string& key) const { return object().at(key); }
    double number() const { return std::get<double>(v); }
    const std::string& string() const { return std::get<std::string>(v); }
    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
};

class json_parser {
public:
    explicit json_parser(std::string_view text) : s_(text) {}
    /// Throws std::runtime_error unless the text is exactly one JSON value (plus whitespace).
    json parse_document() {
        auto v = value();
        skip_space();
        if (pos_ != s_.size()) fail("trailing characters");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
    }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
    }
    bool eat(char c) {
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }
    std::string string_value() {
        expect('"');
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            char c = s_[pos_++];
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c == '\\') {
                if (pos_ >= s_.size()) fail("unterminated escape");
                c = s_[pos_++];
                switch (c) {
                    case '"': case '\\': case '/': out += c; break;
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case 'r': out += '\r'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'u':
                        if (pos_ + 4 > s_.size()) fail("short \\u escape");
                        out += '?';
                        pos_ += 4;
                        break;
                    default: fail("bad escape");
                }
            } else {
                out += c;
            }
        }
        expect('"');
        return out;
    }
    json value() {
        skip_space();
        if (pos_ >= s_.size()) fail("unexpected end");
        const char c = s_[pos_];
        if (c == '{') {
            ++pos_;
            auto obj = std::make_shared<json_object>();
            if (!eat('}')) {
                do {
                    skip_space();
                    auto key = string_value();
                    expect(':');
                    if (!obj->emplace(key, value()).second) fail("duplicate key " + key);
                } while (eat(','));
                expect('}');
            }
            return {obj};
        }
        if (c == '[') {
            ++pos_;
            auto arr = std::make_shared<json_array>();
            if (!eat(']')) {
                do arr->push_back(value());
                while (eat(','));
                expect(']');
            }
            return {arr};
        }
        if (c == '"') return {string_value()};
        if (literal("null")) return {nullptr};
        if (literal("true")) return {true};
        if (literal("false")) return {false};
        const auto start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                    s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
            ++pos_;
        if (start == pos_ || (pos_ == start + 1 && s_[start] == '-')) fail("unexpected character");
        return {std::stod(std::string(s_.substr(start, pos_ - start)))};
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace kwire::cli_test
