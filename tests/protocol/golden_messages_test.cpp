// Golden byte vectors for whole request and response frames, worked out by hand from Apache
// Kafka's message specs (clients/src/main/resources/common/message/<Name>{Request,Response}.json)
// and the protocol guide (https://kafka.apache.org/protocol) -- never produced by kwire.
//
// Framing reminders:
//   * every frame starts with an INT32 size counting the bytes after it;
//   * request header v1: api_key INT16, api_version INT16, correlation_id INT32, client_id as a
//     classic NULLABLE_STRING (INT16 length) even in flexible versions; header v2 (flexible
//     versions) appends a tagged-field section;
//   * response header v0: correlation_id INT32; v1 (flexible versions) appends a tagged-field
//     section -- except ApiVersions, whose responses always use header v0;
//   * flexible versions: COMPACT_STRING / COMPACT_BYTES = UNSIGNED_VARINT(len+1) + data,
//     COMPACT_ARRAY = UNSIGNED_VARINT(n+1), 0 = null; every struct (the message itself and each
//     array element / nested struct) ends with a tagged-field section:
//     UNSIGNED_VARINT count, then count x {UNSIGNED_VARINT tag, UNSIGNED_VARINT size, data}.
//
// Each test builds the message in C++ and checks encode == hand bytes, then decodes the hand
// bytes and checks the fields.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/create_topics.hpp"
#include "kwire/protocol/messages/fetch.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/metadata.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"
#include "kwire/protocol/messages/produce.hpp"
#include "kwire/protocol/tagged.hpp"
#include "kwire/protocol/wire.hpp"

namespace {

namespace kp = kwire::protocol;
using byte_vec = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// Helpers

std::string dump(const byte_vec& b) {
    std::string s;
    char tmp[4];
    for (std::size_t i = 0; i < b.size(); ++i) {
        std::snprintf(tmp, sizeof tmp, "%02x", b[i]);
        if (i) s += (i % 16 == 0) ? "\n      " : " ";
        s += tmp;
    }
    return s;
}

::testing::AssertionResult same_bytes(const byte_vec& got, const byte_vec& want) {
    if (got == want) return ::testing::AssertionSuccess();
    std::size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    auto r = ::testing::AssertionFailure();
    r << "first difference at offset " << i << " (sizes: got " << got.size() << ", want " << want.size()
      << ")\n got: " << dump(got) << "\nwant: " << dump(want);
    return r;
}

/// Sanity check on the hand-written vector itself: its size prefix must count the bytes after it.
void check_size_prefix(const byte_vec& golden) {
    ASSERT_GE(golden.size(), 4u);
    const auto declared = kp::load_be<std::int32_t>(golden.data());
    ASSERT_EQ(static_cast<std::size_t>(declared), golden.size() - 4)
        << "the hand-written vector's size prefix is wrong";
}

kp::bytes_view body_of(const byte_vec& frame) { return {frame.data() + 4, frame.size() - 4}; }

template <class Req>
void expect_request_encodes(const Req& req, std::int16_t version, std::int32_t correlation_id,
                            std::optional<std::string_view> client_id, const byte_vec& golden) {
    check_size_prefix(golden);
    byte_vec out;
    const auto ec = kp::encode_request(out, req, version, correlation_id, client_id);
    ASSERT_EQ(ec, std::error_code()) << ec.message();
    EXPECT_TRUE(same_bytes(out, golden));
}

/// Decodes a hand-written request frame; fields that point into the input (records) stay valid
/// as long as `golden` does.
template <class Req>
Req decode_request_frame(const byte_vec& golden, std::int16_t version, std::int32_t correlation_id,
                         const std::optional<std::string>& client_id) {
    Req out;
    kp::request_header h;
    const auto ec = kp::decode_request(body_of(golden), out, &h);
    EXPECT_EQ(ec, std::error_code()) << ec.message();
    EXPECT_EQ(h.api_key, Req::api_key);
    EXPECT_EQ(h.api_version, version);
    EXPECT_EQ(h.correlation_id, correlation_id);
    EXPECT_EQ(h.client_id, client_id);
    EXPECT_TRUE(h.unknown_tagged_fields.empty());
    return out;
}

template <class Resp>
void expect_response_encodes(const Resp& resp, std::int16_t version, std::int32_t correlation_id,
                             const byte_vec& golden) {
    check_size_prefix(golden);
    byte_vec out;
    const auto ec = kp::encode_response(out, resp, version, correlation_id);
    ASSERT_EQ(ec, std::error_code()) << ec.message();
    EXPECT_TRUE(same_bytes(out, golden));
}

template <class Resp>
Resp decode_response_frame(const byte_vec& golden, std::int16_t version, std::int32_t correlation_id) {
    Resp out;
    kp::response_header h;
    const auto ec = kp::decode_response(body_of(golden), version, out, &h);
    EXPECT_EQ(ec, std::error_code()) << ec.message();
    EXPECT_EQ(h.correlation_id, correlation_id);
    return out;
}

byte_vec to_vec(const std::optional<kp::bytes_view>& b) {
    return b ? byte_vec(b->begin(), b->end()) : byte_vec{};
}

const byte_vec records4 = {0xde, 0xad, 0xbe, 0xef};

// =============================================================================================
// ApiVersions (key 18). Request v0-2 have no fields; v3 (first flexible) adds
// ClientSoftwareName / ClientSoftwareVersion. Responses always use response header v0.

TEST(GoldenApiVersions, RequestV0AndV2) {
    for (const std::int16_t v : {std::int16_t{0}, std::int16_t{2}}) {
        SCOPED_TRACE(v);
        const byte_vec golden = {
            0x00, 0x00, 0x00, 0x0c,                         // size INT32 = 12
            0x00, 0x12,                                     // api_key INT16 = 18
            0x00, static_cast<std::uint8_t>(v),             // api_version INT16 = v
            0x00, 0x00, 0x00, 0x01,                         // correlation_id INT32 = 1
            0x00, 0x02, 'k', 'w',                           // client_id NULLABLE_STRING = "kw"
                                                            // (no body fields)
        };
        kp::ApiVersionsRequest req;
        expect_request_encodes(req, v, 1, "kw", golden);
        const auto got = decode_request_frame<kp::ApiVersionsRequest>(golden, v, 1, "kw");
        EXPECT_TRUE(got == req);
    }
}

TEST(GoldenApiVersions, RequestV3) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x18,                 // size INT32 = 24
        0x00, 0x12,                             // api_key INT16 = 18
        0x00, 0x03,                             // api_version INT16 = 3
        0x00, 0x00, 0x00, 0x02,                 // correlation_id INT32 = 2
        0x00, 0x02, 'k', 'w',                   // client_id NULLABLE_STRING = "kw"
        0x00,                                   // header TAG_BUFFER: 0 fields
        0x06, 'k', 'w', 'i', 'r', 'e',          // ClientSoftwareName COMPACT_STRING = "kwire"
        0x04, '0', '.', '1',                    // ClientSoftwareVersion COMPACT_STRING = "0.1"
        0x00,                                   // TAG_BUFFER: 0 fields
    };
    kp::ApiVersionsRequest req;
    req.client_software_name = "kwire";
    req.client_software_version = "0.1";
    expect_request_encodes(req, 3, 2, "kw", golden);

    const auto got = decode_request_frame<kp::ApiVersionsRequest>(golden, 3, 2, "kw");
    EXPECT_EQ(got.client_software_name, "kwire");
    EXPECT_EQ(got.client_software_version, "0.1");
    EXPECT_TRUE(got.unknown_tagged_fields.empty());
    EXPECT_TRUE(got == req);
}

TEST(GoldenApiVersions, ResponseV0) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x16,   // size INT32 = 22
        0x00, 0x00, 0x00, 0x01,   // correlation_id INT32 = 1
        0x00, 0x00,               // ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x02,   // ApiKeys ARRAY count = 2
        0x00, 0x00,               //   [0] ApiKey INT16 = 0 (Produce)
        0x00, 0x00,               //   [0] MinVersion INT16 = 0
        0x00, 0x09,               //   [0] MaxVersion INT16 = 9
        0x00, 0x12,               //   [1] ApiKey INT16 = 18 (ApiVersions)
        0x00, 0x00,               //   [1] MinVersion INT16 = 0
        0x00, 0x03,               //   [1] MaxVersion INT16 = 3
                                  // (no ThrottleTimeMs before v1)
    };
    kp::ApiVersionsResponse resp;
    resp.api_keys = {{0, 0, 9, {}}, {18, 0, 3, {}}};
    expect_response_encodes(resp, 0, 1, golden);

    const auto got = decode_response_frame<kp::ApiVersionsResponse>(golden, 0, 1);
    EXPECT_EQ(got.error_code, 0);
    ASSERT_EQ(got.api_keys.size(), 2u);
    EXPECT_EQ(got.api_keys[0].api_key, 0);
    EXPECT_EQ(got.api_keys[0].max_version, 9);
    EXPECT_EQ(got.api_keys[1].api_key, 18);
    EXPECT_EQ(got.api_keys[1].min_version, 0);
    EXPECT_EQ(got.api_keys[1].max_version, 3);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenApiVersions, ResponseV3WithTaggedFeatures) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x50,   // size INT32 = 80
        0x00, 0x00, 0x00, 0x02,   // correlation_id INT32 = 2 (response header v0: NO tag buffer)
        0x00, 0x00,               // ErrorCode INT16 = 0
        0x03,                     // ApiKeys COMPACT_ARRAY n+1 = 3
        0x00, 0x00,               //   [0] ApiKey INT16 = 0
        0x00, 0x00,               //   [0] MinVersion INT16 = 0
        0x00, 0x0b,               //   [0] MaxVersion INT16 = 11
        0x00,                     //   [0] TAG_BUFFER: 0
        0x00, 0x12,               //   [1] ApiKey INT16 = 18
        0x00, 0x00,               //   [1] MinVersion INT16 = 0
        0x00, 0x04,               //   [1] MaxVersion INT16 = 4
        0x00,                     //   [1] TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,   // ThrottleTimeMs INT32 = 0
        0x03,                     // TAG_BUFFER: 3 fields
        0x00, 0x14,               //   tag 0 SupportedFeatures, size 20
        0x02,                     //     COMPACT_ARRAY n+1 = 2
        0x0e, 'k', 'r', 'a', 'f', 't', '.', 'v', 'e', 'r', 's', 'i', 'o', 'n',
                                  //     [0] Name COMPACT_STRING = "kraft.version"
        0x00, 0x01,               //     [0] MinVersion INT16 = 1
        0x00, 0x02,               //     [0] MaxVersion INT16 = 2
        0x00,                     //     [0] TAG_BUFFER: 0
        0x01, 0x08,               //   tag 1 FinalizedFeaturesEpoch, size 8
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // INT64 = 5
        0x02, 0x14,               //   tag 2 FinalizedFeatures, size 20
        0x02,                     //     COMPACT_ARRAY n+1 = 2
        0x0e, 'k', 'r', 'a', 'f', 't', '.', 'v', 'e', 'r', 's', 'i', 'o', 'n',
                                  //     [0] Name COMPACT_STRING = "kraft.version"
        0x00, 0x02,               //     [0] MaxVersionLevel INT16 = 2 (max before min!)
        0x00, 0x01,               //     [0] MinVersionLevel INT16 = 1
        0x00,                     //     [0] TAG_BUFFER: 0
                                  //   (tag 3 ZkMigrationReady = default false: omitted)
    };
    kp::ApiVersionsResponse resp;
    resp.api_keys = {{0, 0, 11, {}}, {18, 0, 4, {}}};
    resp.supported_features = {{"kraft.version", 1, 2, {}}};
    resp.finalized_features_epoch = 5;
    resp.finalized_features = {{"kraft.version", 2, 1, {}}};
    expect_response_encodes(resp, 3, 2, golden);

    const auto got = decode_response_frame<kp::ApiVersionsResponse>(golden, 3, 2);
    ASSERT_EQ(got.api_keys.size(), 2u);
    EXPECT_EQ(got.api_keys[1].max_version, 4);
    ASSERT_EQ(got.supported_features.size(), 1u);
    EXPECT_EQ(got.supported_features[0].name, "kraft.version");
    EXPECT_EQ(got.supported_features[0].min_version, 1);
    EXPECT_EQ(got.supported_features[0].max_version, 2);
    EXPECT_EQ(got.finalized_features_epoch, 5);
    ASSERT_EQ(got.finalized_features.size(), 1u);
    EXPECT_EQ(got.finalized_features[0].max_version_level, 2);
    EXPECT_EQ(got.finalized_features[0].min_version_level, 1);
    EXPECT_FALSE(got.zk_migration_ready);
    EXPECT_TRUE(got.unknown_tagged_fields.empty());
    EXPECT_TRUE(got == resp);
}

TEST(GoldenApiVersions, ResponseV3UnknownTagIsKeptAndReEmitted) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x1a,   // size INT32 = 26
        0x00, 0x00, 0x00, 0x03,   // correlation_id INT32 = 3
        0x00, 0x00,               // ErrorCode INT16 = 0
        0x01,                     // ApiKeys COMPACT_ARRAY n+1 = 1 (empty)
        0x00, 0x00, 0x00, 0x00,   // ThrottleTimeMs INT32 = 0
        0x02,                     // TAG_BUFFER: 2 fields
        0x01, 0x08,               //   tag 1 FinalizedFeaturesEpoch (known), size 8
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // INT64 = 7
        0x09, 0x02, 0xab, 0xcd,   //   tag 9 (unknown to the schema), size 2
    };
    const auto got = decode_response_frame<kp::ApiVersionsResponse>(golden, 3, 3);
    EXPECT_EQ(got.finalized_features_epoch, 7);
    ASSERT_EQ(got.unknown_tagged_fields.unknown.size(), 1u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].tag, 9u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].data, (byte_vec{0xab, 0xcd}));
    expect_response_encodes(got, 3, 3, golden);
}

// =============================================================================================
// Metadata (key 3): v1 non-flexible, v9 first flexible.

TEST(GoldenMetadata, RequestV1) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x1a,       // size INT32 = 26
        0x00, 0x03,                   // api_key INT16 = 3
        0x00, 0x01,                   // api_version INT16 = 1
        0x00, 0x00, 0x00, 0x03,       // correlation_id INT32 = 3
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00, 0x00, 0x00, 0x02,       // Topics ARRAY count = 2
        0x00, 0x03, 'f', 'o', 'o',    //   [0] Name STRING = "foo"
        0x00, 0x03, 'b', 'a', 'r',    //   [1] Name STRING = "bar"
    };
    kp::MetadataRequest req;
    req.topics = std::vector<kp::MetadataRequest::MetadataRequestTopic>{{{}, "foo", {}}, {{}, "bar", {}}};
    expect_request_encodes(req, 1, 3, "kw", golden);

    const auto got = decode_request_frame<kp::MetadataRequest>(golden, 1, 3, "kw");
    ASSERT_TRUE(got.topics.has_value());
    ASSERT_EQ(got.topics->size(), 2u);
    EXPECT_EQ((*got.topics)[0].name, "foo");
    EXPECT_EQ((*got.topics)[1].name, "bar");
    EXPECT_TRUE(got == req);
}

TEST(GoldenMetadata, RequestV1AllTopics) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x10,       // size INT32 = 16
        0x00, 0x03,                   // api_key INT16 = 3
        0x00, 0x01,                   // api_version INT16 = 1
        0x00, 0x00, 0x00, 0x04,       // correlation_id INT32 = 4
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0xff, 0xff, 0xff, 0xff,       // Topics ARRAY = null (all topics)
    };
    kp::MetadataRequest req;
    req.topics.reset();
    expect_request_encodes(req, 1, 4, "kw", golden);

    const auto got = decode_request_frame<kp::MetadataRequest>(golden, 1, 4, "kw");
    EXPECT_FALSE(got.topics.has_value());
}

TEST(GoldenMetadata, RequestV9) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x17,       // size INT32 = 23
        0x00, 0x03,                   // api_key INT16 = 3
        0x00, 0x09,                   // api_version INT16 = 9
        0x00, 0x00, 0x00, 0x05,       // correlation_id INT32 = 5
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   [0] Name COMPACT_STRING = "foo"
        0x00,                         //   [0] TAG_BUFFER: 0
        0x00,                         // AllowAutoTopicCreation BOOLEAN = false
        0x01,                         // IncludeClusterAuthorizedOperations BOOLEAN = true (v8-10)
        0x00,                         // IncludeTopicAuthorizedOperations BOOLEAN = false
        0x00,                         // TAG_BUFFER: 0
    };
    kp::MetadataRequest req;
    req.topics = std::vector<kp::MetadataRequest::MetadataRequestTopic>{{{}, "foo", {}}};
    req.allow_auto_topic_creation = false;
    req.include_cluster_authorized_operations = true;
    req.include_topic_authorized_operations = false;
    expect_request_encodes(req, 9, 5, "kw", golden);

    const auto got = decode_request_frame<kp::MetadataRequest>(golden, 9, 5, "kw");
    ASSERT_TRUE(got.topics.has_value());
    ASSERT_EQ(got.topics->size(), 1u);
    EXPECT_EQ((*got.topics)[0].name, "foo");
    EXPECT_FALSE(got.allow_auto_topic_creation);
    EXPECT_TRUE(got.include_cluster_authorized_operations);
    EXPECT_FALSE(got.include_topic_authorized_operations);
    EXPECT_TRUE(got == req);
}

TEST(GoldenMetadata, ResponseV1) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x44,       // size INT32 = 68
        0x00, 0x00, 0x00, 0x03,       // correlation_id INT32 = 3
                                      // (no ThrottleTimeMs before v3)
        0x00, 0x00, 0x00, 0x01,       // Brokers ARRAY count = 1
        0x00, 0x00, 0x00, 0x01,       //   NodeId INT32 = 1
        0x00, 0x02, 'h', '1',         //   Host STRING = "h1"
        0x00, 0x00, 0x23, 0x84,       //   Port INT32 = 9092
        0xff, 0xff,                   //   Rack NULLABLE_STRING = null
                                      // (no ClusterId before v2)
        0x00, 0x00, 0x00, 0x01,       // ControllerId INT32 = 1
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x00,                   //   ErrorCode INT16 = 0
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00,                         //   IsInternal BOOLEAN = false
        0x00, 0x00, 0x00, 0x01,       //   Partitions ARRAY count = 1
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00, 0x00, 0x01,       //     LeaderId INT32 = 1
        0x00, 0x00, 0x00, 0x01,       //     ReplicaNodes ARRAY count = 1
        0x00, 0x00, 0x00, 0x01,       //       INT32 = 1
        0x00, 0x00, 0x00, 0x01,       //     IsrNodes ARRAY count = 1
        0x00, 0x00, 0x00, 0x01,       //       INT32 = 1
    };
    kp::MetadataResponse resp;
    kp::MetadataResponse::MetadataResponseBroker b;
    b.node_id = 1;
    b.host = "h1";
    b.port = 9092;
    resp.brokers = {b};
    resp.controller_id = 1;
    kp::MetadataResponse::MetadataResponsePartition p;
    p.partition_index = 0;
    p.leader_id = 1;
    p.replica_nodes = {1};
    p.isr_nodes = {1};
    kp::MetadataResponse::MetadataResponseTopic t;
    t.name = "foo";
    t.partitions = {p};
    resp.topics = {t};
    expect_response_encodes(resp, 1, 3, golden);

    const auto got = decode_response_frame<kp::MetadataResponse>(golden, 1, 3);
    ASSERT_EQ(got.brokers.size(), 1u);
    EXPECT_EQ(got.brokers[0].node_id, 1);
    EXPECT_EQ(got.brokers[0].host, "h1");
    EXPECT_EQ(got.brokers[0].port, 9092);
    EXPECT_FALSE(got.brokers[0].rack.has_value());
    EXPECT_EQ(got.controller_id, 1);
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].name, "foo");
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].leader_id, 1);
    EXPECT_EQ(got.topics[0].partitions[0].replica_nodes, (std::vector<std::int32_t>{1}));
    EXPECT_EQ(got.topics[0].partitions[0].isr_nodes, (std::vector<std::int32_t>{1}));
    EXPECT_TRUE(got == resp);
}

kp::MetadataResponse metadata_v9_response() {
    kp::MetadataResponse resp;
    kp::MetadataResponse::MetadataResponseBroker b;
    b.node_id = 1;
    b.host = "h1";
    b.port = 9092;
    b.rack = "r1";
    resp.brokers = {b};
    resp.cluster_id = "c1";
    resp.controller_id = 1;
    kp::MetadataResponse::MetadataResponsePartition p;
    p.partition_index = 0;
    p.leader_id = 1;
    p.leader_epoch = 5;
    p.replica_nodes = {1};
    p.isr_nodes = {1};
    kp::MetadataResponse::MetadataResponseTopic t;
    t.name = "foo";
    t.partitions = {p};
    t.topic_authorized_operations = 0x0ff8;
    resp.topics = {t};
    return resp;
}

TEST(GoldenMetadata, ResponseV9) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x4d,       // size INT32 = 77
        0x00, 0x00, 0x00, 0x05,       // correlation_id INT32 = 5
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x02,                         // Brokers COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x01,       //   NodeId INT32 = 1
        0x03, 'h', '1',               //   Host COMPACT_STRING = "h1"
        0x00, 0x00, 0x23, 0x84,       //   Port INT32 = 9092
        0x03, 'r', '1',               //   Rack COMPACT_NULLABLE_STRING = "r1"
        0x00,                         //   TAG_BUFFER: 0
        0x03, 'c', '1',               // ClusterId COMPACT_NULLABLE_STRING = "c1"
        0x00, 0x00, 0x00, 0x01,       // ControllerId INT32 = 1
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x00, 0x00,                   //   ErrorCode INT16 = 0
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x00,                         //   IsInternal BOOLEAN = false
        0x02,                         //   Partitions COMPACT_ARRAY n+1 = 2
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00, 0x00, 0x01,       //     LeaderId INT32 = 1
        0x00, 0x00, 0x00, 0x05,       //     LeaderEpoch INT32 = 5 (v7+)
        0x02, 0x00, 0x00, 0x00, 0x01, //     ReplicaNodes COMPACT_ARRAY [1]
        0x02, 0x00, 0x00, 0x00, 0x01, //     IsrNodes COMPACT_ARRAY [1]
        0x01,                         //     OfflineReplicas COMPACT_ARRAY [] (v5+)
        0x00,                         //     TAG_BUFFER: 0
        0x00, 0x00, 0x0f, 0xf8,       //   TopicAuthorizedOperations INT32 = 0x0ff8 (v8+)
        0x00,                         //   TAG_BUFFER: 0
        0x80, 0x00, 0x00, 0x00,       // ClusterAuthorizedOperations INT32 = INT32_MIN (v8-10)
        0x00,                         // TAG_BUFFER: 0
    };
    const auto resp = metadata_v9_response();
    expect_response_encodes(resp, 9, 5, golden);

    const auto got = decode_response_frame<kp::MetadataResponse>(golden, 9, 5);
    ASSERT_EQ(got.brokers.size(), 1u);
    EXPECT_EQ(got.brokers[0].rack, std::optional<std::string>("r1"));
    EXPECT_EQ(got.cluster_id, std::optional<std::string>("c1"));
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].topic_authorized_operations, 0x0ff8);
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].leader_epoch, 5);
    EXPECT_TRUE(got.topics[0].partitions[0].offline_replicas.empty());
    EXPECT_EQ(got.cluster_authorized_operations, INT32_MIN);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenMetadata, ResponseV9UnknownTagsAreKeptAndReEmitted) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x2f,       // size INT32 = 47
        0x00, 0x00, 0x00, 0x06,       // correlation_id INT32 = 6
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x02,                         // Brokers COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x02,       //   NodeId INT32 = 2
        0x03, 'h', '2',               //   Host COMPACT_STRING = "h2"
        0x00, 0x00, 0x23, 0x84,       //   Port INT32 = 9092
        0x00,                         //   Rack COMPACT_NULLABLE_STRING = null
        0x01,                         //   TAG_BUFFER: 1 field
        0x05, 0x02, 0xbe, 0xef,       //     tag 5 (unknown), size 2
        0x00,                         // ClusterId COMPACT_NULLABLE_STRING = null
        0x00, 0x00, 0x00, 0x02,       // ControllerId INT32 = 2
        0x01,                         // Topics COMPACT_ARRAY n+1 = 1 (empty)
        0x80, 0x00, 0x00, 0x00,       // ClusterAuthorizedOperations INT32 = INT32_MIN
        0x02,                         // TAG_BUFFER: 2 fields
        0x04, 0x01, 0x2a,             //   tag 4 (unknown), size 1
        0xc8, 0x01, 0x03, 'a', 'b', 'c',  //   tag 200 (UNSIGNED_VARINT c8 01, unknown), size 3
    };
    const auto got = decode_response_frame<kp::MetadataResponse>(golden, 9, 6);
    ASSERT_EQ(got.brokers.size(), 1u);
    EXPECT_EQ(got.brokers[0].node_id, 2);
    EXPECT_FALSE(got.brokers[0].rack.has_value());
    ASSERT_EQ(got.brokers[0].unknown_tagged_fields.unknown.size(), 1u);
    EXPECT_EQ(got.brokers[0].unknown_tagged_fields.unknown[0].tag, 5u);
    EXPECT_EQ(got.brokers[0].unknown_tagged_fields.unknown[0].data, (byte_vec{0xbe, 0xef}));
    EXPECT_FALSE(got.cluster_id.has_value());
    ASSERT_EQ(got.unknown_tagged_fields.unknown.size(), 2u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].tag, 4u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].data, (byte_vec{0x2a}));
    EXPECT_EQ(got.unknown_tagged_fields.unknown[1].tag, 200u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[1].data, (byte_vec{'a', 'b', 'c'}));
    expect_response_encodes(got, 9, 6, golden);
}

// =============================================================================================
// Produce (key 0): v3 non-flexible (adds TransactionalId), v9 first flexible.

TEST(GoldenProduce, RequestV3) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x2d,       // size INT32 = 45
        0x00, 0x00,                   // api_key INT16 = 0
        0x00, 0x03,                   // api_version INT16 = 3
        0x00, 0x00, 0x00, 0x07,       // correlation_id INT32 = 7
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0xff, 0xff,                   // TransactionalId NULLABLE_STRING = null
        0xff, 0xff,                   // Acks INT16 = -1
        0x00, 0x00, 0x75, 0x30,       // TimeoutMs INT32 = 30000
        0x00, 0x00, 0x00, 0x01,       // TopicData ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   PartitionData ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     Index INT32 = 0
        0x00, 0x00, 0x00, 0x04,       //     Records RECORDS (NULLABLE_BYTES) length = 4
        0xde, 0xad, 0xbe, 0xef,       //       (opaque record bytes)
    };
    kp::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    kp::ProduceRequest::PartitionProduceData pd;
    pd.index = 0;
    pd.records = kp::bytes_view(records4);
    kp::ProduceRequest::TopicProduceData td;
    td.name = "foo";
    td.partition_data = {pd};
    req.topic_data = {td};
    expect_request_encodes(req, 3, 7, "kw", golden);

    const auto got = decode_request_frame<kp::ProduceRequest>(golden, 3, 7, "kw");
    EXPECT_FALSE(got.transactional_id.has_value());
    EXPECT_EQ(got.acks, -1);
    EXPECT_EQ(got.timeout_ms, 30000);
    ASSERT_EQ(got.topic_data.size(), 1u);
    EXPECT_EQ(got.topic_data[0].name, "foo");
    ASSERT_EQ(got.topic_data[0].partition_data.size(), 1u);
    EXPECT_EQ(got.topic_data[0].partition_data[0].index, 0);
    EXPECT_EQ(to_vec(got.topic_data[0].partition_data[0].records), records4);
    EXPECT_TRUE(got == req);
}

TEST(GoldenProduce, RequestV9) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x28,       // size INT32 = 40
        0x00, 0x00,                   // api_key INT16 = 0
        0x00, 0x09,                   // api_version INT16 = 9
        0x00, 0x00, 0x00, 0x08,       // correlation_id INT32 = 8
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0x03, 't', 'x',               // TransactionalId COMPACT_NULLABLE_STRING = "tx"
        0x00, 0x01,                   // Acks INT16 = 1
        0x00, 0x00, 0x03, 0xe8,       // TimeoutMs INT32 = 1000
        0x02,                         // TopicData COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x02,                         //   PartitionData COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x01,       //     Index INT32 = 1
        0x05, 0xde, 0xad, 0xbe, 0xef, //     Records COMPACT_RECORDS length+1 = 5
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    kp::ProduceRequest req;
    req.transactional_id = "tx";
    req.acks = 1;
    req.timeout_ms = 1000;
    kp::ProduceRequest::PartitionProduceData pd;
    pd.index = 1;
    pd.records = kp::bytes_view(records4);
    kp::ProduceRequest::TopicProduceData td;
    td.name = "foo";
    td.partition_data = {pd};
    req.topic_data = {td};
    expect_request_encodes(req, 9, 8, "kw", golden);

    const auto got = decode_request_frame<kp::ProduceRequest>(golden, 9, 8, "kw");
    EXPECT_EQ(got.transactional_id, std::optional<std::string>("tx"));
    EXPECT_EQ(got.acks, 1);
    EXPECT_EQ(got.timeout_ms, 1000);
    ASSERT_EQ(got.topic_data.size(), 1u);
    ASSERT_EQ(got.topic_data[0].partition_data.size(), 1u);
    EXPECT_EQ(got.topic_data[0].partition_data[0].index, 1);
    EXPECT_EQ(to_vec(got.topic_data[0].partition_data[0].records), records4);
    EXPECT_TRUE(got == req);
}

TEST(GoldenProduce, ResponseV3) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x2b,       // size INT32 = 43
        0x00, 0x00, 0x00, 0x07,       // correlation_id INT32 = 7
        0x00, 0x00, 0x00, 0x01,       // Responses ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   PartitionResponses ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     Index INT32 = 0
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,  // BaseOffset INT64 = 42
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // LogAppendTimeMs INT64 = -1 (v2+)
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0 (v1+)
    };
    kp::ProduceResponse resp;
    kp::ProduceResponse::PartitionProduceResponse pr;
    pr.index = 0;
    pr.base_offset = 42;
    pr.log_append_time_ms = -1;
    kp::ProduceResponse::TopicProduceResponse tr;
    tr.name = "foo";
    tr.partition_responses = {pr};
    resp.responses = {tr};
    expect_response_encodes(resp, 3, 7, golden);

    const auto got = decode_response_frame<kp::ProduceResponse>(golden, 3, 7);
    ASSERT_EQ(got.responses.size(), 1u);
    EXPECT_EQ(got.responses[0].name, "foo");
    ASSERT_EQ(got.responses[0].partition_responses.size(), 1u);
    EXPECT_EQ(got.responses[0].partition_responses[0].base_offset, 42);
    EXPECT_EQ(got.responses[0].partition_responses[0].log_append_time_ms, -1);
    EXPECT_EQ(got.throttle_time_ms, 0);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenProduce, ResponseV9) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x3c,       // size INT32 = 60
        0x00, 0x00, 0x00, 0x08,       // correlation_id INT32 = 8
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x02,                         // Responses COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x02,                         //   PartitionResponses COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x01,       //     Index INT32 = 1
        0x00, 0x57,                   //     ErrorCode INT16 = 87 (INVALID_RECORD)
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // BaseOffset INT64 = -1
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // LogAppendTimeMs INT64 = -1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LogStartOffset INT64 = 0 (v5+)
        0x02,                         //     RecordErrors COMPACT_ARRAY n+1 = 2 (v8+)
        0x00, 0x00, 0x00, 0x03,       //       BatchIndex INT32 = 3
        0x04, 'b', 'a', 'd',          //       BatchIndexErrorMessage COMPACT_NULLABLE_STRING = "bad"
        0x00,                         //       TAG_BUFFER: 0
        0x02, 'x',                    //     ErrorMessage COMPACT_NULLABLE_STRING = "x" (v8+)
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x0a,       // ThrottleTimeMs INT32 = 10
        0x00,                         // TAG_BUFFER: 0
    };
    kp::ProduceResponse resp;
    kp::ProduceResponse::PartitionProduceResponse pr;
    pr.index = 1;
    pr.error_code = 87;
    pr.base_offset = -1;
    pr.log_append_time_ms = -1;
    pr.log_start_offset = 0;
    pr.record_errors = {{3, "bad", {}}};
    pr.error_message = "x";
    kp::ProduceResponse::TopicProduceResponse tr;
    tr.name = "foo";
    tr.partition_responses = {pr};
    resp.responses = {tr};
    resp.throttle_time_ms = 10;
    expect_response_encodes(resp, 9, 8, golden);

    const auto got = decode_response_frame<kp::ProduceResponse>(golden, 9, 8);
    ASSERT_EQ(got.responses.size(), 1u);
    ASSERT_EQ(got.responses[0].partition_responses.size(), 1u);
    const auto& gp = got.responses[0].partition_responses[0];
    EXPECT_EQ(gp.index, 1);
    EXPECT_EQ(gp.error_code, 87);
    EXPECT_EQ(gp.base_offset, -1);
    EXPECT_EQ(gp.log_start_offset, 0);
    ASSERT_EQ(gp.record_errors.size(), 1u);
    EXPECT_EQ(gp.record_errors[0].batch_index, 3);
    EXPECT_EQ(gp.record_errors[0].batch_index_error_message, std::optional<std::string>("bad"));
    EXPECT_EQ(gp.error_message, std::optional<std::string>("x"));
    EXPECT_EQ(got.throttle_time_ms, 10);
    EXPECT_TRUE(got == resp);
}

// =============================================================================================
// Fetch (key 1): v4 non-flexible (IsolationLevel), v12 first flexible (ClusterId tag 0).

TEST(GoldenFetch, RequestV4) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x3a,       // size INT32 = 58
        0x00, 0x01,                   // api_key INT16 = 1
        0x00, 0x04,                   // api_version INT16 = 4
        0x00, 0x00, 0x00, 0x09,       // correlation_id INT32 = 9
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0xff, 0xff, 0xff, 0xff,       // ReplicaId INT32 = -1
        0x00, 0x00, 0x01, 0xf4,       // MaxWaitMs INT32 = 500
        0x00, 0x00, 0x00, 0x01,       // MinBytes INT32 = 1
        0x00, 0x10, 0x00, 0x00,       // MaxBytes INT32 = 1048576 (v3+)
        0x01,                         // IsolationLevel INT8 = 1 (v4+)
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Topic STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   Partitions ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     Partition INT32 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,  // FetchOffset INT64 = 10
        0x00, 0x10, 0x00, 0x00,       //     PartitionMaxBytes INT32 = 1048576
    };
    kp::FetchRequest req;
    req.replica_id = -1;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1048576;
    req.isolation_level = 1;
    kp::FetchRequest::FetchPartition fp;
    fp.partition = 0;
    fp.fetch_offset = 10;
    fp.partition_max_bytes = 1048576;
    kp::FetchRequest::FetchTopic ft;
    ft.topic = "foo";
    ft.partitions = {fp};
    req.topics = {ft};
    expect_request_encodes(req, 4, 9, "kw", golden);

    const auto got = decode_request_frame<kp::FetchRequest>(golden, 4, 9, "kw");
    EXPECT_EQ(got.replica_id, -1);
    EXPECT_EQ(got.max_wait_ms, 500);
    EXPECT_EQ(got.max_bytes, 1048576);
    EXPECT_EQ(got.isolation_level, 1);
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].topic, "foo");
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].fetch_offset, 10);
    EXPECT_EQ(got.topics[0].partitions[0].partition_max_bytes, 1048576);
    EXPECT_TRUE(got == req);
}

TEST(GoldenFetch, RequestV12WithClusterIdTag) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x57,       // size INT32 = 87
        0x00, 0x01,                   // api_key INT16 = 1
        0x00, 0x0c,                   // api_version INT16 = 12
        0x00, 0x00, 0x00, 0x0a,       // correlation_id INT32 = 10
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0xff, 0xff, 0xff, 0xff,       // ReplicaId INT32 = -1
        0x00, 0x00, 0x01, 0xf4,       // MaxWaitMs INT32 = 500
        0x00, 0x00, 0x00, 0x01,       // MinBytes INT32 = 1
        0x00, 0x10, 0x00, 0x00,       // MaxBytes INT32 = 1048576
        0x00,                         // IsolationLevel INT8 = 0
        0x00, 0x00, 0x00, 0x00,       // SessionId INT32 = 0 (v7+)
        0xff, 0xff, 0xff, 0xff,       // SessionEpoch INT32 = -1 (v7+)
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Topic COMPACT_STRING = "foo"
        0x02,                         //   Partitions COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x00,       //     Partition INT32 = 0
        0x00, 0x00, 0x00, 0x03,       //     CurrentLeaderEpoch INT32 = 3 (v9+)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,  // FetchOffset INT64 = 10
        0x00, 0x00, 0x00, 0x02,       //     LastFetchedEpoch INT32 = 2 (v12+)
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // LogStartOffset INT64 = -1 (v5+)
        0x00, 0x10, 0x00, 0x00,       //     PartitionMaxBytes INT32 = 1048576
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x01,                         // ForgottenTopicsData COMPACT_ARRAY n+1 = 1 (empty, v7+)
        0x01,                         // RackId COMPACT_STRING = "" (v11+)
        0x01,                         // TAG_BUFFER: 1 field
        0x00, 0x04,                   //   tag 0 ClusterId, size 4
        0x04, 'a', 'b', 'c',          //     COMPACT_NULLABLE_STRING = "abc"
    };
    kp::FetchRequest req;
    req.cluster_id = "abc";
    req.replica_id = -1;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1048576;
    req.isolation_level = 0;
    req.session_id = 0;
    req.session_epoch = -1;
    kp::FetchRequest::FetchPartition fp;
    fp.partition = 0;
    fp.current_leader_epoch = 3;
    fp.fetch_offset = 10;
    fp.last_fetched_epoch = 2;
    fp.log_start_offset = -1;
    fp.partition_max_bytes = 1048576;
    kp::FetchRequest::FetchTopic ft;
    ft.topic = "foo";
    ft.partitions = {fp};
    req.topics = {ft};
    req.rack_id = "";
    expect_request_encodes(req, 12, 10, "kw", golden);

    const auto got = decode_request_frame<kp::FetchRequest>(golden, 12, 10, "kw");
    EXPECT_EQ(got.cluster_id, std::optional<std::string>("abc"));
    EXPECT_TRUE(got.unknown_tagged_fields.empty());
    EXPECT_EQ(got.session_epoch, -1);
    ASSERT_EQ(got.topics.size(), 1u);
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].current_leader_epoch, 3);
    EXPECT_EQ(got.topics[0].partitions[0].last_fetched_epoch, 2);
    EXPECT_EQ(got.topics[0].partitions[0].log_start_offset, -1);
    EXPECT_TRUE(got.forgotten_topics_data.empty());
    EXPECT_EQ(got.rack_id, "");
    EXPECT_TRUE(got == req);

    // Without a cluster id the tag is omitted: the section shrinks to a single 0x00.
    req.cluster_id.reset();
    byte_vec out;
    ASSERT_FALSE(kp::encode_request(out, req, 12, 10, "kw"));
    byte_vec want(golden.begin(), golden.end() - 7);  // drop count, tag, size, 4-byte payload
    want.push_back(0x00);                               // TAG_BUFFER: 0
    want[3] = static_cast<std::uint8_t>(want.size() - 4);
    EXPECT_TRUE(same_bytes(out, want));
}

TEST(GoldenFetch, RequestV12KnownAndUnknownTagsRoundTrip) {
    // Tag 1 is ReplicaState, which only exists from v15: at v12 it is an unknown tag and must
    // come back out byte for byte, after the known tag 0.
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x32,       // size INT32 = 50
        0x00, 0x01,                   // api_key INT16 = 1
        0x00, 0x0c,                   // api_version INT16 = 12
        0x00, 0x00, 0x00, 0x0b,       // correlation_id INT32 = 11
        0xff, 0xff,                   // client_id NULLABLE_STRING = null
        0x00,                         // header TAG_BUFFER: 0
        0xff, 0xff, 0xff, 0xff,       // ReplicaId INT32 = -1
        0x00, 0x00, 0x00, 0x00,       // MaxWaitMs INT32 = 0
        0x00, 0x00, 0x00, 0x00,       // MinBytes INT32 = 0
        0x7f, 0xff, 0xff, 0xff,       // MaxBytes INT32 = INT32_MAX
        0x00,                         // IsolationLevel INT8 = 0
        0x00, 0x00, 0x00, 0x00,       // SessionId INT32 = 0
        0xff, 0xff, 0xff, 0xff,       // SessionEpoch INT32 = -1
        0x01,                         // Topics COMPACT_ARRAY (empty)
        0x01,                         // ForgottenTopicsData COMPACT_ARRAY (empty)
        0x01,                         // RackId COMPACT_STRING = ""
        0x02,                         // TAG_BUFFER: 2 fields
        0x00, 0x04,                   //   tag 0 ClusterId, size 4
        0x04, 'a', 'b', 'c',          //     COMPACT_NULLABLE_STRING = "abc"
        0x01, 0x02, 0xca, 0xfe,       //   tag 1 (unknown at v12), size 2
    };
    const auto got = decode_request_frame<kp::FetchRequest>(golden, 12, 11, std::nullopt);
    EXPECT_EQ(got.cluster_id, std::optional<std::string>("abc"));
    EXPECT_EQ(got.max_bytes, INT32_MAX);
    ASSERT_EQ(got.unknown_tagged_fields.unknown.size(), 1u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].tag, 1u);
    EXPECT_EQ(got.unknown_tagged_fields.unknown[0].data, (byte_vec{0xca, 0xfe}));
    expect_request_encodes(got, 12, 11, std::nullopt, golden);
}

TEST(GoldenFetch, ResponseV4) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x45,       // size INT32 = 69
        0x00, 0x00, 0x00, 0x09,       // correlation_id INT32 = 9
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0 (v1+)
        0x00, 0x00, 0x00, 0x01,       // Responses ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Topic STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   Partitions ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // HighWatermark INT64 = 100
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a,  // LastStableOffset INT64 = 90 (v4+)
        0x00, 0x00, 0x00, 0x01,       //     AbortedTransactions ARRAY count = 1 (v4+)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  //   ProducerId INT64 = 1000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50,  //   FirstOffset INT64 = 80
        0x00, 0x00, 0x00, 0x02,       //     Records RECORDS length = 2
        0xab, 0xcd,                   //       (opaque record bytes)
    };
    const byte_vec records = {0xab, 0xcd};
    kp::FetchResponse resp;
    kp::FetchResponse::PartitionData pd;
    pd.partition_index = 0;
    pd.high_watermark = 100;
    pd.last_stable_offset = 90;
    pd.aborted_transactions = std::vector<kp::FetchResponse::AbortedTransaction>{{1000, 80, {}}};
    pd.records = kp::bytes_view(records);
    kp::FetchResponse::FetchableTopicResponse tr;
    tr.topic = "foo";
    tr.partitions = {pd};
    resp.responses = {tr};
    expect_response_encodes(resp, 4, 9, golden);

    const auto got = decode_response_frame<kp::FetchResponse>(golden, 4, 9);
    ASSERT_EQ(got.responses.size(), 1u);
    ASSERT_EQ(got.responses[0].partitions.size(), 1u);
    const auto& gp = got.responses[0].partitions[0];
    EXPECT_EQ(gp.high_watermark, 100);
    EXPECT_EQ(gp.last_stable_offset, 90);
    ASSERT_TRUE(gp.aborted_transactions.has_value());
    ASSERT_EQ(gp.aborted_transactions->size(), 1u);
    EXPECT_EQ((*gp.aborted_transactions)[0].producer_id, 1000);
    EXPECT_EQ((*gp.aborted_transactions)[0].first_offset, 80);
    EXPECT_EQ(to_vec(gp.records), records);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenFetch, ResponseV12WithCurrentLeaderTag) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x4a,       // size INT32 = 74
        0x00, 0x00, 0x00, 0x0a,       // correlation_id INT32 = 10
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x00, 0x00,                   // ErrorCode INT16 = 0 (v7+)
        0x00, 0x00, 0x00, 0x00,       // SessionId INT32 = 0 (v7+)
        0x02,                         // Responses COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Topic COMPACT_STRING = "foo"
        0x02,                         //   Partitions COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,  // HighWatermark INT64 = 20
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,  // LastStableOffset INT64 = 20
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LogStartOffset INT64 = 0
        0x00,                         //     AbortedTransactions COMPACT_ARRAY = null
        0xff, 0xff, 0xff, 0xff,       //     PreferredReadReplica INT32 = -1 (v11+)
        0x04, 0x01, 0x02, 0x03,       //     Records COMPACT_RECORDS length+1 = 4
        0x01,                         //     TAG_BUFFER: 1 field
        0x01, 0x09,                   //       tag 1 CurrentLeader, size 9
        0x00, 0x00, 0x00, 0x02,       //         LeaderId INT32 = 2
        0x00, 0x00, 0x00, 0x07,       //         LeaderEpoch INT32 = 7
        0x00,                         //         TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    const byte_vec records = {0x01, 0x02, 0x03};
    kp::FetchResponse resp;
    kp::FetchResponse::PartitionData pd;
    pd.partition_index = 0;
    pd.high_watermark = 20;
    pd.last_stable_offset = 20;
    pd.log_start_offset = 0;
    pd.aborted_transactions.reset();
    pd.preferred_read_replica = -1;
    pd.records = kp::bytes_view(records);
    pd.current_leader.leader_id = 2;
    pd.current_leader.leader_epoch = 7;
    kp::FetchResponse::FetchableTopicResponse tr;
    tr.topic = "foo";
    tr.partitions = {pd};
    resp.responses = {tr};
    expect_response_encodes(resp, 12, 10, golden);

    const auto got = decode_response_frame<kp::FetchResponse>(golden, 12, 10);
    ASSERT_EQ(got.responses.size(), 1u);
    ASSERT_EQ(got.responses[0].partitions.size(), 1u);
    const auto& gp = got.responses[0].partitions[0];
    EXPECT_EQ(gp.current_leader.leader_id, 2);
    EXPECT_EQ(gp.current_leader.leader_epoch, 7);
    EXPECT_EQ(gp.diverging_epoch.epoch, -1);   // tag 0 absent: default
    EXPECT_EQ(gp.snapshot_id.end_offset, -1);  // tag 2 absent: default
    EXPECT_FALSE(gp.aborted_transactions.has_value());
    EXPECT_EQ(to_vec(gp.records), records);
    EXPECT_TRUE(gp.unknown_tagged_fields.empty());
    EXPECT_TRUE(got == resp);
}

// =============================================================================================
// JoinGroup (key 11): v5 non-flexible (GroupInstanceId), v6 first flexible.

TEST(GoldenJoinGroup, RequestV5) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x36,       // size INT32 = 54
        0x00, 0x0b,                   // api_key INT16 = 11
        0x00, 0x05,                   // api_version INT16 = 5
        0x00, 0x00, 0x00, 0x0c,       // correlation_id INT32 = 12
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00, 0x01, 'g',              // GroupId STRING = "g"
        0x00, 0x00, 0x27, 0x10,       // SessionTimeoutMs INT32 = 10000
        0x00, 0x04, 0x93, 0xe0,       // RebalanceTimeoutMs INT32 = 300000 (v1+)
        0x00, 0x00,                   // MemberId STRING = ""
        0xff, 0xff,                   // GroupInstanceId NULLABLE_STRING = null (v5+)
        0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',  // ProtocolType STRING = "consumer"
        0x00, 0x00, 0x00, 0x01,       // Protocols ARRAY count = 1
        0x00, 0x05, 'r', 'a', 'n', 'g', 'e',  // Name STRING = "range"
        0x00, 0x00, 0x00, 0x02,       //   Metadata BYTES length = 2
        0x01, 0x02,
    };
    kp::JoinGroupRequest req;
    req.group_id = "g";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 300000;
    req.member_id = "";
    req.protocol_type = "consumer";
    req.protocols = {{"range", {0x01, 0x02}, {}}};
    expect_request_encodes(req, 5, 12, "kw", golden);

    const auto got = decode_request_frame<kp::JoinGroupRequest>(golden, 5, 12, "kw");
    EXPECT_EQ(got.group_id, "g");
    EXPECT_EQ(got.session_timeout_ms, 10000);
    EXPECT_EQ(got.rebalance_timeout_ms, 300000);
    EXPECT_EQ(got.member_id, "");
    EXPECT_FALSE(got.group_instance_id.has_value());
    EXPECT_EQ(got.protocol_type, "consumer");
    ASSERT_EQ(got.protocols.size(), 1u);
    EXPECT_EQ(got.protocols[0].name, "range");
    EXPECT_EQ(got.protocols[0].metadata, (byte_vec{0x01, 0x02}));
    EXPECT_TRUE(got == req);
}

TEST(GoldenJoinGroup, RequestV6) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x32,       // size INT32 = 50
        0x00, 0x0b,                   // api_key INT16 = 11
        0x00, 0x06,                   // api_version INT16 = 6
        0x00, 0x00, 0x00, 0x0d,       // correlation_id INT32 = 13
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0x02, 'g',                    // GroupId COMPACT_STRING = "g"
        0x00, 0x00, 0x27, 0x10,       // SessionTimeoutMs INT32 = 10000
        0x00, 0x04, 0x93, 0xe0,       // RebalanceTimeoutMs INT32 = 300000
        0x03, 'm', '1',               // MemberId COMPACT_STRING = "m1"
        0x03, 'i', '1',               // GroupInstanceId COMPACT_NULLABLE_STRING = "i1"
        0x09, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',  // ProtocolType COMPACT_STRING = "consumer"
        0x02,                         // Protocols COMPACT_ARRAY n+1 = 2
        0x06, 'r', 'a', 'n', 'g', 'e',  // Name COMPACT_STRING = "range"
        0x03, 0x01, 0x02,             //   Metadata COMPACT_BYTES length+1 = 3
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    kp::JoinGroupRequest req;
    req.group_id = "g";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 300000;
    req.member_id = "m1";
    req.group_instance_id = "i1";
    req.protocol_type = "consumer";
    req.protocols = {{"range", {0x01, 0x02}, {}}};
    expect_request_encodes(req, 6, 13, "kw", golden);

    const auto got = decode_request_frame<kp::JoinGroupRequest>(golden, 6, 13, "kw");
    EXPECT_EQ(got.member_id, "m1");
    EXPECT_EQ(got.group_instance_id, std::optional<std::string>("i1"));
    ASSERT_EQ(got.protocols.size(), 1u);
    EXPECT_EQ(got.protocols[0].metadata, (byte_vec{0x01, 0x02}));
    EXPECT_TRUE(got == req);
}

TEST(GoldenJoinGroup, ResponseV5) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x2d,       // size INT32 = 45
        0x00, 0x00, 0x00, 0x0c,       // correlation_id INT32 = 12
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0 (v2+)
        0x00, 0x00,                   // ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x01,       // GenerationId INT32 = 1
        0x00, 0x05, 'r', 'a', 'n', 'g', 'e',  // ProtocolName STRING = "range"
        0x00, 0x02, 'm', '1',         // Leader STRING = "m1"
        0x00, 0x02, 'm', '1',         // MemberId STRING = "m1"
        0x00, 0x00, 0x00, 0x01,       // Members ARRAY count = 1
        0x00, 0x02, 'm', '1',         //   MemberId STRING = "m1"
        0xff, 0xff,                   //   GroupInstanceId NULLABLE_STRING = null (v5+)
        0x00, 0x00, 0x00, 0x02,       //   Metadata BYTES length = 2
        0x01, 0x02,
    };
    kp::JoinGroupResponse resp;
    resp.generation_id = 1;
    resp.protocol_name = "range";
    resp.leader = "m1";
    resp.member_id = "m1";
    resp.members = {{"m1", std::nullopt, {0x01, 0x02}, {}}};
    expect_response_encodes(resp, 5, 12, golden);

    const auto got = decode_response_frame<kp::JoinGroupResponse>(golden, 5, 12);
    EXPECT_EQ(got.generation_id, 1);
    EXPECT_EQ(got.protocol_name, std::optional<std::string>("range"));
    EXPECT_EQ(got.leader, "m1");
    EXPECT_EQ(got.member_id, "m1");
    ASSERT_EQ(got.members.size(), 1u);
    EXPECT_EQ(got.members[0].member_id, "m1");
    EXPECT_FALSE(got.members[0].group_instance_id.has_value());
    EXPECT_EQ(got.members[0].metadata, (byte_vec{0x01, 0x02}));
    EXPECT_TRUE(got == resp);
}

TEST(GoldenJoinGroup, ResponseV6) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x27,       // size INT32 = 39
        0x00, 0x00, 0x00, 0x0d,       // correlation_id INT32 = 13
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x00, 0x00,                   // ErrorCode INT16 = 0
        0x00, 0x00, 0x00, 0x01,       // GenerationId INT32 = 1
                                      // (no ProtocolType before v7)
        0x06, 'r', 'a', 'n', 'g', 'e',  // ProtocolName COMPACT_STRING = "range"
        0x03, 'm', '1',               // Leader COMPACT_STRING = "m1"
        0x03, 'm', '1',               // MemberId COMPACT_STRING = "m1"
        0x02,                         // Members COMPACT_ARRAY n+1 = 2
        0x03, 'm', '1',               //   MemberId COMPACT_STRING = "m1"
        0x03, 'i', '1',               //   GroupInstanceId COMPACT_NULLABLE_STRING = "i1"
        0x03, 0x01, 0x02,             //   Metadata COMPACT_BYTES length+1 = 3
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    kp::JoinGroupResponse resp;
    resp.generation_id = 1;
    resp.protocol_name = "range";
    resp.leader = "m1";
    resp.member_id = "m1";
    resp.members = {{"m1", "i1", {0x01, 0x02}, {}}};
    expect_response_encodes(resp, 6, 13, golden);

    const auto got = decode_response_frame<kp::JoinGroupResponse>(golden, 6, 13);
    EXPECT_EQ(got.protocol_name, std::optional<std::string>("range"));
    ASSERT_EQ(got.members.size(), 1u);
    EXPECT_EQ(got.members[0].group_instance_id, std::optional<std::string>("i1"));
    EXPECT_TRUE(got == resp);
}

// =============================================================================================
// OffsetCommit (key 8): v2 non-flexible (RetentionTimeMs), v8 first flexible.

TEST(GoldenOffsetCommit, RequestV2) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x3a,       // size INT32 = 58
        0x00, 0x08,                   // api_key INT16 = 8
        0x00, 0x02,                   // api_version INT16 = 2
        0x00, 0x00, 0x00, 0x0e,       // correlation_id INT32 = 14
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00, 0x01, 'g',              // GroupId STRING = "g"
        0x00, 0x00, 0x00, 0x01,       // GenerationIdOrMemberEpoch INT32 = 1 (v1+)
        0x00, 0x02, 'm', '1',         // MemberId STRING = "m1" (v1+)
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // RetentionTimeMs INT64 = -1 (v2-4)
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   Partitions ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // CommittedOffset INT64 = 100
                                      //     (no CommitTimestamp: v1 only)
        0xff, 0xff,                   //     CommittedMetadata NULLABLE_STRING = null
    };
    kp::OffsetCommitRequest req;
    req.group_id = "g";
    req.generation_id_or_member_epoch = 1;
    req.member_id = "m1";
    req.retention_time_ms = -1;
    kp::OffsetCommitRequest::OffsetCommitRequestPartition p;
    p.partition_index = 0;
    p.committed_offset = 100;
    p.committed_metadata.reset();
    req.topics = {{"foo", {p}, {}}};
    expect_request_encodes(req, 2, 14, "kw", golden);

    const auto got = decode_request_frame<kp::OffsetCommitRequest>(golden, 2, 14, "kw");
    EXPECT_EQ(got.group_id, "g");
    EXPECT_EQ(got.generation_id_or_member_epoch, 1);
    EXPECT_EQ(got.member_id, "m1");
    EXPECT_EQ(got.retention_time_ms, -1);
    ASSERT_EQ(got.topics.size(), 1u);
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].committed_offset, 100);
    EXPECT_FALSE(got.topics[0].partitions[0].committed_metadata.has_value());
    EXPECT_TRUE(got == req);
}

TEST(GoldenOffsetCommit, RequestV8) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x33,       // size INT32 = 51
        0x00, 0x08,                   // api_key INT16 = 8
        0x00, 0x08,                   // api_version INT16 = 8
        0x00, 0x00, 0x00, 0x0f,       // correlation_id INT32 = 15
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0x02, 'g',                    // GroupId COMPACT_STRING = "g"
        0x00, 0x00, 0x00, 0x01,       // GenerationIdOrMemberEpoch INT32 = 1
        0x03, 'm', '1',               // MemberId COMPACT_STRING = "m1"
        0x00,                         // GroupInstanceId COMPACT_NULLABLE_STRING = null (v7+)
                                      // (no RetentionTimeMs after v4)
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x02,                         //   Partitions COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // CommittedOffset INT64 = 100
        0x00, 0x00, 0x00, 0x03,       //     CommittedLeaderEpoch INT32 = 3 (v6+)
        0x03, 'm', 'd',               //     CommittedMetadata COMPACT_NULLABLE_STRING = "md"
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    kp::OffsetCommitRequest req;
    req.group_id = "g";
    req.generation_id_or_member_epoch = 1;
    req.member_id = "m1";
    kp::OffsetCommitRequest::OffsetCommitRequestPartition p;
    p.partition_index = 0;
    p.committed_offset = 100;
    p.committed_leader_epoch = 3;
    p.committed_metadata = "md";
    req.topics = {{"foo", {p}, {}}};
    expect_request_encodes(req, 8, 15, "kw", golden);

    const auto got = decode_request_frame<kp::OffsetCommitRequest>(golden, 8, 15, "kw");
    EXPECT_FALSE(got.group_instance_id.has_value());
    ASSERT_EQ(got.topics.size(), 1u);
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].committed_leader_epoch, 3);
    EXPECT_EQ(got.topics[0].partitions[0].committed_metadata, std::optional<std::string>("md"));
    EXPECT_TRUE(got == req);
}

TEST(GoldenOffsetCommit, ResponseV2) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x17,       // size INT32 = 23
        0x00, 0x00, 0x00, 0x0e,       // correlation_id INT32 = 14
                                      // (no ThrottleTimeMs before v3)
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x00, 0x00, 0x01,       //   Partitions ARRAY count = 1
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x19,                   //     ErrorCode INT16 = 25 (UNKNOWN_MEMBER_ID)
    };
    kp::OffsetCommitResponse resp;
    resp.topics = {{"foo", {{0, 25, {}}}, {}}};
    expect_response_encodes(resp, 2, 14, golden);

    const auto got = decode_response_frame<kp::OffsetCommitResponse>(golden, 2, 14);
    ASSERT_EQ(got.topics.size(), 1u);
    ASSERT_EQ(got.topics[0].partitions.size(), 1u);
    EXPECT_EQ(got.topics[0].partitions[0].error_code, 25);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenOffsetCommit, ResponseV8) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x18,       // size INT32 = 24
        0x00, 0x00, 0x00, 0x0f,       // correlation_id INT32 = 15
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x05,       // ThrottleTimeMs INT32 = 5
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x02,                         //   Partitions COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x00, 0x00,                   //     ErrorCode INT16 = 0
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00,                         // TAG_BUFFER: 0
    };
    kp::OffsetCommitResponse resp;
    resp.throttle_time_ms = 5;
    resp.topics = {{"foo", {{0, 0, {}}}, {}}};
    expect_response_encodes(resp, 8, 15, golden);

    const auto got = decode_response_frame<kp::OffsetCommitResponse>(golden, 8, 15);
    EXPECT_EQ(got.throttle_time_ms, 5);
    EXPECT_TRUE(got == resp);
}

TEST(GoldenOffsetCommit, ResponseHeaderV1TagsAreRead) {
    // The response header's own tagged fields (header v1) are read into response_header.
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x0e,       // size INT32 = 14
        0x00, 0x00, 0x00, 0x10,       // correlation_id INT32 = 16
        0x01,                         // response header v1 TAG_BUFFER: 1 field
        0x02, 0x01, 0xaa,             //   tag 2 (unknown), size 1
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x01,                         // Topics COMPACT_ARRAY (empty)
        0x00,                         // TAG_BUFFER: 0
    };
    check_size_prefix(golden);
    kp::OffsetCommitResponse resp;
    kp::response_header h;
    ASSERT_EQ(kp::decode_response(body_of(golden), 8, resp, &h), std::error_code());
    EXPECT_EQ(h.correlation_id, 16);
    ASSERT_EQ(h.unknown_tagged_fields.unknown.size(), 1u);
    EXPECT_EQ(h.unknown_tagged_fields.unknown[0].tag, 2u);
    EXPECT_EQ(h.unknown_tagged_fields.unknown[0].data, (byte_vec{0xaa}));
    EXPECT_TRUE(resp.topics.empty());
}

// =============================================================================================
// CreateTopics (key 19): v4 non-flexible, v5 first flexible (response: TopicConfigErrorCode tag 0).

TEST(GoldenCreateTopics, RequestV4) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x41,       // size INT32 = 65
        0x00, 0x13,                   // api_key INT16 = 19
        0x00, 0x04,                   // api_version INT16 = 4
        0x00, 0x00, 0x00, 0x10,       // correlation_id INT32 = 16
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x00, 0x00, 0x03,       //   NumPartitions INT32 = 3
        0x00, 0x02,                   //   ReplicationFactor INT16 = 2
        0x00, 0x00, 0x00, 0x00,       //   Assignments ARRAY count = 0
        0x00, 0x00, 0x00, 0x01,       //   Configs ARRAY count = 1
        0x00, 0x0e, 'c', 'l', 'e', 'a', 'n', 'u', 'p', '.', 'p', 'o', 'l', 'i', 'c', 'y',
                                      //     Name STRING = "cleanup.policy"
        0x00, 0x07, 'c', 'o', 'm', 'p', 'a', 'c', 't',  // Value NULLABLE_STRING = "compact"
        0x00, 0x00, 0xea, 0x60,       // TimeoutMs INT32 = 60000
        0x00,                         // ValidateOnly BOOLEAN = false (v1+)
    };
    kp::CreateTopicsRequest req;
    kp::CreateTopicsRequest::CreatableTopic t;
    t.name = "foo";
    t.num_partitions = 3;
    t.replication_factor = 2;
    t.configs = {{"cleanup.policy", "compact", {}}};
    req.topics = {t};
    req.timeout_ms = 60000;
    expect_request_encodes(req, 4, 16, "kw", golden);

    const auto got = decode_request_frame<kp::CreateTopicsRequest>(golden, 4, 16, "kw");
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].num_partitions, 3);
    EXPECT_EQ(got.topics[0].replication_factor, 2);
    EXPECT_TRUE(got.topics[0].assignments.empty());
    ASSERT_EQ(got.topics[0].configs.size(), 1u);
    EXPECT_EQ(got.topics[0].configs[0].name, "cleanup.policy");
    EXPECT_EQ(got.topics[0].configs[0].value, std::optional<std::string>("compact"));
    EXPECT_EQ(got.timeout_ms, 60000);
    EXPECT_FALSE(got.validate_only);
    EXPECT_TRUE(got == req);
}

TEST(GoldenCreateTopics, RequestV5) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x3e,       // size INT32 = 62
        0x00, 0x13,                   // api_key INT16 = 19
        0x00, 0x05,                   // api_version INT16 = 5
        0x00, 0x00, 0x00, 0x11,       // correlation_id INT32 = 17
        0x00, 0x02, 'k', 'w',         // client_id NULLABLE_STRING = "kw"
        0x00,                         // header TAG_BUFFER: 0
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0xff, 0xff, 0xff, 0xff,       //   NumPartitions INT32 = -1
        0xff, 0xff,                   //   ReplicationFactor INT16 = -1
        0x02,                         //   Assignments COMPACT_ARRAY n+1 = 2
        0x00, 0x00, 0x00, 0x00,       //     PartitionIndex INT32 = 0
        0x03,                         //     BrokerIds COMPACT_ARRAY n+1 = 3
        0x00, 0x00, 0x00, 0x01,       //       INT32 = 1
        0x00, 0x00, 0x00, 0x02,       //       INT32 = 2
        0x00,                         //     TAG_BUFFER: 0
        0x02,                         //   Configs COMPACT_ARRAY n+1 = 2
        0x0d, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's',
                                      //     Name COMPACT_STRING = "retention.ms"
        0x00,                         //     Value COMPACT_NULLABLE_STRING = null
        0x00,                         //     TAG_BUFFER: 0
        0x00,                         //   TAG_BUFFER: 0
        0x00, 0x00, 0x75, 0x30,       // TimeoutMs INT32 = 30000
        0x01,                         // ValidateOnly BOOLEAN = true
        0x00,                         // TAG_BUFFER: 0
    };
    kp::CreateTopicsRequest req;
    kp::CreateTopicsRequest::CreatableTopic t;
    t.name = "foo";
    t.num_partitions = -1;
    t.replication_factor = -1;
    t.assignments = {{0, {1, 2}, {}}};
    t.configs = {{"retention.ms", std::nullopt, {}}};
    req.topics = {t};
    req.timeout_ms = 30000;
    req.validate_only = true;
    expect_request_encodes(req, 5, 17, "kw", golden);

    const auto got = decode_request_frame<kp::CreateTopicsRequest>(golden, 5, 17, "kw");
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].num_partitions, -1);
    ASSERT_EQ(got.topics[0].assignments.size(), 1u);
    EXPECT_EQ(got.topics[0].assignments[0].broker_ids, (std::vector<std::int32_t>{1, 2}));
    ASSERT_EQ(got.topics[0].configs.size(), 1u);
    EXPECT_FALSE(got.topics[0].configs[0].value.has_value());
    EXPECT_TRUE(got.validate_only);
    EXPECT_TRUE(got == req);
}

TEST(GoldenCreateTopics, ResponseV4) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x1b,       // size INT32 = 27
        0x00, 0x00, 0x00, 0x10,       // correlation_id INT32 = 16
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0 (v2+)
        0x00, 0x00, 0x00, 0x01,       // Topics ARRAY count = 1
        0x00, 0x03, 'f', 'o', 'o',    //   Name STRING = "foo"
        0x00, 0x24,                   //   ErrorCode INT16 = 36 (TOPIC_ALREADY_EXISTS)
        0x00, 0x06, 'e', 'x', 'i', 's', 't', 's',  // ErrorMessage NULLABLE_STRING = "exists"
    };
    kp::CreateTopicsResponse resp;
    kp::CreateTopicsResponse::CreatableTopicResult r;
    r.name = "foo";
    r.error_code = 36;
    r.error_message = "exists";
    resp.topics = {r};
    expect_response_encodes(resp, 4, 16, golden);

    const auto got = decode_response_frame<kp::CreateTopicsResponse>(golden, 4, 16);
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].error_code, 36);
    EXPECT_EQ(got.topics[0].error_message, std::optional<std::string>("exists"));
    EXPECT_TRUE(got == resp);
}

kp::CreateTopicsResponse create_topics_v5_response() {
    kp::CreateTopicsResponse resp;
    kp::CreateTopicsResponse::CreatableTopicResult r;
    r.name = "foo";
    r.error_code = 0;
    r.error_message.reset();
    r.num_partitions = 3;
    r.replication_factor = 2;
    r.configs.reset();
    r.topic_config_error_code = 29;
    resp.topics = {r};
    return resp;
}

TEST(GoldenCreateTopics, ResponseV5WithTopicConfigErrorCodeTag) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x1e,       // size INT32 = 30
        0x00, 0x00, 0x00, 0x11,       // correlation_id INT32 = 17
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x00, 0x00,                   //   ErrorCode INT16 = 0
        0x00,                         //   ErrorMessage COMPACT_NULLABLE_STRING = null
        0x00, 0x00, 0x00, 0x03,       //   NumPartitions INT32 = 3 (v5+)
        0x00, 0x02,                   //   ReplicationFactor INT16 = 2 (v5+)
        0x00,                         //   Configs COMPACT_ARRAY = null (v5+)
        0x01,                         //   TAG_BUFFER: 1 field
        0x00, 0x02, 0x00, 0x1d,       //     tag 0 TopicConfigErrorCode, size 2, INT16 = 29
        0x00,                         // TAG_BUFFER: 0
    };
    const auto resp = create_topics_v5_response();
    expect_response_encodes(resp, 5, 17, golden);

    const auto got = decode_response_frame<kp::CreateTopicsResponse>(golden, 5, 17);
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].topic_config_error_code, 29);
    EXPECT_FALSE(got.topics[0].error_message.has_value());
    EXPECT_EQ(got.topics[0].num_partitions, 3);
    EXPECT_EQ(got.topics[0].replication_factor, 2);
    EXPECT_FALSE(got.topics[0].configs.has_value());
    EXPECT_TRUE(got.topics[0].unknown_tagged_fields.empty());
    EXPECT_TRUE(got == resp);
}

TEST(GoldenCreateTopics, ResponseV5KnownAndUnknownTagsRoundTrip) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x21,       // size INT32 = 33
        0x00, 0x00, 0x00, 0x12,       // correlation_id INT32 = 18
        0x00,                         // response header v1 TAG_BUFFER: 0
        0x00, 0x00, 0x00, 0x00,       // ThrottleTimeMs INT32 = 0
        0x02,                         // Topics COMPACT_ARRAY n+1 = 2
        0x04, 'f', 'o', 'o',          //   Name COMPACT_STRING = "foo"
        0x00, 0x00,                   //   ErrorCode INT16 = 0
        0x00,                         //   ErrorMessage COMPACT_NULLABLE_STRING = null
        0x00, 0x00, 0x00, 0x03,       //   NumPartitions INT32 = 3
        0x00, 0x02,                   //   ReplicationFactor INT16 = 2
        0x00,                         //   Configs COMPACT_ARRAY = null
        0x02,                         //   TAG_BUFFER: 2 fields
        0x00, 0x02, 0x00, 0x1d,       //     tag 0 TopicConfigErrorCode, size 2, INT16 = 29
        0x03, 0x01, 0xff,             //     tag 3 (unknown), size 1
        0x00,                         // TAG_BUFFER: 0
    };
    const auto got = decode_response_frame<kp::CreateTopicsResponse>(golden, 5, 18);
    ASSERT_EQ(got.topics.size(), 1u);
    EXPECT_EQ(got.topics[0].topic_config_error_code, 29);
    ASSERT_EQ(got.topics[0].unknown_tagged_fields.unknown.size(), 1u);
    EXPECT_EQ(got.topics[0].unknown_tagged_fields.unknown[0].tag, 3u);
    EXPECT_EQ(got.topics[0].unknown_tagged_fields.unknown[0].data, (byte_vec{0xff}));
    expect_response_encodes(got, 5, 18, golden);
}

}  // namespace
