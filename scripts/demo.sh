#!/usr/bin/env bash
# demo.sh - set up, make the default model if there is none, and answer the
# sample question over the sample document. Extra arguments go to wim
# (e.g. --json, --mode llm). WIM_MODEL=path.gguf uses a real model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=$(bash scripts/default-model.sh)
[ -n "${WIM_MODEL:-}" ] ||
  echo "demo: for real answers: WIM_MODEL=/path/to/Qwen2.5-7B-Instruct-Q4_K_M.gguf $0" >&2
exec build/bin/wim -m "$model" -f examples/harbor-records.txt \
  -q "$(cat examples/harbor-question.txt)" "$@"
