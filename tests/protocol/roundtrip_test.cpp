// Round trips for every API x version x direction, driven by the schema: a message filled with
// distinct values encodes, decodes to an equal message, and re-encodes to the same bytes; every
// strict prefix of the encoding fails to decode with an error (never a crash or an over-read).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"
#include "sample_messages.hpp"

namespace kp = kwire::protocol;

namespace {


template <class M> constexpr std::string_view name_of() {
    if constexpr (requires { M::api_name; }) return M::api_name;
    else return M::data_name;
}

template <class M> void check_round_trip(std::int16_t v) {
    SCOPED_TRACE(std::string(name_of<M>()) + (kp::is_flexible(v, M::first_flexible) ? " flexible" : "") +
                 " v" + std::to_string(v));
    const M original = kwire::testing::sample_message<M>(v);

    std::vector<std::uint8_t> bytes;
    kp::writer w(bytes);
    original.encode(w, v);

    M decoded;
    kp::reader r(bytes.data(), bytes.size());
    decoded.decode(r, v);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_TRUE(decoded == original);

    std::vector<std::uint8_t> again;
    kp::writer w2(again);
    decoded.encode(w2, v);
    EXPECT_EQ(again, bytes);

    // Every strict prefix must fail cleanly: the decoder reads exactly the bytes the encoder
    // wrote, so running out early can only end in an error.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        M partial;
        kp::reader pr(prefix.data(), prefix.size());
        partial.decode(pr, v);
        ASSERT_FALSE(pr.ok()) << "prefix of " << n << " of " << bytes.size() << " bytes decoded";
    }
}

TEST(RoundTrip, EveryApiEveryVersionRequestsAndResponses) {
    int checked = 0;
    kp::for_each_api([&]<class Req, class Resp>() {
        for (std::int16_t v = Req::min_version; v <= Req::max_version; ++v) {
            check_round_trip<Req>(v);
            check_round_trip<Resp>(v);
            checked += 2;
        }
    });
    // 33 APIs, each with at least one version, most with many.
    EXPECT_GT(checked, 300);
}

TEST(RoundTrip, EveryDataMessageEveryVersion) {
    int checked = 0;
    kp::for_each_data([&]<class D>() {
        for (std::int16_t v = D::min_version; v <= D::max_version; ++v) {
            check_round_trip<D>(v);
            ++checked;
        }
    });
    EXPECT_EQ(checked, 8);  // the consumer protocol's subscription and assignment, v0-3 each
}

TEST(RoundTrip, FramesCarryHeadersAndRejectVersionsOutsideTheRange) {
    kp::for_each_api([&]<class Req, class Resp>() {
        for (std::int16_t v = Req::min_version; v <= Req::max_version; ++v) {
            SCOPED_TRACE(std::string(Req::api_name) + " v" + std::to_string(v));
            const auto req = kwire::testing::sample_message<Req>(v, 5);
            std::vector<std::uint8_t> frame;
            ASSERT_FALSE(kp::encode_request(frame, req, v, 1234, "kwire-test"));
            ASSERT_GE(frame.size(), 4u);
            const auto size = kp::load_be<std::int32_t>(frame.data());
            ASSERT_EQ(static_cast<std::size_t>(size), frame.size() - 4);
            Req back;
            kp::request_header h;
            ASSERT_FALSE(kp::decode_request(kp::bytes_view(frame.data() + 4, frame.size() - 4), back, &h));
            EXPECT_EQ(h.api_key, Req::api_key);
            EXPECT_EQ(h.api_version, v);
            EXPECT_EQ(h.correlation_id, 1234);
            EXPECT_EQ(h.client_id, "kwire-test");
            EXPECT_TRUE(back == req);

            const auto resp = kwire::testing::sample_message<Resp>(v, 9);
            std::vector<std::uint8_t> rframe;
            ASSERT_FALSE(kp::encode_response(rframe, resp, v, 77));
            Resp rback;
            kp::response_header rh;
            ASSERT_FALSE(kp::decode_response(kp::bytes_view(rframe.data() + 4, rframe.size() - 4), v, rback, &rh));
            EXPECT_EQ(rh.correlation_id, 77);
            EXPECT_TRUE(rback == resp);

            // One byte too many is a disagreement with the broker, not something to skip over.
            rframe.push_back(0);
            EXPECT_EQ(kp::decode_response(kp::bytes_view(rframe.data() + 4, rframe.size() - 4), v, rback),
                      kwire::errc::trailing_bytes);
        }
        std::vector<std::uint8_t> frame;
        EXPECT_EQ(kp::encode_request(frame, Req{}, static_cast<std::int16_t>(Req::max_version + 1), 1, {}),
                  kwire::errc::unsupported_version);
        EXPECT_TRUE(frame.empty());
    });
}

TEST(RoundTrip, ApiTableListsEveryApiTheIssueNames) {
    const char* wanted[] = {"ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator",
                            "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch",
                            "InitProducerId", "OffsetForLeaderEpoch", "CreateTopics", "DeleteTopics",
                            "CreatePartitions", "DescribeConfigs", "IncrementalAlterConfigs", "DescribeGroups",
                            "ListGroups", "DeleteGroups", "DeleteRecords", "DescribeCluster", "SaslHandshake",
                            "SaslAuthenticate", "ConsumerGroupHeartbeat", "AddPartitionsToTxn", "AddOffsetsToTxn",
                            "EndTxn", "TxnOffsetCommit", "GetTelemetrySubscriptions", "PushTelemetry"};
    for (const char* name : wanted) {
        bool found = false;
        for (const auto& a : kp::all_apis) found = found || a.name == name;
        EXPECT_TRUE(found) << name;
    }
    ASSERT_NE(kp::find_api(0), nullptr);
    EXPECT_EQ(kp::find_api(0)->name, "Produce");
    EXPECT_EQ(kp::find_api(3)->min_version, 0);  // old brokers and the librdkafka mock speak Metadata v0-2
    EXPECT_EQ(kp::find_api(12345), nullptr);
}

}  // namespace
