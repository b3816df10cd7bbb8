#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets of tests/fuzz (clang, with ASan and
# UBSan) in build-fuzz/, and run each for N seconds, one after another, on a
# scratch copy of its seeds (tests/fuzz/corpus/TARGET/ is never grown), with
# the words of its input (tests/fuzz/TARGET.dict).
# Fails if any target crashes, leaks, hangs or runs out of memory, naming the
# input that did it: `build-fuzz/bin/fuzz_TARGET FILE` shows it again.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]    N: 60; TARGET: all of them
#   (segment template verdict request docfile extract)
set -euo pipefail
cd "$(dirname "$0")/.."

all=(segment template verdict request docfile extract)
seconds=60 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 1 ;;
    *) [[ " ${all[*]} " == *" $1 "* ]] || { echo "fuzz: no target $1 (${all[*]})" >&2; exit 1; }
       targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
command -v clang >/dev/null || { echo "fuzz: clang is missing: run scripts/setup.sh" >&2; exit 1; }

# Only the targets (and the model maker, for docfile's model) are built.
build=build-fuzz
eval "$(scripts/deps.sh)"
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWIM_FUZZ=ON -DCMAKE_C_COMPILER=clang
            -DCMAKE_CXX_COMPILER=clang++)
[ ! -d "$LLAMA_PREFIX/lib/cmake/llama" ] ||
  cmake_args+=(-Dllama_DIR="$LLAMA_PREFIX/lib/cmake/llama" -Dggml_DIR="$LLAMA_PREFIX/lib/cmake/ggml")
cmake -S . -B "$build" "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$LLAMA_PREFIX" \
  -DWIM_VOCAB_DIR="$VOCAB_DIR" -DWIM_LLAMA_SRC="$LLAMA_SRC" >/dev/null
# a failed build fails here, so no stale target from a reused folder runs
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" wim-mkmodel >"$build/build.log" 2>&1 ||
  { grep -E "error|Error" "$build/build.log" >&2 || tail -20 "$build/build.log" >&2
    echo "fuzz: build failed" >&2; exit 1; }
model=$build/models/tiny.gguf
[ -f "$model" ] || "$build/bin/wim-mkmodel" --preset tiny -o "$model" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  dir=$build/run/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/tmp"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  # docfile saves its own seed first: a document of this model and its options
  if TMPDIR=$dir/tmp WIM_FUZZ_MODEL=$model WIM_FUZZ_SEED=$dir/corpus/saved.wim \
     "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=30 -artifact_prefix="$dir/" \
     -dict=tests/fuzz/"$t".dict "$dir/corpus" >"$dir/log" 2>&1; then
    echo "fuzz: $t: $(grep -E '^#[0-9]+' "$dir/log" | tail -1 | tr -s ' \t' ' ')" >&2
  else
    failed+=("$t")
    tail -40 "$dir/log" >&2
    again="$build/bin/fuzz_$t"
    [ "$t" != docfile ] || again="WIM_FUZZ_MODEL=$model $again"
    for f in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
      [ ! -e "$f" ] || echo "fuzz: $t FAILED on $f (again: $again $f)" >&2
    done
    echo "fuzz: $t FAILED (its log: $dir/log)" >&2
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}" >&2; exit 1; }
