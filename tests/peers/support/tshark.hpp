// Wireshark's Kafka dissector as an independent decoder of kwire's bytes.
//
// pcap_builder turns raw Kafka frames into a classic pcap file: Ethernet + IPv4 + TCP, a
// three-way handshake, then each frame as one or more in-order segments (client -> port 9092
// for requests, the reverse direction for responses) with correct sequence/ack numbers and
// checksums. tshark_decode() runs `tshark -T pdml` over it and parses the XML into a tree that
// tests query by field name (kafka.api_key, kafka.topic_name, ...). problems() lists what must
// never appear for a well-formed frame: malformed-packet markers, expert infos of severity
// error, and any expert info raised by the Kafka dissector itself (unsupported version, PDU
// length mismatch, bad string/array length, ...).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "subprocess.hpp"

namespace kwire::peers {

class pcap_builder {
public:
    static constexpr std::uint16_t kafka_port = 9092;

    pcap_builder();
    /// A whole request frame (size prefix included), client -> broker.
    void add_request(const std::vector<std::uint8_t>& frame);
    /// A whole response frame, broker -> client. `with_size_prefix=false` prepends the INT32 size
    /// (for response bodies as blocking_connection returns them).
    void add_response(const std::vector<std::uint8_t>& frame, bool with_size_prefix = true);

    std::vector<std::uint8_t> build() const;
    void write(const std::string& path) const;

private:
    struct segment {
        bool to_server;
        std::vector<std::uint8_t> payload;
        std::uint8_t flags;
    };
    void add(bool to_server, const std::vector<std::uint8_t>& payload);
    std::vector<segment> segments_;
};

/// One element of tshark's PDML output (<packet>, <proto> or <field>).
struct pdml_node {
    std::string tag;
    std::map<std::string, std::string> attrs;
    std::vector<std::unique_ptr<pdml_node>> children;

    std::string attr(const std::string& k) const {
        auto it = attrs.find(k);
        return it == attrs.end() ? std::string() : it->second;
    }
    std::string name() const { return attr("name"); }
    std::string show() const { return attr("show"); }
    std::string showname() const { return attr("showname"); }

    /// Every descendant (depth-first, document order) whose name is `name`.
    std::vector<const pdml_node*> find_all(const std::string& name) const;
    const pdml_node* find_first(const std::string& name) const;
};

class tshark_decode {
public:
    /// The <packet> elements, in capture order.
    std::vector<const pdml_node*> packets() const;
    /// The packets that carry a "kafka" proto (handshake packets etc. are skipped).
    std::vector<const pdml_node*> kafka_packets() const;

    /// "show" values of every field named `name` in the given packet / in all packets.
    static std::vector<std::string> values(const pdml_node& packet, const std::string& name);
    std::vector<std::string> values(const std::string& name) const;
    /// The first value of `name` in packet; "" if absent.
    static std::string value(const pdml_node& packet, const std::string& name);

    /// Human-readable descriptions of every problem marker (see the file comment). Empty means
    /// tshark decoded everything cleanly.
    std::vector<std::string> problems() const;
    /// The same for one packet.
    static std::vector<std::string> problems(const pdml_node& packet);

    /// The Kafka part of a packet as an indented text tree (tshark's "showname"s), for failure
    /// messages.
    static std::string describe_kafka(const pdml_node& packet);

    const std::string& pdml() const noexcept { return pdml_; }
    const pdml_node& root() const noexcept { return *root_; }

    /// Parses PDML text. Throws std::runtime_error on XML it does not understand.
    static tshark_decode parse(std::string pdml);

private:
    std::string pdml_;
    std::unique_ptr<pdml_node> root_;
};

/// Writes the capture to a temp file, runs tshark on it and parses the result. Throws
/// std::runtime_error if tshark fails.
tshark_decode run_tshark(const pcap_builder& capture);

/// Convenience: decode one request frame, optionally followed by its response body (without
/// the size prefix).
tshark_decode tshark_decode_request(const std::vector<std::uint8_t>& request_frame,
                                    const std::vector<std::uint8_t>* response_body = nullptr);

/// Verbose text dissection (-V) of the same capture, for failure messages.
std::string tshark_verbose(const pcap_builder& capture);

}  // namespace kwire::peers
