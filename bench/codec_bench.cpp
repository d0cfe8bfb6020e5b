// Benchmarks of the record codec: CRC32C (both paths, with memcpy as the memory-speed
// reference), varints, and RecordBatch v2 encode/decode, uncompressed and per codec.
//
// Batches hold 1000 records with an 8-byte key and a value of the benchmark argument's size (no
// headers), the shape of a typical producer batch. Values are JSON-like text, so the codecs see
// realistic, compressible data. "decode" means walking every record view, CRC check included.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/codec/records_reader.hpp"
#include "varint.hpp"

namespace {

using namespace kwire::codec;
using bytes = std::vector<std::uint8_t>;

constexpr int records_per_batch = 1000;

bytes random_bytes(std::size_t n) {
    std::mt19937 rng(12345);
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

// ---- checksums -------------------------------------------------------------------------------

void BM_crc32c(benchmark::State& state) {
    if (!crc32c_hardware_available()) {
        state.SkipWithError("no SSE4.2");
        return;
    }
    const bytes data = random_bytes(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(crc32c_hardware(0, data.data(), data.size()));
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_crc32c)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_crc32c_portable(benchmark::State& state) {
    const bytes data = random_bytes(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(crc32c_portable(0, data.data(), data.size()));
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_crc32c_portable)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_memcpy(benchmark::State& state) {
    const bytes src = random_bytes(static_cast<std::size_t>(state.range(0)));
    bytes dst(src.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_memcpy)->Arg(64)->Arg(4096)->Arg(1 << 20);

// ---- varints ---------------------------------------------------------------------------------

/// Values shaped like record fields: mostly one- and two-byte varints (deltas, small lengths),
/// some larger (lengths of big values).
std::vector<std::int32_t> varint_values() {
    std::mt19937 rng(7);
    std::vector<std::int32_t> v(4096);
    for (auto& x : v) {
        const auto r = rng();
        x = (r % 4 == 0) ? static_cast<std::int32_t>(rng() % 100000) : static_cast<std::int32_t>(r % 200) - 50;
    }
    return v;
}

void BM_varint_encode(benchmark::State& state) {
    const auto values = varint_values();
    bytes out(values.size() * 5);
    for (auto _ : state) {
        std::uint8_t* p = out.data();
        for (std::int32_t v : values) p = kwire::protocol::put_uvarint(p, kwire::protocol::zigzag32(v));
        benchmark::DoNotOptimize(p);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
}
BENCHMARK(BM_varint_encode);

void BM_varint_decode(benchmark::State& state) {
    const auto values = varint_values();
    bytes encoded(values.size() * 5);
    std::uint8_t* end = encoded.data();
    for (std::int32_t v : values) end = kwire::protocol::put_uvarint(end, kwire::protocol::zigzag32(v));
    for (auto _ : state) {
        const std::uint8_t* p = encoded.data();
        std::int32_t sum = 0, v = 0;
        while (p != end) {
            if (detail::read_varint(p, end, v) != detail::varint_status::ok) break;
            sum += v;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
}
BENCHMARK(BM_varint_decode);

// ---- record batches --------------------------------------------------------------------------

struct sample {
    std::vector<std::string> keys;
    std::string text;                 // values are slices of it
    std::vector<bytes_view> values;   // precomputed, so the loop measures the encoder only
};

sample make_sample(std::size_t value_size) {
    sample s;
    std::mt19937 rng(99);
    while (s.text.size() < value_size * records_per_batch + 65536)
        s.text += R"({"user":")" + std::to_string(rng() % 5000) + R"(","page":"/item/)" +
                  std::to_string(rng() % 100000) + R"(","ts":)" + std::to_string(1700000000000ULL + rng() % 1000000) +
                  "}\n";
    for (int i = 0; i < records_per_batch; ++i) {
        char key[16];
        std::snprintf(key, sizeof key, "key-%04d", i);
        s.keys.emplace_back(key);
        const std::size_t at = (static_cast<std::size_t>(i) * value_size + static_cast<std::size_t>(i) % 7) %
                               (s.text.size() - value_size);
        s.values.emplace_back(reinterpret_cast<const std::uint8_t*>(s.text.data() + at), value_size);
    }
    return s;
}

bytes_view key_view(const std::string& k) { return {reinterpret_cast<const std::uint8_t*>(k.data()), k.size()}; }

void encode_batch(const sample& s, batch_builder& b, bytes& out, compression codec) {
    out.clear();
    b.begin(out, {.codec = codec});
    for (int i = 0; i < records_per_batch; ++i)
        (void)b.append(1'700'000'000'000 + i, key_view(s.keys[static_cast<std::size_t>(i)]),
                       s.values[static_cast<std::size_t>(i)]);
    if (b.finish()) std::abort();
}

void batch_encode(benchmark::State& state, compression codec) {
    const sample s = make_sample(static_cast<std::size_t>(state.range(0)));
    batch_builder b;
    bytes out;
    std::size_t uncompressed = 0;
    for (auto _ : state) {
        encode_batch(s, b, out, codec);
        benchmark::DoNotOptimize(out.data());
    }
    {
        bytes plain;
        encode_batch(s, b, plain, compression::none);
        uncompressed = plain.size();
    }
    state.SetItemsProcessed(state.iterations() * records_per_batch);
    // Bytes of batch before compression, so that codecs compare on the same input.
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(uncompressed));
    state.counters["batch_bytes"] = static_cast<double>(out.size());
}

void batch_decode(benchmark::State& state, compression codec) {
    const sample s = make_sample(static_cast<std::size_t>(state.range(0)));
    batch_builder b;
    bytes blob, plain, buffer;
    encode_batch(s, b, blob, codec);
    encode_batch(s, b, plain, compression::none);
    for (auto _ : state) {
        records_reader r(blob, buffer);
        record_view rec;
        std::size_t sum = 0;
        while (r.next_batch())
            while (r.next_record(rec)) sum += rec.value->size() + static_cast<std::size_t>(rec.offset);
        if (r.error()) std::abort();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * records_per_batch);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plain.size()));
    state.counters["batch_bytes"] = static_cast<double>(blob.size());
}

void BM_batch_encode(benchmark::State& state) { batch_encode(state, compression::none); }
void BM_batch_decode(benchmark::State& state) { batch_decode(state, compression::none); }
void BM_batch_encode_gzip(benchmark::State& state) { batch_encode(state, compression::gzip); }
void BM_batch_decode_gzip(benchmark::State& state) { batch_decode(state, compression::gzip); }
void BM_batch_encode_snappy(benchmark::State& state) { batch_encode(state, compression::snappy); }
void BM_batch_decode_snappy(benchmark::State& state) { batch_decode(state, compression::snappy); }
void BM_batch_encode_lz4(benchmark::State& state) { batch_encode(state, compression::lz4); }
void BM_batch_decode_lz4(benchmark::State& state) { batch_decode(state, compression::lz4); }
void BM_batch_encode_zstd(benchmark::State& state) { batch_encode(state, compression::zstd); }
void BM_batch_decode_zstd(benchmark::State& state) { batch_decode(state, compression::zstd); }

BENCHMARK(BM_batch_encode)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_decode)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_encode_gzip)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_decode_gzip)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_encode_snappy)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_decode_snappy)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_encode_lz4)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_decode_lz4)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_encode_zstd)->Arg(100)->Arg(1024);
BENCHMARK(BM_batch_decode_zstd)->Arg(100)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
