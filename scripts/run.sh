#!/usr/bin/env bash
# The main job: builds kwire (Release) and runs
#   1. kwire-bench, the default set (bench/options.cpp; about 6 minutes on 2 cores): kwire
#      against librdkafka at its best -- every scenario also runs librdkafka in each configuration
#      a tuned user would try, and kwire is compared with the best of them: against an in-bench
#      instant broker, awaited sends and end-to-end send -> poll beside TCP floors of the same
#      sizes (each client's own overhead); on librdkafka's in-process mock cluster (3 brokers),
#      awaited sends acks=1/all, end-to-end one at a time and at 10k and 100k records/s,
#      throughput 1M x 100 B none/lz4/zstd, consume and commit interval(0); one calibration round
#      and 5 alternating rounds, medians with min-max, one line of targets per scenario; plots
#      (gnuplot) into build/bench-plots unless --plot DIR is given;
#   2. kwire-codec-bench, short: CRC32C, varints, RecordBatch encode/decode per codec.
# Arguments go to kwire-bench; those after a `--` go to the codec benchmark, e.g.
#   scripts/run.sh --scenario latency-acksall --rounds 3 -- --benchmark_filter=crc32c
# Exits non-zero if kwire-bench saw delivery errors or lost/duplicated records (2), rejected the
# run because librdkafka ran > 30% slower than in its calibration round -- a busy machine (3) --
# (it still runs the codec benchmark first), or if a build or benchmark fails.
set -euo pipefail
cd "$(dirname "$0")/.."

client_args=()
codec_args=()
seen_separator=0
plot_given=0
for a in "$@"; do
  if [ "$seen_separator" = 0 ] && [ "$a" = "--" ]; then
    seen_separator=1
  elif [ "$seen_separator" = 0 ]; then
    client_args+=("$a")
    [ "$a" = "--plot" ] && plot_given=1
  else
    codec_args+=("$a")
  fi
done
[ "$plot_given" = 1 ] || client_args+=(--plot build/bench-plots)

bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target kwire-bench kwire-codec-bench

status=0
echo "== kwire-bench (kwire vs librdkafka at its best, with the floor)"
build/bin/kwire-bench "${client_args[@]}" || status=$?

echo "== kwire-codec-bench"
build/bin/kwire-codec-bench --benchmark_min_time=0.1 "${codec_args[@]}" || status=$?
exit "$status"
