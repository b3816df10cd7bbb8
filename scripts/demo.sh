#!/usr/bin/env bash
# demo.sh - set up and answer a sample question over a sample document, with
# the reader (a small model trained here for wim's prompts, docs/reader.md):
# "Where is Orla?" over examples/ferry-town.txt, read in segments. Extra
# arguments go to wim (e.g. --json, --mode llm, --classify one-pass).
# WIM_MODEL=path.gguf reads the harbour records with a model of your own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${WIM_MODEL:-}" ]; then
  model=$(bash scripts/default-model.sh)
  exec build/bin/wim -m "$model" -f examples/harbor-records.txt \
    -q "$(cat examples/harbor-question.txt)" "$@"
fi
model=$(bash scripts/default-model.sh reader)
echo "demo: the reader is a 2 MB model trained for wim's prompts on generated stories; it" \
  "answers where a person is. For other questions: WIM_MODEL=/path/to/model.gguf $0" >&2
exec build/bin/wim -m "$model" -f examples/ferry-town.txt \
  -q "$(cat examples/ferry-town-question.txt)" --quoted-margins --quoted-answers --segment-tokens 128 \
  --max-margin-tokens 24 --max-verdict-tokens 16 --max-answer-tokens 8 "$@"
