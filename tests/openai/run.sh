#!/usr/bin/env bash
# run.sh - the OpenAI client test under CTest: start wim-server with a key on a
# free port with a tiny made model, talk to it with curl and with OpenAI's own
# JavaScript client (client.test.mjs), stop it.
#   run.sh SERVER MODEL OUTDIR
set -euo pipefail
server=$1 model=$2 out=$3
cd "$(dirname "$0")"
[ -d node_modules/openai ] || npm ci --silent --no-audit --no-fund
mkdir -p "$out"
log=$out/server.log key=test-key-$$
echo "$key" >"$out/key"
source ../serve.sh
serve "$log" "$server" -m "$model" -t 1 -c 16384 --api-key-file "$out/key"

# curl, as the README shows it: a streamed chat ends with [DONE]
curl -sfN "$url/v1/chat/completions" -H "Authorization: Bearer $key" \
  -d '{"model": "any", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "stream": true}' \
  >"$out/curl.txt"
grep -q '"object":"chat.completion.chunk"' "$out/curl.txt" || { echo "run.sh: curl got no chunks" >&2; exit 1; }
[ "$(tail -n 2 "$out/curl.txt" | head -n 1)" = "data: [DONE]" ] ||
  { echo "run.sh: curl's stream does not end with [DONE]: $(tail -3 "$out/curl.txt")" >&2; exit 1; }
echo "curl: streamed $(grep -c '^data: {' "$out/curl.txt") chunks, then [DONE]"

node client.test.mjs "$url" "$key"
