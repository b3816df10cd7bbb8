#!/usr/bin/env bash
# default-model.sh - print the path of the model the demo and the server use:
# WIM_MODEL if set, else models/qwen2-0.5b.gguf, made first if missing (random
# weights in Qwen2.5-0.5B's shape). Run after setup.sh, from the repository root.
set -euo pipefail
if [ -n "${WIM_MODEL:-}" ]; then
  [ -f "$WIM_MODEL" ] || { echo "wim: error: WIM_MODEL: no file '$WIM_MODEL'" >&2; exit 1; }
  echo "$WIM_MODEL"
  exit 0
fi
model=models/qwen2-0.5b.gguf
if [ ! -f "$model" ]; then
  echo "wim: making $model, a random-weight Qwen2.5-0.5B-shaped model (about 500 MB)" >&2
  build/bin/wim-mkmodel --preset qwen2-0.5b -o "$model" >&2
fi
echo "wim: this model has random weights: its margins and answers are noise, its cost is real." >&2
echo "$model"
