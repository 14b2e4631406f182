#!/usr/bin/env bash
# Builds the client example (clients/cpp/examples) out of tree, the way
# another team would, against the SDK and the client installed from
# <build dir> into a scratch prefix, then runs it against nothing to check it
# starts and links (it must fail with UNAVAILABLE, exit 1).
#
# Usage: build_client_example.sh <build dir> <work dir>
# <work dir> is deleted and re-created first.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <build dir> <work dir>" >&2
  exit 2
fi
build_dir=$(realpath "$1")
work_dir=$(realpath -m "$2")
source_dir=$(realpath "$(dirname "$0")/../../clients/cpp/examples")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work_dir"
mkdir -p "$work_dir"

# (a) Install the SDK and the client components into one prefix.
cmake --install "$build_dir" --component sdk --prefix "$work_dir/prefix" >/dev/null
cmake --install "$build_dir" --component client --prefix "$work_dir/prefix" >/dev/null
[[ -f "$work_dir/prefix/lib/cmake/RapportClient/RapportClientConfig.cmake" ]] ||
  fail "the client component installed no CMake package"
[[ -x "$work_dir/prefix/bin/rapportctl" ]] || fail "rapportctl was not installed"

# (b) Configure and build the example as its own project.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -G Ninja -S "$source_dir" -B "$work_dir/example-build" \
  -DCMAKE_PREFIX_PATH="$work_dir/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" >"$work_dir/configure.log" 2>&1 ||
  { cat "$work_dir/configure.log" >&2; fail "configuring the example"; }
cmake --build "$work_dir/example-build" >"$work_dir/build.log" 2>&1 ||
  { cat "$work_dir/build.log" >&2; fail "building the example"; }

program="$work_dir/example-build/list_vips"
[[ -x "$program" ]] || fail "$program was not built"

# (c) It runs with the installed libraries (no server on port 1: the call
# fails UNAVAILABLE and the program exits 1 with an error line).
set +e
LD_LIBRARY_PATH="$work_dir/prefix/lib" "$program" --addr 127.0.0.1:1 \
  >"$work_dir/run.out" 2>"$work_dir/run.err"
rc=$?
set -e
[[ $rc -eq 1 ]] || { cat "$work_dir/run.err" >&2; fail "list_vips exited $rc, want 1"; }
grep -q '^error: 14: ' "$work_dir/run.err" ||
  { cat "$work_dir/run.err" >&2; fail "list_vips did not report UNAVAILABLE"; }
# (d) The installed rapportctl finds its libraries through its RPATH.
"$work_dir/prefix/bin/rapportctl" --help >/dev/null ||
  fail "the installed rapportctl does not run"
echo "OK: $program"
