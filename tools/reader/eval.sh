#!/usr/bin/env bash
# eval.sh - the reader's quality on held-out sets (docs/reader.md): wim-eval's
# qa1 task (its own filler grammar, names and places, none of them in the
# reader's training) at 1x, 2x and 4x the segment size, in llm, rag and wim
# (two-pass), and wim one-pass; then exact-match accuracy with a 95% Wilson
# interval for each, the margins' recall and the verdicts' precision
# (tools/reader/margins.py), and what the wrong answers were (errors.py).
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
# --quoted-margins: the reader's margins copy the facts they find, and
# --quoted-answers: its answer restates a note (rag and llm write none, and
# answer from the text alone)
common=(-m "$model" "${data[@]}" --quoted-margins --quoted-answers --segment-tokens "$seg" --max-margin-tokens 24
        --max-answer-tokens 8 -t "$(nproc)" --quiet)
"$bin" "${common[@]}" --modes llm,rag,wim --out "$out/two-pass"
"$bin" "${common[@]}" --modes wim --classify one-pass --out "$out/one-pass"

echo "| set | mode | examples | exact | 95% | mean wall s |"
echo "|---|---|---|---|---|---|"
/usr/bin/python3 tools/reader/summary.py "$out/two-pass/summary.csv"
/usr/bin/python3 tools/reader/summary.py "$out/one-pass/summary.csv" one-pass

echo
echo "| set | examples | margin recall [95%] | kept margins | verdict precision [95%] |"
echo "|---|---|---|---|---|"
for k in 1 2 4; do
  for run in two-pass one-pass; do
    /usr/bin/python3 tools/reader/margins.py "$out/data/qa1-${k}x.jsonl" "$out/$run/results.jsonl" |
      sed "s/^| qa1-${k}x.jsonl/| qa1 ${k}x $run/"
  done
done

echo
echo "| set | mode | examples | right | an earlier move | another's place | no place of the story |"
echo "|---|---|---|---|---|---|---|"
for k in 1 2 4; do
  /usr/bin/python3 tools/reader/errors.py "$out/data/qa1-${k}x.jsonl" "$out/two-pass/results.jsonl"
  /usr/bin/python3 tools/reader/errors.py "$out/data/qa1-${k}x.jsonl" "$out/one-pass/results.jsonl" one-pass
done
