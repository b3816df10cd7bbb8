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
export WIM_TEST_SLOW_MS=100
source ../serve.sh
serve "$log" "$server" -m "$model" -t 1 -c 16384
node page.test.mjs "$url" "$out"
