#!/usr/bin/env bash
# setup.sh - install what wim needs on a fresh Debian machine, fetch and build
# the pinned llama.cpp (cached), and build wim into build/ (programs in build/bin/).
#
#   scripts/setup.sh              release build in build/
#   scripts/setup.sh --sanitize   ASan + UBSan build in build-asan/
#   scripts/setup.sh --cuda       release build on llama.cpp built for this machine's
#                                 NVIDIA GPU (needs the CUDA toolkit) in build-cuda/
#   scripts/setup.sh --avx2       release build on llama.cpp built for any x86-64 CPU
#                                 with AVX2 (not for this one) in build-avx2/: other
#                                 kernels, which round otherwise, for tests that must
#                                 hold on every CPU
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
case "${1:-}" in
  --sanitize)
    build=build-asan
    cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWIM_SANITIZE=ON) ;;
  --cuda)
    build=build-cuda
    # one GPU: NCCL (for several) would be one more library to link
    export WIM_LLAMA_CMAKE_ARGS="-DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF ${WIM_LLAMA_CMAKE_ARGS:-}"
    export WIM_LLAMA_KEY=-cuda ;;
  --avx2)
    build=build-avx2
    export WIM_LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF ${WIM_LLAMA_CMAKE_ARGS:-}"
    export WIM_LLAMA_KEY=-avx2 ;;
  "") ;;
  *) echo "setup: unknown option $1 (--sanitize, --cuda or --avx2)" >&2; exit 1 ;;
esac

install_packages() {
  # WIM_NO_APT=1: the libraries come from elsewhere (found by pkg-config), e.g. offline
  [ -n "${WIM_NO_APT:-}" ] && return
  local want=(build-essential cmake pkg-config git ca-certificates libicu-dev libcjson-dev
              libmicrohttpd-dev libcmocka-dev libxxhash-dev libpoppler-glib-dev libxml2-dev
              libcairo2-dev qpdf gnuplot-nox chromium nginx
              clang libclang-rt-dev python3-venv python3-pip python3-setuptools python3-wheel python3-pytest
              dpkg-dev file) missing=()
  command -v npm >/dev/null || want+=(npm)
  for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  echo "setup: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_packages
eval "$(scripts/deps.sh)"
# the package folders by name where we built them, so a build folder follows a changed prefix
[ ! -d "$LLAMA_PREFIX/lib/cmake/llama" ] ||
  cmake_args+=(-Dllama_DIR="$LLAMA_PREFIX/lib/cmake/llama" -Dggml_DIR="$LLAMA_PREFIX/lib/cmake/ggml")
cmake -S . -B "$build" "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$LLAMA_PREFIX" \
  -DWIM_VOCAB_DIR="$VOCAB_DIR" -DWIM_LLAMA_SRC="$LLAMA_SRC" >/dev/null
# a failed build fails set-up: the tests never run stale programs left in a reused folder
log=$(mktemp)
if ! cmake --build "$build" -j "$(nproc)" >"$log" 2>&1; then
  grep -E "error|Error" "$log" >&2 || tail -20 "$log" >&2
  rm -f "$log"
  echo "setup: build failed" >&2
  exit 1
fi
grep -E "warning" "$log" >&2 || true
rm -f "$log"
# the browser test's driver and OpenAI's client, pinned by their package-lock.json
[ -d tests/browser/node_modules/playwright-core ] || ! command -v npm >/dev/null ||
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
[ -d tests/openai/node_modules/openai ] || ! command -v npm >/dev/null ||
  (cd tests/openai && npm ci --silent --no-audit --no-fund)
echo "setup: built $build/bin/wim and $build/bin/wim-mkmodel" >&2
