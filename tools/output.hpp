// Output shared by the `kwire` commands: aligned tables for people, JSON for scripts, and the
// plumbing of running one admin call to completion.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace kwire::tools {

/// Left-aligned columns, two spaces apart, each line indented by `indent`.
std::string table(const std::vector<std::vector<std::string>>& rows, std::string_view indent);
/// "1 topic", "3 topics".
std::string plural(std::size_t n, std::string_view word);
/// "1,2,3", or "-" for none.
std::string id_list(const std::vector<std::int32_t>& ids);
/// A Kafka error code's name, or "-" for none.
std::string name_of_error(std::int16_t code);
/// An error_code as the tables show it: "-" for none, else describe_error().
std::string error_cell(const std::error_code& ec);

void json_string(std::string& out, std::string_view s);
void json_optional_string(std::string& out, const std::optional<std::string>& s);
void json_ids(std::string& out, const std::vector<std::int32_t>& ids);
/// "error_code":N,"error":"NAME"|null, from a Kafka error code.
void json_error(std::string& out, std::int16_t code);
/// The same from an error_code: Kafka codes by number and name; other errors as code -1 and
/// their message.
void json_error(std::string& out, const std::error_code& ec);

/// Writes `text` to stdout; false (after saying so on stderr) if that failed.
bool write_stdout(const std::string& text);

/// Runs an asynchronous call to completion on `io`: `start(handler)` starts it, and the
/// handler's arguments are returned.
template <class Result, class Start>
std::pair<std::error_code, Result> run_call(boost::asio::io_context& io, Start start) {
    std::pair<std::error_code, Result> out{std::error_code{}, Result{}};
    bool done = false;
    // The admin client keeps its connections (and their reads) open: stop when the call is done.
    start([&](std::error_code ec, Result r) {
        out = {ec, std::move(r)};
        done = true;
        io.stop();
    });
    io.restart();
    io.run();
    if (!done) out.first = std::make_error_code(std::errc::operation_canceled);
    return out;
}

}  // namespace kwire::tools
