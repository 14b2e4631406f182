#!/usr/bin/env bash
# Builds the template plugin (sdk/examples/hello-plugin) out of tree, the way a
# partner would, against the SDK installed from <build dir>, then checks the
# library it produced:
#   - it exports exactly rapport_plugin_manifest and rapport_plugin_create;
#   - it does not carry its own copy of the core protos (their code must come
#     from librapport_sdk.so, or the server aborts when loading it).
# Writes the plugin's path to <work dir>/hello_plugin_path for load tests.
#
# Usage: build_hello_plugin.sh <build dir> <work dir>
# <work dir> is deleted and re-created first.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <build dir> <work dir>" >&2
  exit 2
fi
build_dir=$(realpath "$1")
work_dir=$(realpath -m "$2")
source_dir=$(realpath "$(dirname "$0")/../../sdk/examples/hello-plugin")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work_dir"
mkdir -p "$work_dir"

# (a) Install the SDK component only.
cmake --install "$build_dir" --component sdk --prefix "$work_dir/sdk" >/dev/null

# (b) Configure the template as its own project. ccache keeps reruns fast.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -G Ninja -S "$source_dir" -B "$work_dir/hello-build" \
  -DCMAKE_PREFIX_PATH="$work_dir/sdk" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" >"$work_dir/configure.log" 2>&1 ||
  { cat "$work_dir/configure.log" >&2; fail "configuring hello-plugin"; }

# (c) Build it.
cmake --build "$work_dir/hello-build" >"$work_dir/build.log" 2>&1 ||
  { cat "$work_dir/build.log" >&2; fail "building hello-plugin"; }

plugin="$work_dir/hello-build/libhello_plugin.so"
[[ -f "$plugin" ]] || fail "$plugin was not built"

# (d) Exported symbols. With -fvisibility=hidden only the two aliases should
# be exported. What may remain is unavoidable and harmless: weak ('W'/'V') or
# unique ('u') definitions that the compiler emits for templates and inline
# statics of libstdc++ (its namespace std is declared with default visibility,
# so an instantiation over std types only is exported by every library that
# instantiates it, and the dynamic linker picks one). We allow those when
# they belong to std:: or __gnu_cxx:: and fail on anything else.
mapfile -t symbols < <(nm -D --defined-only "$plugin" | awk '{print $2 " " $3}')
found_manifest=0
found_create=0
unexpected=()
for entry in "${symbols[@]}"; do
  type=${entry%% *}
  name=${entry#* }
  case "$name" in
    rapport_plugin_manifest) found_manifest=1; continue ;;
    rapport_plugin_create) found_create=1; continue ;;
  esac
  if [[ "$type" == [WVu] ]]; then
    demangled=$(c++filt "$name")
    if [[ "$demangled" =~ ^(typeinfo\ (name\ )?for\ |vtable\ for\ |guard\ variable\ for\ )?(std|__gnu_cxx):: ]] ||
       [[ "$demangled" =~ ^([a-z_]+(\ const)?[\*\&]*\ )+(std|__gnu_cxx):: ]]; then
      continue
    fi
  fi
  unexpected+=("$type $name ($(c++filt "$name"))")
done
[[ $found_manifest -eq 1 ]] || fail "rapport_plugin_manifest is not exported"
[[ $found_create -eq 1 ]] || fail "rapport_plugin_create is not exported"
if [[ ${#unexpected[@]} -gt 0 ]]; then
  printf '  %s\n' "${unexpected[@]}" >&2
  fail "the plugin exports symbols besides the two RAPPORT_PLUGIN aliases"
fi

# (e) No private copy of the core protos: their descriptor tables must be
# undefined here (resolved from librapport_sdk.so), never defined.
if nm --defined-only "$plugin" | grep -q 'descriptor_table_rapport_2fv1_2f'; then
  nm --defined-only "$plugin" | grep 'descriptor_table_rapport_2fv1_2f' >&2
  fail "the plugin contains generated code of the core protos"
fi
nm -D --undefined-only "$plugin" |
  grep -q 'descriptor_table_rapport_2fv1_2fcontact_2eproto' ||
  fail "the plugin does not use librapport_sdk.so for rapport/v1/contact.proto"
ldd "$plugin" | grep -q 'librapport_sdk\.so\.1' ||
  fail "the plugin is not linked to librapport_sdk.so.1"
if ldd "$plugin" | grep -q 'not found'; then
  ldd "$plugin" >&2
  fail "the plugin has unresolved library dependencies"
fi

echo "$plugin" >"$work_dir/hello_plugin_path"
echo "OK: $plugin"
