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

/// "-" for no error, else its name.
inline std::string error_cell(std::int16_t code) { return name_of_error(code); }

// Brokers and partitions, as `kwire metadata`, `kwire cluster` and `kwire topics describe` show
// them (from the metadata query or the admin client: the same fields by the same names).

/// {"id":..,"host":..,"port":..,"rack":.. -- without the closing brace, for more fields.
template <class Broker> void json_broker_fields(std::string& out, const Broker& b) {
    out += "{\"id\":" + std::to_string(b.node_id) + ",\"host\":";
    json_string(out, b.host);
    out += ",\"port\":" + std::to_string(b.port) + ",\"rack\":";
    json_optional_string(out, b.rack);
}

/// "Cluster id: ..., controller: ..." and the broker table.
template <class Brokers>
std::string cluster_text(const std::optional<std::string>& cluster_id, std::int32_t controller, const Brokers& brokers) {
    std::string out = "Cluster id: " + cluster_id.value_or("(none)") + ", controller: " +
                      (controller >= 0 ? "broker " + std::to_string(controller) : std::string("none")) + "\n";
    out += plural(brokers.size(), "broker") + ":\n";
    std::vector<std::vector<std::string>> rows{{"ID", "ADDRESS", "RACK"}};
    for (const auto& b : brokers)
        rows.push_back({std::to_string(b.node_id) + (b.node_id == controller ? " (controller)" : ""),
                        b.host + ":" + std::to_string(b.port), b.rack.value_or("-")});
    return out + table(rows, "  ");
}

template <class Partition> constexpr bool has_offline = requires(const Partition& p) { p.offline; };

/// One partition as a JSON object.
template <class Partition> void json_partition(std::string& out, const Partition& p) {
    out += "{\"partition\":" + std::to_string(p.id) + ",\"leader\":" + std::to_string(p.leader) +
           ",\"leader_epoch\":" + std::to_string(p.leader_epoch) + ",\"replicas\":";
    json_ids(out, p.replicas);
    out += ",\"isr\":";
    json_ids(out, p.isr);
    if constexpr (has_offline<Partition>) {
        out += ",\"offline\":";
        json_ids(out, p.offline);
    }
    out += ',';
    json_error(out, p.error);
    out += '}';
}

/// {"name":..,"internal":..,"error_code":..,"error":..,"partitions":[...] -- without the closing
/// brace, for more fields.
template <class Topic> void json_topic_fields(std::string& out, const Topic& t) {
    out += "{\"name\":";
    json_string(out, t.name);
    out += std::string(",\"internal\":") + (t.internal ? "true" : "false") + ",";
    json_error(out, t.error);
    out += ",\"partitions\":[";
    for (std::size_t j = 0; j < t.partitions.size(); ++j) {
        if (j) out += ',';
        json_partition(out, t.partitions[j]);
    }
    out += ']';
}

/// A table of partitions: leader, epoch, replicas, ISR (offline replicas where known), error.
template <class Partitions> std::string partition_table(const Partitions& partitions, std::string_view indent) {
    using partition = typename Partitions::value_type;
    std::vector<std::vector<std::string>> rows{{"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"}};
    if constexpr (has_offline<partition>) rows[0].push_back("OFFLINE");
    rows[0].push_back("ERROR");
    for (const auto& p : partitions) {
        std::vector<std::string> row{std::to_string(p.id), p.leader >= 0 ? std::to_string(p.leader) : "none",
                                     p.leader_epoch >= 0 ? std::to_string(p.leader_epoch) : "-", id_list(p.replicas),
                                     id_list(p.isr)};
        if constexpr (has_offline<partition>) row.push_back(id_list(p.offline));
        row.push_back(error_cell(p.error));
        rows.push_back(std::move(row));
    }
    return table(rows, indent);
}

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
