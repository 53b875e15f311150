#!/usr/bin/env bash
# Recording-mode call webhooks through HAProxy to one and then two workers sharing a Redis
# (issue #7): how many new calls a second the worker pair answers, and how that grows from
# one worker to two. Each request is a new call (`POST /phone/incoming-call`, a fresh
# CallSid: greeting TwiML, the call record written through to Redis), then the same with
# the store in memory for comparison.
#
#   bench/scale_out_load.sh [path/to/voxgate]
#   DURATION=10s CONNECTIONS=64 THREADS=2 bench/scale_out_load.sh build/voxgate
#
# Everything runs on this machine: wrk, HAProxy, redis-server and the workers share its
# cores, so the figures are a floor, and growth from one worker to two is bounded by them.
# Development mode (no auth token) so that wrk can vary the CallSid; signing costs about
# 4 µs a request (docs/BENCHMARKS.md, issue #2).
set -euo pipefail

binary=${1:-build/voxgate}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
for tool in wrk haproxy redis-server; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "$tool is missing: run scripts/install-deps" >&2; exit 1; }
done
[ -x "$binary" ] || { echo "no voxgate binary at $binary: run make build" >&2; exit 1; }
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 - 2>/dev/null <<'PY' || shuf -i 20000-60000 -n 1
import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
PY
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

start_worker() {  # name, then env assignments
  local name=$1; shift
  env "$@" "$binary" serve --port 0 --port-file "$work/$name.port" --log-level warn \
    --io-threads 1 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
  [ -s "$work/$name.port" ] || { cat "$work/$name.log" >&2; exit 1; }
}

cat >"$work/new-call.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local n = 0
local thread_id = tostring(math.random(100000, 999999))
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, "AccountSid=AC0000&CallSid=CA" .. thread_id .. "x" .. n ..
    "&CallStatus=ringing&From=%2B14155550100&To=%2B14155550199")
end
LUA

run_case() {  # label, store (redis|memory), workers
  local label=$1 store=$2 workers=$3
  rm -f "$work"/*.port
  local env_store=()
  [ "$store" = redis ] && env_store=(REDIS_URL="redis://127.0.0.1:$redis_port")
  local servers=""
  for i in $(seq "$workers"); do
    start_worker "w$i" "${env_store[@]}"
    servers+="    server w$i 127.0.0.1:$(cat "$work/w$i.port")"$'\n'
  done
  local front
  front=$(free_port)
  cat >"$work/haproxy.cfg" <<EOF
global
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend http
    bind 127.0.0.1:$front
    default_backend voxgate
backend voxgate
    balance roundrobin
$servers
EOF
  "$haproxy_bin" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  local haproxy_pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$front/healthz" && break; sleep 0.05; done
  # Synthesize the greeting once before measuring (the TTS cache keeps it).
  curl -s -o /dev/null -d "CallSid=CAwarm&From=%2B1&To=%2B2" "http://127.0.0.1:$front/phone/incoming-call"
  echo "== $label"
  wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$work/new-call.lua" \
    "http://127.0.0.1:$front/phone/incoming-call" |
    grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
  kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true
  for i in $(seq "$workers"); do
    local p=${pids[${#pids[@]}-1]}
    kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
    unset 'pids[${#pids[@]}-1]'
  done
}

echo "machine: $(nproc) cores; wrk -t$threads -c$connections -d$duration; workers --io-threads 1"
run_case "1 worker, Redis" redis 1
run_case "2 workers, Redis" redis 2
run_case "1 worker, memory store" memory 1
run_case "2 workers, memory store (no shared state: for throughput only)" memory 2
echo "redis keys now: $(redis-cli -p "$redis_port" dbsize)"
