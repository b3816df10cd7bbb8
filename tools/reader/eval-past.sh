#!/usr/bin/env bash
# eval-past.sh - the reader past its trained context (docs/eval.md): wim-eval's
# qa1 task at 1x, 4x, 16x and 64x the reader's 2048 tokens, read by wim in a
# window (src/window.c); llm at 4x with YaRN, the only way it can read them
# (llm and rag refuse every length here, even 1x: the document and the
# prompts pass the context). Exact match with Wilson's 95% interval and the
# mean wall time of an example, what the wrong answers were (errors.py), and
# a plot of exact match by length ($out/past.png).
#
#   tools/reader/eval-past.sh [--count 50] [--lengths "1 4 16 64"] [--out eval-past]
set -euo pipefail
cd "$(dirname "$0")/../.."

count=50 lengths="1 4 16 64" out=eval-past
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "eval-past.sh: unknown option $1 (--count N, --lengths \"1 4 ...\", --out DIR)" >&2; exit 1 ;;
  esac
done
model=$(bash scripts/default-model.sh reader)
bin=build/bin/wim-eval
ctx=2048
mkdir -p "$out/data"
yarn=  # llm with YaRN reads the 4x set, where 4x is among the lengths
[[ " $lengths " != *" 4 "* ]] || yarn=$out/llm-yarn-4x
# --quoted-margins: the reader's margins copy the facts they find, so one the
# text it was shown does not say is a broken copy or a repeat of a note carried;
# --quoted-answers: its answer restates a note (llm's has none to restate)
common=(-m "$model" --quoted-margins --quoted-answers --segment-tokens 256 --max-margin-tokens 24 --max-answer-tokens 8
        -t "$(nproc)" --quiet)
for k in $lengths; do
  f=$out/data/qa1-${k}x.jsonl
  [ -s "$f" ] || "$bin" --generate qa1 --tokens $((k * ctx)) --count "$count" --seed 2027 \
    -m "$model" -o "$f"
  "$bin" "${common[@]}" --data "$f" --modes wim --out "$out/wim-${k}x"
done
if [ -n "$yarn" ]; then
  "$bin" "${common[@]}" --data "$out/data/qa1-4x.jsonl" --modes llm -c $((4 * ctx + 256)) \
    --rope-scaling yarn --rope-scale 4 --out "$yarn"
fi

echo "| set | mode | examples | exact | 95% | mean wall s |"
echo "|---|---|---|---|---|---|"
for k in $lengths; do
  /usr/bin/python3 tools/reader/summary.py "$out/wim-${k}x/summary.csv"
  [ "$k" != 4 ] || /usr/bin/python3 tools/reader/summary.py "$yarn/summary.csv" YaRN
done
echo
echo "| set | mode | examples | right | an earlier move | another's place | no place of the story |"
echo "|---|---|---|---|---|---|---|"
for k in $lengths; do
  /usr/bin/python3 tools/reader/errors.py "$out/data/qa1-${k}x.jsonl" "$out/wim-${k}x/results.jsonl"
done

{
  echo "# wim"
  for k in $lengths; do
    /usr/bin/python3 tools/reader/summary.py --at $((k * ctx)) "$out/wim-${k}x/summary.csv"
  done
  if [ -n "$yarn" ]; then
    printf '\n\n# llm, YaRN\n'
    /usr/bin/python3 tools/reader/summary.py --at $((4 * ctx)) "$yarn/summary.csv"
  fi
} >"$out/past.dat"
gnuplot <<EOF
set terminal png size 800,500
set output '$out/past.png'
set title "the reader past its trained context (2048 tokens): exact match, 95% intervals"
set xlabel 'document tokens'
set logscale x 2
set xrange [1024:262144]
set grid
set yrange [0:1]
set ylabel 'exact match'
plot '$out/past.dat' index 0 using 1:2:3:4 with yerrorlines title 'wim (in a window)'${yarn:+, \\
     '' index 1 using 1:2:3:4 with yerrorbars pt 7 title 'llm, YaRN'}
EOF
