# Sourced by the load scripts in bench/: a scratch folder that goes away on exit, and a
# `voxgate serve` started on a free port and stopped again.
#
#   voxgate_serve BINARY [NAME=VALUE ...] [-- SERVE ARGS ...]
#       starts `BINARY serve --port 0 --log-level warn SERVE ARGS` with the environment
#       assignments, its stderr in $work/server.log; sets $pid and $port once it listens,
#       or prints the log and exits.
#   voxgate_stop      SIGTERM, then waits; returns the server's exit status.

work=$(mktemp -d)
pid=""
bench_cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap bench_cleanup EXIT

voxgate_serve() {
  local binary=$1
  shift
  local assignments=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do assignments+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rm -f "$work/port"
  env "${assignments[@]}" "$binary" serve --port 0 --port-file "$work/port" --log-level warn \
    "$@" 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
  port=$(cat "$work/port")
}

voxgate_stop() {
  local status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  pid=""
  return "$status"
}
