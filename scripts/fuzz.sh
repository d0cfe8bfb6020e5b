#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for a bounded number of runs over its
# seed corpus (tests/fuzz/corpus/<target>/). New inputs go to a scratch directory, never into the
# repository. FUZZ_RUNS overrides the number of runs per target.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-20000}

cmake --preset fuzz >/dev/null
# Only the fuzz targets (and the protocol/codec libraries they need), not the client.
targets=$(ninja -C build-fuzz -t targets all | grep -o '^fuzz-[a-z_0-9]*' | sort -u)
ninja -C build-fuzz -j "$(nproc)" $targets

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for bin in build-fuzz/bin/fuzz-*; do
  what=${bin##*/fuzz-}
  corpus=tests/fuzz/corpus/$what
  mkdir -p "$scratch/$what"
  echo "=== fuzz-$what: $runs runs"
  if ! "$bin" -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
      "$scratch/$what" $( [ -d "$corpus" ] && echo "$corpus" ) > "$scratch/$what.log" 2>&1; then
    tail -50 "$scratch/$what.log"
    echo "fuzz-$what FAILED"
    status=1
  else
    grep -E '^#[0-9]+ +DONE' "$scratch/$what.log" | tail -1 || true
  fi
done
exit $status
