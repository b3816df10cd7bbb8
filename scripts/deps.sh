#!/usr/bin/env bash
# deps.sh - fetch, verify and build the pinned llama.cpp that wim links against.
#
# llama.cpp reaches us inside the npm package node-llama-cpp, which carries the
# release source as a git bundle. We pin the package version and both checksums,
# build the static llama and ggml libraries and llama.cpp's own "common" library
# (its Jinja chat templates), and cache the result outside the clone, keyed by
# version and CPU, so later runs and CI reuse it. An installed llama.cpp (CMake
# package "llama" with its llama-common library) is preferred where one exists.
#
# Prints three lines for the caller: LLAMA_PREFIX=..., LLAMA_SRC=... (common's
# headers) and VOCAB_DIR=...
set -euo pipefail

NLC_VERSION=3.22.1
NLC_SHA256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
BUNDLE_SHA256=5f5d1105d5df040738d87b8290e5d17e7362131cdcfdb0831618e0ea528b4a51

cache=${WIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wim}
src=$cache/llama.cpp-$NLC_VERSION
mkdir -p "$cache"

fetch_source() {
  [ -f "$src/include/llama.h" ] && return
  local tmp
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null)
  echo "$NLC_SHA256  $tmp/node-llama-cpp-$NLC_VERSION.tgz" | sha256sum -c --quiet -
  tar -xzf "$tmp/node-llama-cpp-$NLC_VERSION.tgz" -C "$tmp" package/llama/gitRelease.bundle
  echo "$BUNDLE_SHA256  $tmp/package/llama/gitRelease.bundle" | sha256sum -c --quiet -
  rm -rf "$src"
  git clone --quiet "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null
  rm -rf "$tmp"
}

# The CPU's feature flags are part of the key: GGML_NATIVE builds for this CPU.
cpu_key() { grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-8; }

installed_llama() {
  for d in /usr/local/lib/cmake/llama /usr/lib/cmake/llama /usr/lib/*/cmake/llama; do
    # the chat templates need its common library too
    [ -f "$d/llama-config.cmake" ] && ls "$d"/../../libllama-common.* >/dev/null 2>&1 &&
      { dirname "$(dirname "$(dirname "$d")")"; return 0; }
  done
  return 1
}

build_llama() {
  local prefix=$1 build=$cache/build-$NLC_VERSION
  rm -rf "$build"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_SUBPROCESS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_OPENSSL=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DCMAKE_INSTALL_PREFIX="$prefix" ${WIM_LLAMA_CMAKE_ARGS:-} >"$cache/build.log" 2>&1
  cmake --build "$build" -j "$(nproc)" >>"$cache/build.log" 2>&1
  cmake --install "$build" >>"$cache/build.log" 2>&1
  # llama-common's install leaves out the two static libraries it links
  cp "$build"/common/libllama-common-base.a "$build"/vendor/cpp-httplib/libcpp-httplib.a "$prefix/lib/"
  rm -rf "$build"
}

fetch_source
prefix=""
if [ -z "${WIM_BUILD_LLAMA:-}" ] && prefix=$(installed_llama); then
  echo "deps: using installed llama.cpp in $prefix" >&2
else
  # -common: built with llama.cpp's common library (older caches lack it)
  prefix=$cache/llama-$NLC_VERSION-$(cpu_key)-common${WIM_LLAMA_KEY:-}
  # other build options, other libraries: their hash is part of the key too
  [ -z "${WIM_LLAMA_CMAKE_ARGS:-}" ] ||
    prefix=$prefix-$(echo "$WIM_LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-6)
  if [ ! -f "$prefix/.complete" ]; then
    echo "deps: building llama.cpp $NLC_VERSION into $prefix (a few minutes)" >&2
    build_llama "$prefix" || { echo "deps: llama.cpp build failed, see $cache/build.log" >&2; exit 1; }
    touch "$prefix/.complete"
  fi
fi
echo "LLAMA_PREFIX=$prefix"
echo "LLAMA_SRC=$src"
echo "VOCAB_DIR=$src/models"
