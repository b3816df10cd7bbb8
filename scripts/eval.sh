#!/usr/bin/env bash
# eval.sh - the paper's comparison in one command: make the data (generated
# cwe and needle sets, and HotpotQA / MultiHop-RAG when their files are given)
# at each length in the model's tokens, then run wim-eval over all of it.
#
#   scripts/eval.sh -m MODEL.gguf [--count 100] [--lengths "16384 32768 65536"]
#                   [--hotpotqa hotpot_dev_distractor_v1.json]
#                   [--multihop-rag corpus.json MultiHopRAG.json]
#                   [--out eval-out] [-- more wim-eval flags, e.g. --judge same -t 8]
#
# Data files go to OUT/data/ and are made once; rerunning resumes the evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."

model="" count=100 lengths="16384 32768 65536" out=eval-out hotpot="" mh_corpus="" mh_queries=""
while [ $# -gt 0 ]; do
  case "$1" in
    -m) model=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --hotpotqa) hotpot=$2; shift 2 ;;
    --multihop-rag) mh_corpus=$2; mh_queries=$3; shift 3 ;;
    --) shift; break ;;
    *) echo "eval.sh: unknown option '$1' (see the top of $0)" >&2; exit 1 ;;
  esac
done
[ -n "$model" ] || { echo "eval.sh: no model given: use -m MODEL.gguf" >&2; exit 1; }
[ -x build/bin/wim-eval ] || bash scripts/setup.sh

eval_bin=build/bin/wim-eval
mkdir -p "$out/data"
data=()
# make NAME ARGS...: writes OUT/data/NAME.jsonl once
make() {
  local name=$1; shift
  local file="$out/data/$name.jsonl"
  [ -s "$file" ] || "$eval_bin" "$@" -m "$model" -o "$file"
  data+=(--data "$file")
}
for n in $lengths; do
  k=$((n / 1024))k
  make "cwe-$k" --generate cwe --tokens "$n" --count "$count"
  make "needle-$k" --generate needle --tokens "$n" --count "$count"
  [ -z "$hotpot" ] || make "hotpotqa-$k" --convert hotpotqa --input "$hotpot" --tokens "$n" --count "$count"
  [ -z "$mh_corpus" ] || make "multihop-rag-$k" --convert multihop-rag --input "$mh_queries" \
    --corpus "$mh_corpus" --tokens "$n" --count "$count"
done
exec "$eval_bin" -m "$model" "${data[@]}" --out "$out" "$@"
