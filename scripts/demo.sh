#!/usr/bin/env bash
# demo.sh - set up, make the default model if there is none, and answer the
# sample question over the sample document. Extra arguments go to wim
# (e.g. --json, --mode llm). WIM_MODEL=path.gguf uses a real model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=${WIM_MODEL:-models/qwen2-0.5b.gguf}
if [ ! -f "$model" ]; then
  echo "demo: making $model, a random-weight Qwen2.5-0.5B-shaped model (about 500 MB)" >&2
  build/bin/wim-mkmodel --preset qwen2-0.5b -o "$model" >&2
fi
if [ -z "${WIM_MODEL:-}" ]; then
  echo "demo: this model has random weights: its margins and answer are noise, its cost is real." >&2
  echo "demo: for real answers: WIM_MODEL=/path/to/Qwen2.5-7B-Instruct-Q4_K_M.gguf $0" >&2
fi
exec build/bin/wim -m "$model" -f examples/harbor-records.txt \
  -q "$(cat examples/harbor-question.txt)" "$@"
