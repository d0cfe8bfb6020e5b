#!/usr/bin/env bash
# The main job: builds kwire (Release) and runs the codec benchmark: CRC32C, varints, and
# RecordBatch encode/decode for every compression codec, next to a memcpy of the same bytes.
# Extra arguments go to the benchmark (e.g. --benchmark_filter=crc32c).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target kwire-codec-bench
exec build/bin/kwire-codec-bench "$@"
