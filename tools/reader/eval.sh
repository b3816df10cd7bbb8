#!/usr/bin/env bash
# eval.sh - the reader's quality on held-out sets (docs/reader.md): wim-eval's
# qa1 task (its own filler grammar, names and places, none of them in the
# reader's training) at 1x, 2x and 4x the segment size, in llm, rag and wim
# (two-pass), and wim one-pass; then exact-match accuracy with a 95% Wilson
# interval for each, and the margins' recall and the verdicts' precision
# (tools/reader/margins.py).
#
#   tools/reader/eval.sh [--count 200] [--segment-tokens 400] [--out eval-reader]
set -euo pipefail
cd "$(dirname "$0")/../.."

count=200 seg=400 out=eval-reader
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --segment-tokens) seg=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "eval.sh: unknown option $1 (--count N, --segment-tokens N, --out DIR)" >&2; exit 1 ;;
  esac
done
model=$(bash scripts/default-model.sh reader)
bin=build/bin/wim-eval
mkdir -p "$out/data"
data=()
for k in 1 2 4; do
  f=$out/data/qa1-${k}x.jsonl
  [ -s "$f" ] || "$bin" --generate qa1 --tokens $((k * seg)) --count "$count" --seed 2026 \
    -m "$model" -o "$f"
  data+=(--data "$f")
done
common=(-m "$model" "${data[@]}" --segment-tokens "$seg" --max-margin-tokens 24
        --max-answer-tokens 8 -t "$(nproc)" --quiet)
"$bin" "${common[@]}" --modes llm,rag,wim --out "$out/two-pass"
"$bin" "${common[@]}" --modes wim --classify one-pass --out "$out/one-pass"

# exact matches out of n, and Wilson's 95% interval, from each run's summary.csv
for run in two-pass one-pass; do
  /usr/bin/python3 - "$out/$run/summary.csv" "$run" <<'EOF'
import csv, math, sys
for r in csv.DictReader(open(sys.argv[1])):
    n, p = int(r["examples"]), float(r["exact"])
    z = 1.96
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    mode = r["mode"] + ("" if sys.argv[2] == "two-pass" else " one-pass")
    print(f"| {r['dataset']} | {mode} | {n} | {p:.3f} | [{c - h:.3f}, {c + h:.3f}] |")
EOF
done

echo "| set | examples | margin recall [95%] | kept margins | verdict precision [95%] |"
echo "|---|---|---|---|---|"
for k in 1 2 4; do
  for run in two-pass one-pass; do
    /usr/bin/python3 tools/reader/margins.py "$out/data/qa1-${k}x.jsonl" "$out/$run/results.jsonl" |
      sed "s/^| qa1-${k}x.jsonl/| qa1 ${k}x $run/"
  done
done
