#!/usr/bin/env bash
# The main job: builds kwire (Release) and runs
#   1. kwire-bench: kwire's producer against librdkafka's, on librdkafka's in-process mock
#      cluster (3 brokers), throughput (1M x 100 B; none/lz4/zstd) and latency (acks=1, acks=all)
#      scenarios, median of 9 alternating rounds each (about 2-3 minutes on 2 cores);
#   2. kwire-codec-bench, short: CRC32C, varints, RecordBatch encode/decode per codec.
# Arguments go to kwire-bench; those after a `--` go to the codec benchmark, e.g.
#   scripts/run.sh --scenario latency-acks1 --rounds 3 -- --benchmark_filter=crc32c
# Exits non-zero if kwire-bench saw delivery errors or lost/duplicated records (it still runs the
# codec benchmark first), or if a build or benchmark fails.
set -euo pipefail
cd "$(dirname "$0")/.."

client_args=()
codec_args=()
seen_separator=0
for a in "$@"; do
  if [ "$seen_separator" = 0 ] && [ "$a" = "--" ]; then
    seen_separator=1
  elif [ "$seen_separator" = 0 ]; then
    client_args+=("$a")
  else
    codec_args+=("$a")
  fi
done

bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target kwire-bench kwire-codec-bench

status=0
echo "== kwire-bench (producer: kwire vs librdkafka)"
build/bin/kwire-bench "${client_args[@]}" || status=$?

echo "== kwire-codec-bench"
build/bin/kwire-codec-bench --benchmark_min_time=0.1 "${codec_args[@]}" || status=$?
exit "$status"
