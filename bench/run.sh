#!/usr/bin/env bash
# bench/run.sh - what WiM costs against the plain long-context run, by document length.
#
#   bench/run.sh [--quick] [-m MODEL.gguf] [--lengths "2048 4096 8192 16384 32768"]
#                [--reps 3] [--segment-tokens 4096] [-t THREADS] [--out DIR] [--llama-bench]
#                [--bin DIR] [-ngl N] [--schedules "llm wim-ovl ..."] [-- WIM FLAGS...]
#
# For each length it times, in alternating order within each round:
#   llm          whole document, then the question
#   rag          classifier on raw segments
#   wim-seq      WiM, margins right after each segment (the reference schedule)
#   wim-ovl      WiM, margins riding in the next segments' prefill (two-pass verdicts)
#   wim-ovl-1p   the same with one-pass verdicts
#   ask-wim      a second question from a stored document (--load-doc)
#   ask-llm      a second llm question with the document's cache reused (--load-doc)
# Margins, verdicts and answers run to their limits and every margin is kept
# (--fixed-length --assume-relevant): the worst case, the same in every run.
# --schedules times only those (llm always, for the ratios). Every run also
# records its speculative decoding: tokens drafted and accepted, tokens a step.
# Writes DIR/runs.csv (every run), DIR/summary.csv and DIR/summary.md (medians,
# ratios to llm from the same rounds), DIR/time.png. Not a test: timings drift.
# On a GPU: scripts/setup.sh --cuda, then bench/run.sh --bin build-cuda/bin -ngl 99.
set -euo pipefail
cd "$(dirname "$0")/.."

model=models/qwen2-0.5b.gguf preset=qwen2-0.5b
lengths="2048 4096 8192 16384" reps=3 threads=$(nproc) out=bench/out llama_bench="" seg=4096
bin=build/bin ngl=0 extra=() only=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) model=build/models/tiny-qwen2.gguf preset=tiny-qwen2 lengths="1024 2048" seg=512 ;;
    -m) model=$2 preset=""; shift ;;
    --lengths) lengths=$2; shift ;;
    --reps) reps=$2; shift ;;
    --segment-tokens) seg=$2; shift ;;
    -t) threads=$2; shift ;;
    --out) out=$2; shift ;;
    --llama-bench) llama_bench=1 ;;
    --bin) bin=$2; shift ;;
    -ngl) ngl=$2; shift ;;
    --schedules) only=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done

[ -x "$bin/wim" ] || bash scripts/setup.sh
if [ ! -f "$model" ]; then
  [ -n "$preset" ] || { echo "bench: no model $model" >&2; exit 1; }
  "$bin/wim-mkmodel" --preset "$preset" -o "$model" >&2
fi
mkdir -p "$out/docs"
schedules="llm rag wim-seq wim-ovl wim-ovl-1p ask-wim ask-llm"
if [ -n "$only" ]; then
  for s in $only; do
    [[ " $schedules " == *" $s "* ]] || { echo "bench: unknown schedule $s (one of: $schedules)" >&2; exit 1; }
  done
  schedules="llm $(echo " $only " | sed 's/ llm / /g')"
fi
q1="Which boat carried the most salt to Orrin?"
q2="On which day was flax reported spoiled?"

flags_for() {
  case $1 in
    llm) echo "--mode llm" ;;
    rag) echo "--mode rag" ;;
    wim-seq) echo "--schedule sequential" ;;
    wim-ovl) echo "--schedule overlap" ;;
    wim-ovl-1p) echo "--schedule overlap --classify one-pass" ;;
    ask-wim) echo "--load-doc $out/docs/$2.wimdoc" ;;
    ask-llm) echo "--mode llm --load-doc $out/docs/$2.wimdoc" ;;
  esac
}

# A document a little under the length, so segments divide it evenly.
prepare() {
  local len=$1 doc=$out/docs/$1.txt
  [ -f "$doc" ] || "$bin/wim-mkdoc" -m "$model" --tokens $((len - len / 64)) -o "$doc" >&2
  [ -f "$out/docs/$len.wimdoc" ] || "$bin/wim" -m "$model" -f "$doc" -q "$q1" -t "$threads" -ngl "$ngl" \
    --segment-tokens "$seg" \
    --fixed-length --assume-relevant --quiet "${extra[@]}" --save-doc "$out/docs/$len.wimdoc" >/dev/null
}

# One timed run; appends a row to runs.csv.
run_one() {
  local len=$1 sched=$2 round=$3 q=$q1 input
  case $sched in ask-*) q=$q2; input="" ;; *) input="-f $out/docs/$len.txt" ;; esac
  # shellcheck disable=SC2046
  /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" "$bin/wim" -m "$model" $input -q "$q" \
    -t "$threads" -ngl "$ngl" --segment-tokens "$seg" --fixed-length --assume-relevant --json --quiet \
    $(flags_for "$sched" "$len") "${extra[@]}" \
    >"$out/events.jsonl"
  local done_line start_line
  done_line=$(grep '"event":"done"' "$out/events.jsonl")
  start_line=$(head -1 "$out/events.jsonl")
  field() { echo "$1" | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }
  read -r wall user sys rss <"$out/time.txt"
  echo "$len,$sched,$round,$wall,$user,$sys,$rss,$(field "$start_line" doc_tokens),$(field "$start_line" segments),$(field "$done_line" prefill_tokens),$(field "$done_line" prefill_ms),$(field "$done_line" decode_tokens),$(field "$done_line" decode_ms),$(field "$done_line" decode_steps),$(field "$done_line" draft_tokens),$(field "$done_line" draft_accepted)" >>"$out/runs.csv"
  echo "bench: $len tokens, $sched, round $round: ${wall}s wall, ${rss} KB" >&2
}

echo "length,schedule,round,wall_s,user_s,sys_s,rss_kb,doc_tokens,segments,prefill_tokens,prefill_ms,decode_tokens,decode_ms,decode_steps,draft_tokens,draft_accepted" >"$out/runs.csv"
for len in $lengths; do prepare "$len"; done
for round in $(seq 1 "$reps"); do
  for len in $lengths; do
    # rotate the order each round, so no schedule always runs first or last
    read -r -a all <<<"$schedules"
    k=$(((round - 1) % ${#all[@]}))
    order="${all[*]:k} ${all[*]:0:k}"
    for sched in $order; do run_one "$len" "$sched" "$round"; done
  done
done

if ! command -v gnuplot >/dev/null && [ "$(id -u)" -eq 0 ]; then
  apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || true
fi
if [ -n "$llama_bench" ]; then
  bash bench/llama-bench.sh "$model" "$threads" "$lengths" >"$out/llama-bench.csv"
fi
bash bench/summarize.sh "$out"
