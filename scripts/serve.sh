#!/usr/bin/env bash
# serve.sh - set up and start wim-server with the reader (docs/reader.md);
# then open http://127.0.0.1:8080/ in a browser, paste a story and ask where
# someone is. Extra arguments go to wim-server (e.g. --port 9000, --api-key
# KEY). WIM_MODEL=path.gguf serves a model of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${WIM_MODEL:-}" ]; then
  exec build/bin/wim-server -m "$(bash scripts/default-model.sh)" "$@"
fi
exec build/bin/wim-server -m "$(bash scripts/default-model.sh reader)" --segment-tokens 256 \
  --max-margin-tokens 24 --max-verdict-tokens 16 --max-answer-tokens 8 "$@"
