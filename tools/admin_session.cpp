#include "admin_session.hpp"

#include <cstdio>

namespace kwire::tools {

bool admin_session::parse(option_parser& parser, std::span<const std::string_view> args, std::string_view help,
                          bool command_config) {
    if (options.parse_command_line(parser, args, help, command_config ? "command-config" : "config")) return true;
    options.apply(cfg);
    return false;
}

admin::admin_client& admin_session::admin() {
    if (!client_) client_.emplace(io.get_executor(), cfg);
    return *client_;
}

admin_session::~admin_session() { client_.reset(); }

int admin_session::call_failed(const std::string& what, const std::error_code& ec) const {
    std::fprintf(stderr, "kwire: cannot %s (bootstrap %s): %s\n", what.c_str(), join(cfg.bootstrap_servers).c_str(),
                 describe_error(ec).c_str());
    return exit_failure;
}

option topic_option(std::vector<std::string>& names, std::string_view help) {
    return {'t', "topic", "TOPIC", help, [&names](std::string_view v) {
                if (v.empty()) throw usage_error("-t needs a topic name");
                names.emplace_back(v);
            }};
}

std::int64_t integer_option(std::string_view flag, std::string_view value, std::int64_t min, std::int64_t max) {
    const auto v = parse_integer(value, min, max);
    if (!v)
        throw usage_error(std::string(flag) + " needs an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                          "], got '" + std::string(value) + "'");
    return *v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto at = s.find(sep);
        if (at != 0) out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) break;
        s.remove_prefix(at + 1);
    }
    return out;
}

}  // namespace kwire::tools
