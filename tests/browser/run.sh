#!/usr/bin/env bash
# run.sh - the browser test under CTest: start wim-server on a free port with a
# tiny made model, drive its page in headless Chromium (page.test.mjs), stop it.
#   run.sh SERVER MODEL OUTDIR     (the screenshot goes to OUTDIR/page.png)
set -euo pipefail
server=$1 model=$2 out=$3
cd "$(dirname "$0")"
[ -d node_modules/playwright-core ] || npm ci --silent --no-audit --no-fund
mkdir -p "$out"
log=$out/server.log
# 8192 cells for each of the two readings: the page's 64-token segments are many.
# Every step at least 100 ms (a test seam): the reading lasts long enough on any
# machine that the page's keep and stop always reach it while it reads.
WIM_TEST_SLOW_MS=100 "$server" -m "$model" --port 0 -t 1 -c 16384 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
url=
for _ in $(seq 300); do # until it says where it listens, at most 30 s
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { echo "run.sh: wim-server did not start: $(cat "$log")" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "run.sh: wim-server did not start in 30 s" >&2; exit 1; }
node page.test.mjs "$url" "$out"
