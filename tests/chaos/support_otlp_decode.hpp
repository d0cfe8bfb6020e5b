// An independent reading of OTLP metrics payloads (ExportMetricsServiceRequest) for the KIP-714
// tests: `protoc --decode_raw` (Debian's protobuf-compiler) decodes the protobuf wire format
// without any schema, and this turns its text into the metrics it names, by the field numbers
// of opentelemetry/proto/metrics/v1. kwire's own encoder is not involved.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kwire::test {

/// One field of protoc's raw decoding: a scalar (`value` as protoc printed it) or a message.
struct raw_field {
    int number = 0;
    std::string value;                ///< scalars: `"text"` unquoted, 0x... for fixed64, decimal
    std::vector<raw_field> children;  ///< messages
    bool message = false;

    std::vector<const raw_field*> all(int n) const;
    const raw_field* first(int n) const;
    /// A string field's text (protoc may have read a short string as a message: then "").
    std::string text(int n) const;
    std::uint64_t fixed64(int n) const;  ///< 0 when absent
    double float64(int n) const;
};

/// One data point of one metric, as decoded.
struct decoded_metric {
    std::string name;
    std::string kind;  ///< "sum", "gauge", "histogram"
    std::map<std::string, std::string> attributes;
    std::int64_t int_value = 0;  ///< sums and gauges with as_int
    double double_value = 0;     ///< gauges with as_double
    bool is_double = false;
    std::uint64_t count = 0;     ///< histograms
    std::uint64_t start_nanos = 0, time_nanos = 0;
    int temporality = 0;         ///< 1 delta, 2 cumulative (sums and histograms)
};

struct decoded_payload {
    bool ok = false;
    std::string error;  ///< protoc's complaint when !ok
    std::map<std::string, std::string> resource;
    std::vector<decoded_metric> metrics;

    const decoded_metric* find(const std::string& name) const;
};

/// Whether protoc is installed (scripts/deps.sh installs protobuf-compiler).
bool protoc_available();
/// Decodes an uncompressed payload with `protoc --decode_raw`.
decoded_payload decode_otlp(const std::vector<std::uint8_t>& payload);

}  // namespace kwire::test
