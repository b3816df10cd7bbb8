#!/usr/bin/env bash
# serve.sh - set up, make the default model if there is none, and start
# wim-server; then open http://127.0.0.1:8080/ in a browser and watch a
# document being read. Extra arguments go to wim-server (e.g. --port 9000,
# --api-key KEY). WIM_MODEL=path.gguf serves a real model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=$(bash scripts/default-model.sh)
exec build/bin/wim-server -m "$model" "$@"
