#!/usr/bin/env bash
# bench/window.sh - reading past the context: time per document token and peak
# memory by document length, with the context held fixed (docs/schedule.md).
#
#   bench/window.sh [-m MODEL.gguf] [--lengths "16384 65536 262144"] [-c 2048]
#                   [--segment-tokens 256] [-t THREADS] [--out DIR] [-- WIM FLAGS]
#
# Each length is read once in wim mode with margins and answers to their limits
# and every margin kept (--fixed-length --assume-relevant: the worst case, the
# same in every run), in a window of the -c context; a table of milliseconds a
# thousand document tokens, their ratio to the shortest length's, and peak RSS.
# Not a test: timings drift, so run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

model=build/models/tiny-qwen2.gguf lengths="16384 65536 262144" ctx=2048 seg=256
threads=$(nproc) out=build/bench-window extra=()
while [ $# -gt 0 ]; do
  case $1 in
    -m) model=$2; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    -c) ctx=$2; shift 2 ;;
    --segment-tokens) seg=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "window.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
mkdir -p "$out"
echo "| document tokens | window | segments let go | ms / 1k tokens | ratio | peak RSS MB |"
echo "|---|---|---|---|---|---|"
first=""
for n in $lengths; do
  doc=$out/doc-$n.txt
  [ -s "$doc" ] || build/bin/wim-mkdoc -m "$model" --tokens "$n" -o "$doc" >/dev/null
  /usr/bin/time -f "%M" -o "$out/rss-$n" build/bin/wim -m "$model" -f "$doc" -q "What happened?" \
    -c "$ctx" --segment-tokens "$seg" --max-margin-tokens 16 --max-verdict-tokens 4 \
    --max-answer-tokens 8 --fixed-length --assume-relevant -t "$threads" --json "${extra[@]}" \
    >"$out/run-$n.jsonl" 2>/dev/null
  done_line=$(grep '"event":"done"' "$out/run-$n.jsonl")
  /usr/bin/python3 - "$n" "$(cat "$out/rss-$n")" "${first:-}" "$done_line" <<'PY' | tee "$out/row-$n"
import json, sys
n, rss, first, done = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
per = done["total_ms"] / n * 1000
ratio = per / float(first) if first else 1.0
print(f"| {n} | {done['window']} | {done['segments_let_go']} | {per:.1f} | {ratio:.2f} | {rss / 1024:.0f} |")
PY
  [ -n "$first" ] || first=$(awk -F'|' '{gsub(/ /, "", $5); print $5}' "$out/row-$n")
done
