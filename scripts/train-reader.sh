#!/usr/bin/env bash
# train-reader.sh - train the reader model from nothing and write it where the
# project keeps it (tools/reader/reader.gguf, with its SHA-256 beside it).
#
#   scripts/train-reader.sh [--steps N] [--tail N] [--threads N] [--out DIR]
#
# About two and a half hours on two cores (0.5-0.7 s a step): 11000 steps of
# the main schedule, then a tail of 3000 at a tenth of the rate with places and
# names of any shape. The vocabulary is the committed tools/reader/sp.model
# (train.py vocab makes a new one). Installs Debian's python3-torch,
# python3-sentencepiece, python3-numpy, libopenblas0-pthread (Debian's torch on
# its reference BLAS is 6.6x slower) and fortunes (filler prose); llama.cpp's
# gguf-py comes from the pinned source (scripts/deps.sh). The same seed and
# step count give the same model on the same kind of machine.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build-reader
steps=11000
tail=3000
threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --tail) tail=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "train-reader: unknown option $1 (--steps N, --tail N, --threads N, --out DIR)" >&2; exit 1 ;;
  esac
done

want=(python3-torch python3-sentencepiece python3-numpy libopenblas0-pthread fortunes)
missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
eval "$(scripts/deps.sh)"
py=/usr/bin/python3 # Debian's, where its torch is installed
export PYTHONPATH=$LLAMA_SRC/gguf-py OPENBLAS_NUM_THREADS=1

mkdir -p "$out"
[ -f "$out/sp.model" ] || cp tools/reader/sp.model "$out/sp.model"
$py tools/reader/train.py train "$out" --steps "$steps" --tail "$tail" --threads "$threads"
$py tools/reader/train.py export "$out" -o tools/reader/reader.gguf
sha256sum tools/reader/reader.gguf | cut -d' ' -f1 >tools/reader/reader.sha256
echo "train-reader: wrote tools/reader/reader.gguf ($(cut -c1-16 tools/reader/reader.sha256)...)" >&2
