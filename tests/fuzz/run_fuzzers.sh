#!/usr/bin/env bash
# Builds the libFuzzer targets in a clang build tree and runs each one over
# its seed corpus for a bounded time. The CTest test `fuzz_smoke` runs this;
# README.md here explains the targets and how to fuzz for longer.
#
# Usage: run_fuzzers.sh <build-dir> [seconds-per-fuzzer] [fuzzer...]
#   <build-dir>   the normal (GCC) build tree; the clang tree is <build-dir>/fuzz
#   seconds       how long each fuzzer runs (default 30)
#   fuzzer...     only these (default: every tests/fuzz/corpus/<name>/)
# Environment:
#   RAPPORT_FUZZ_JOBS   fuzzers run at once, and build jobs (default: nproc)
#
# Fails on a crash, a sanitizer report, a leak, an input slower than 5 s or
# more than 2 GB of memory; the input that did it is saved under
# <build-dir>/fuzz/runs/<fuzzer>/artifacts/ and the message says how to
# replay it. New inputs the fuzzers find go to <build-dir>/fuzz/runs/, never
# into the checked-in corpus.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE_DIR="$(cd "$FUZZ_DIR/../.." && pwd)"
readonly FUZZ_DIR SOURCE_DIR

fail() {
  echo "fuzz_smoke: FAIL: $*" >&2
  exit 1
}

(($# >= 1)) || fail "usage: run_fuzzers.sh <build-dir> [seconds] [fuzzer...]"
mkdir -p "$1"
BUILD_DIR="$(cd "$1" && pwd)/fuzz"
readonly BUILD_DIR
readonly SECONDS_EACH="${2:-30}"
shift $(($# >= 2 ? 2 : 1))
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || fail "seconds must be a number: $SECONDS_EACH"
readonly JOBS="${RAPPORT_FUZZ_JOBS:-$(nproc)}"

if (($# > 0)); then
  FUZZERS=("$@")
else
  FUZZERS=()
  for dir in "$FUZZ_DIR"/corpus/*/; do
    FUZZERS+=("$(basename "$dir")")
  done
fi
((${#FUZZERS[@]} > 0)) || fail "no fuzzers (no $FUZZ_DIR/corpus/<name>/)"

start=$SECONDS

# --- Toolchain: fail loudly, never skip. A missing clang or libFuzzer
# runtime must not turn into a silently green test.
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  fail "clang is not installed; the fuzzers need it (libFuzzer is part of" \
    "clang). Install the Debian packages: apt-get install clang" \
    "libclang-rt-14-dev (or run ./rapport deps)"
fi
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe_dir/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cc" \
  -o "$probe_dir/probe" >"$probe_dir/log" 2>&1; then
  cat "$probe_dir/log" >&2
  fail "clang++ cannot link -fsanitize=fuzzer,address,undefined: the" \
    "libFuzzer/sanitizer runtimes are missing. Install the Debian package:" \
    "apt-get install libclang-rt-14-dev (or run ./rapport deps)"
fi

# --- Configure (once) and build only the fuzzers and what they link.
if command -v ccache >/dev/null; then
  echo "fuzz_smoke: ccache $(command -v ccache) (the project's CMake uses it)"
else
  echo "fuzz_smoke: ccache not found: the clang build is not cached"
fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  mkdir -p "$BUILD_DIR"
  cmake -G Ninja -S "$SOURCE_DIR" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DRAPPORT_FUZZ=ON >"$BUILD_DIR/configure.log" 2>&1 || {
    tail -n 50 "$BUILD_DIR/configure.log" >&2
    rm -f "$BUILD_DIR/CMakeCache.txt" # configure again next time
    fail "configuring the clang tree $BUILD_DIR failed (log: $BUILD_DIR/configure.log)"
  }
fi
targets=()
for f in "${FUZZERS[@]}"; do targets+=(--target "$f"); done
cmake --build "$BUILD_DIR" --parallel "$JOBS" "${targets[@]}" ||
  fail "building the fuzzers in $BUILD_DIR failed"
built=$SECONDS
echo "fuzz_smoke: clang build took $((built - start)) s"

# --- Run. Two or more fuzzers at once (one per core): each is single-threaded.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Third-party process-lifetime allocations only (see the file).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SOURCE_DIR/tests/sanitizers/lsan.supp:print_suppressions=0}"

run_one() {
  local name="$1" bin="$BUILD_DIR/tests/fuzz/$1" run="$BUILD_DIR/runs/$1"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  local args=(
    -max_total_time="$SECONDS_EACH"
    -timeout=5           # one input slower than this is a hang
    -rss_limit_mb=2048   # and more memory than this a failure
    -max_len=5000        # just above the 4096-byte filter and token limits
    -print_final_stats=1
    -artifact_prefix="$run/artifacts/"
  )
  [[ -f "$FUZZ_DIR/$name.dict" ]] && args+=(-dict="$FUZZ_DIR/$name.dict")
  # New inputs go to the first directory (scratch); the seeds are read only.
  "$bin" "${args[@]}" "$run/corpus" "$FUZZ_DIR/corpus/$name" >"$run/log" 2>&1
}

report() {
  local name="$1" status="$2" run="$BUILD_DIR/runs/$1"
  local runs cov
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/log" | grep -o '[0-9]*$' || true)"
  cov="$(grep -o 'cov: [0-9]*' "$run/log" | tail -n 1 || true)"
  if ((status == 0)); then
    echo "fuzz_smoke: $name: OK (${runs:-?} inputs, ${cov:-cov ?}, $(find "$run/corpus" -type f | wc -l) new corpus files)"
    return 0
  fi
  echo "fuzz_smoke: $name: FAILED (exit $status); last lines of $run/log:" >&2
  tail -n 60 "$run/log" | sed 's/^/  | /' >&2
  # The cause, in case the stack pushed it out of the tail above.
  echo "fuzz_smoke: $name: cause:" >&2
  grep -m 1 -A 3 -E 'fuzz invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' \
    "$run/log" | sed 's/^/  | /' >&2 || true
  local artifact
  for artifact in "$run"/artifacts/*; do
    [[ -e "$artifact" ]] || continue
    echo "fuzz_smoke: $name: input saved as $artifact" >&2
    echo "fuzz_smoke:   replay: $BUILD_DIR/tests/fuzz/$name $artifact" >&2
  done
  return 1
}

for name in "${FUZZERS[@]}"; do
  [[ -x "$BUILD_DIR/tests/fuzz/$name" ]] || fail "no fuzzer binary for $name"
  [[ -d "$FUZZ_DIR/corpus/$name" ]] || fail "no seed corpus $FUZZ_DIR/corpus/$name"
done
echo "fuzz_smoke: running ${#FUZZERS[@]} fuzzers for $SECONDS_EACH s each, $JOBS at a time"

declare -A pid_of=()
failed=0
wait_one() {
  local pid status=0 name
  wait -n -p pid "${!pid_of[@]}" || status=$?
  name="${pid_of[$pid]}"
  unset "pid_of[$pid]"
  report "$name" "$status" || failed=1
}
for name in "${FUZZERS[@]}"; do
  while ((${#pid_of[@]} >= JOBS)); do wait_one; done
  run_one "$name" &
  pid_of[$!]="$name"
done
while ((${#pid_of[@]} > 0)); do wait_one; done

echo "fuzz_smoke: total $((SECONDS - start)) s (build $((built - start)) s)"
((failed == 0)) || fail "a fuzzer failed; see above"
echo "fuzz_smoke: PASS"
