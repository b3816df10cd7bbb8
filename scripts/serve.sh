#!/usr/bin/env bash
# serve.sh - set up, make the default model if there is none, and start
# wim-server; then open http://127.0.0.1:8080/ in a browser and watch a
# document being read. Extra arguments go to wim-server (e.g. --port 9000,
# --api-key KEY). WIM_MODEL=path.gguf serves a real model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=${WIM_MODEL:-models/qwen2-0.5b.gguf}
if [ ! -f "$model" ]; then
  echo "serve: making $model, a random-weight Qwen2.5-0.5B-shaped model (about 500 MB)" >&2
  build/bin/wim-mkmodel --preset qwen2-0.5b -o "$model" >&2
fi
[ -n "${WIM_MODEL:-}" ] ||
  echo "serve: this model has random weights: its margins and answers are noise, its cost is real." >&2
exec build/bin/wim-server -m "$model" "$@"
