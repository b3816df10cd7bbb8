# serve.sh - sourced by the tests' run.sh scripts: start wim-server on a free port.
#   serve LOG SERVER [ARGS...]   starts it (--port 0), waits until it says where it
#                                listens (at most 30 s), sets $url and $pid, and stops
#                                it when the script exits
serve() {
  local log=$1
  shift
  "$@" --port 0 2>"$log" &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
  url=
  for _ in $(seq 300); do
    url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" || true)
    [ -n "$url" ] && return 0
    kill -0 $pid 2>/dev/null || { echo "serve: wim-server did not start: $(cat "$log")" >&2; exit 1; }
    sleep 0.1
  done
  echo "serve: wim-server did not start in 30 s" >&2
  exit 1
}
