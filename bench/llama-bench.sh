#!/usr/bin/env bash
# bench/llama-bench.sh MODEL THREADS "LENGTHS" - llama.cpp's own prefill rate over a whole
# document of each length, for the engine-overhead ratio in bench/summarize.sh.
# Builds llama-bench once from the pinned source into the cache. Prints "length,depth,tok/s".
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 threads=$2 lengths=$3
eval "$(scripts/deps.sh)"
src=$(dirname "$VOCAB_DIR")
build=${WIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wim}/llama-bench-$(basename "$src")
if [ ! -x "$build/bin/llama-bench" ]; then
  echo "bench: building llama-bench (a few minutes)" >&2
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF >/dev/null
  cmake --build "$build" --target llama-bench -j "$(nproc)" >/dev/null
fi
# The llm run's reading: the whole document from an empty cache, in 512-token micro-batches.
for len in $lengths; do
  rate=$("$build/bin/llama-bench" -m "$model" -t "$threads" -p "$len" -n 0 -b 512 -ub 512 -r 1 \
    -o csv 2>/dev/null | tail -1 | awk -F, '{ gsub(/"/, ""); print $(NF-1) }')
  echo "$len,0,$rate"
done
