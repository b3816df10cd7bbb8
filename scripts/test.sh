#!/usr/bin/env bash
# test.sh - set everything up and run every test (ctest + cmocka).
#   scripts/test.sh              the release build
#   scripts/test.sh --sanitize   the same tests built with ASan and UBSan
#   scripts/test.sh --avx2       the model matrix on llama.cpp built
#                                for AVX2 alone (the kernels of another CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "$@"
build=build
only=()
[ "${1:-}" = "--sanitize" ] && build=build-asan
[ "${1:-}" = "--avx2" ] && build=build-avx2 && only=(-R "models_|make_")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "${only[@]}"
