#!/usr/bin/env bash
# default-model.sh - print the path of a model the demo, the server and the
# tests use, from the repository root, after setup.sh:
#
#   default-model.sh          WIM_MODEL if set, else models/qwen2-0.5b.gguf, made
#                             first if missing (random weights in Qwen2.5-0.5B's
#                             shape: its cost is real, its text noise)
#   default-model.sh reader   the reader trained for wim's prompts
#                             (tools/reader/reader.gguf, docs/reader.md), its
#                             SHA-256 checked against tools/reader/reader.sha256
set -euo pipefail
if [ "${1:-}" = reader ]; then
  model=tools/reader/reader.gguf
  [ -f "$model" ] || { echo "wim: error: no $model: scripts/train-reader.sh makes it" >&2; exit 1; }
  want=$(cat tools/reader/reader.sha256)
  got=$(sha256sum "$model" | cut -d' ' -f1)
  [ "$got" = "$want" ] ||
    { echo "wim: error: $model is not the reader of tools/reader/reader.sha256" >&2; exit 1; }
  echo "$model"
  exit 0
fi
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
