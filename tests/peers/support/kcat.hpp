// Runs kcat (librdkafka's command-line client) as an independent producer/consumer. Records are
// framed with ASCII control characters (unit separator 0x1f between fields, record separator
// 0x1e between records), so keys and values may contain newlines, tabs, '=' and ','; they must
// not contain 0x1e/0x1f. Header names/values must avoid ',' and '=' (kcat prints headers as
// "n=v,n=v").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "subprocess.hpp"

namespace kwire::peers {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct kcat_record {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string key;
    std::string value;
    header_list headers;
    friend bool operator==(const kcat_record&, const kcat_record&) = default;
};

struct kcat_options {
    std::chrono::milliseconds timeout = std::chrono::seconds(30);
    std::vector<std::string> extra_args;  // e.g. {"-X", "debug=protocol"}
};

/// Reads partition `partition` of `topic` from the beginning to the current end (-e) and returns
/// every record. Throws std::runtime_error if kcat fails, times out or prints something that
/// does not parse.
std::vector<kcat_record> kcat_consume(const std::string& bootstrap, const std::string& topic,
                                      std::int32_t partition, const kcat_options& opt = {});

struct kcat_message {
    std::string key;
    std::string value;
};

/// Produces `messages` to one partition in one kcat run with compression codec `codec`
/// ("none", "gzip", "snappy", "lz4", "zstd"); every message carries `headers`. Throws
/// std::runtime_error if kcat fails or reports a delivery error.
void kcat_produce(const std::string& bootstrap, const std::string& topic, std::int32_t partition,
                  const std::string& codec, const std::vector<kcat_message>& messages,
                  const header_list& headers = {}, const kcat_options& opt = {});

/// Runs kcat with arbitrary arguments (after "kcat").
process_result run_kcat(const std::vector<std::string>& args, const std::string& input = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace kwire::peers
