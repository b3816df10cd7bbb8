#!/usr/bin/env bash
# endpoints.sh - what OpenAI's shape costs: the same reading through POST /v1/wim
# and POST /v1/chat/completions (streamed), alternating, on one wim-server, and
# the ratio of their median wall times.
#   bench/endpoints.sh [-m MODEL.gguf] [--reps 5] [--sentences 300] [-t THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=build/models/tiny-qwen2.gguf reps=5 sentences=300 threads=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    -m) model=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --sentences) sentences=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    *) echo "endpoints.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
out=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
build/bin/wim-server -m "$model" --port 0 -t "$threads" --parallel 1 2>"$out/log" &
pid=$!
for _ in $(seq 300); do
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$out/log" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "endpoints.sh: wim-server did not start: $(cat "$out/log")" >&2; exit 1; }

# the same document, question and settings in both shapes; every margin and
# answer runs to its limit, so both do the same work
python3 - "$sentences" "$out" <<'EOF'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
doc = ' '.join(f'Barge {i} brought {i * 7 % 50} sacks of rye to Orrin on day {i % 28 + 1}.' for i in range(n))
q = 'Who brought the most rye?'
opts = {'segment_tokens': 1024, 'max_margin_tokens': 40, 'max_answer_tokens': 40, 'fixed_length': True}
json.dump({'document': doc, 'query': q, 'options': opts}, open(f'{out}/wim.json', 'w'))
json.dump({'model': 'm', 'stream': True, 'messages': [{'role': 'system', 'content': doc},
           {'role': 'user', 'content': q}], 'wim': {'mode': 'wim', 'options': opts}},
          open(f'{out}/chat.json', 'w'))
EOF

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # the server's CPU time, in ticks

run() { # endpoint body name: wall seconds of one streamed request, read to its end;
        # the server's CPU seconds for it go to $out/name.cpu
  local t0 t1 c0
  c0=$(cpu)
  t0=$(date +%s.%N)
  curl -sfN "$url$1" -d @"$out/$2" >"$out/last.txt"
  t1=$(date +%s.%N)
  echo "($(cpu) - $c0) / $(getconf CLK_TCK)" | bc -l >>"$out/$3.cpu"
  if grep -q '"error"' "$out/last.txt"; then
    echo "endpoints.sh: $1 failed: $(grep '"error"' "$out/last.txt")" >&2
    exit 1
  fi
  echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

run /v1/wim wim.json warm >/dev/null # warm: the model's pages, the allocator
for i in $(seq "$reps"); do
  if [ $((i % 2)) -eq 1 ]; then
    run /v1/wim wim.json wim >>"$out/wim.t"
    run /v1/chat/completions chat.json chat >>"$out/chat.t"
  else
    run /v1/chat/completions chat.json chat >>"$out/chat.t"
    run /v1/wim wim.json wim >>"$out/wim.t"
  fi
done
report() { # name label
  local w c
  w=$(median <"$out/$1.t") c=$(median <"$out/$1.cpu")
  printf '%-22s median wall %.2f s, server CPU %.2f s  (wall: %s)\n' "$2" "$w" "$c" \
    "$(xargs printf '%.2f ' <"$out/$1.t")"
}
echo "model $(basename "$model"), $sentences sentences, $reps alternating pairs, $(nproc) cores"
report wim /v1/wim
report chat /v1/chat/completions
echo "ratio chat/wim: wall $(echo "scale=3; $(median <"$out/chat.t") / $(median <"$out/wim.t")" | bc)," \
  "server CPU $(echo "scale=3; $(median <"$out/chat.cpu") / $(median <"$out/wim.cpu")" | bc)"
