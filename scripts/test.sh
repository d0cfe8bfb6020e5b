#!/usr/bin/env bash
# Builds kwire and runs the whole test suite, exactly as CI does:
#   1. Release build (warnings are errors), every test;
#   2. ASan+UBSan build, every test;
#   3. the mbedTLS backend (preset `mbedtls`: Release, -DKWIRE_TLS_BACKEND=mbedtls, only the
#      TLS, SASL and SCRAM tests built: SCRAM unit tests, SCRAM against Cyrus SASL, the TLS and
#      SASL integration tests);
#   4. the fully static `kwire` and examples (scripts/build-static.sh --cli, on mbedTLS), and
#      the test that runs that `kwire` alone in a chroot against a mock cluster, also over TLS
#      (packaging.static_chroot);
#   5. the libFuzzer targets (clang), each for a bounded number of runs.
# `scripts/test.sh release` (or asan, mbedtls, static, fuzz) runs only that step.
# Installs missing Debian packages first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(release asan mbedtls static fuzz)

bash scripts/deps.sh
jobs=$(nproc)
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds the ctest run in $log to the counts ("N% tests passed, F tests failed out of T"); stops
# with the summary line if ctest failed ($status).
tally_ctest() {
  if summary=$(grep -E 'tests failed out of [0-9]+' "$log" | tail -1); then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
    bad=$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$summary")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
  fi
  [ "$status" -eq 0 ] || { echo "kwire: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit "$status"; }
}

for step in "${steps[@]}"; do
  case "$step" in
    release|asan)
      echo "=== $step: configure and build"
      cmake --preset "$step" >/dev/null
      cmake --build --preset "$step" -j "$jobs"
      echo "=== $step: tests"
      status=0
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "build$([ "$step" = asan ] && echo -asan)" --output-on-failure -j "$jobs" | tee "$log" ||
        status=$?
      tally_ctest
      ;;
    mbedtls)
      echo "=== mbedtls: configure and build (build-mbedtls/, TLS and SASL tests only)"
      cmake --preset mbedtls >/dev/null
      cmake --build --preset mbedtls -j "$jobs"
      echo "=== mbedtls: tests"
      status=0
      ctest --test-dir build-mbedtls --output-on-failure -j "$jobs" | tee "$log" || status=$?
      tally_ctest
      ;;
    static)
      echo "=== static: fully static kwire and examples (build-static/)"
      bash scripts/build-static.sh --cli
      echo "=== static: the static kwire alone in a chroot"
      # The test and its mock cluster helper live in the Release tree.
      cmake --preset release >/dev/null
      cmake --build --preset release --target kwire-mock-cluster -j "$jobs"
      status=0
      ctest --test-dir build -R '^packaging[.]static_chroot$' --output-on-failure | tee "$log" || status=$?
      tally_ctest
      ;;
    fuzz)
      if bash scripts/fuzz.sh | tee "$log"; then
        passed=$((passed + $(grep -c '^=== fuzz-' "$log")))
      else
        echo "kwire: $passed passed, $((failed + 1)) failed"
        exit 1
      fi
      ;;
    *)
      echo "unknown step '$step' (release, asan, mbedtls, static, fuzz)" >&2
      exit 2
      ;;
  esac
done

echo "kwire: $passed passed, $failed failed"
