#!/usr/bin/env bash
# Webhook throughput on loopback with keep-alive: starts `voxgate serve` on a free port,
# drives it with wrk, prints requests/s and latency for three routes, then stops it.
#
#   bench/webhook_load.sh [path/to/voxgate]
#   DURATION=10s CONNECTIONS=64 THREADS=2 IO_THREADS=2 bench/webhook_load.sh build/voxgate
#
# Scenarios: the streaming webhook unsigned (development mode), the same webhook with a
# valid X-Twilio-Signature (production mode: HMAC-SHA1 per request), and GET /healthz.
# CallSids cycle through 1000 values, like retries and status updates of live calls.
set -euo pipefail

binary=${1:-build/voxgate}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
io_threads=${IO_THREADS:-2}
token="bench-auth-token"
public="https://voice.example.com"

command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-deps" >&2; exit 1; }
[ -x "$binary" ] || { echo "no voxgate binary at $binary: run make build" >&2; exit 1; }

. "$(dirname "$0")/lib.sh"

start_server() { voxgate_serve "$binary" "$@" -- --io-threads "$io_threads"; }
stop_server() { voxgate_stop || { echo "server exited non-zero" >&2; exit 1; }; }

cat >"$work/streaming.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local n = 0
request = function()
  n = (n + 1) % 1000
  return wrk.format(nil, nil, nil,
    "AccountSid=AC0000&CallSid=CA" .. n .. "&CallStatus=ringing&From=%2B14155550100&To=%2B14155550199")
end
LUA

# One fixed body, signed once here with openssl (sorted name+value pairs after the URL).
body="AccountSid=AC0000&CallSid=CAbench&CallStatus=ringing&From=%2B14155550100&To=%2B14155550199"
signed_string="$public/phone/incoming-call-streamingAccountSidAC0000CallSidCAbenchCallStatusringingFrom+14155550100To+14155550199"
signature=$(printf '%s' "$signed_string" | openssl dgst -sha1 -hmac "$token" -binary | base64)
cat >"$work/signed.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "$signature"
wrk.body = "$body"
LUA

run() {
  local name=$1 url=$2 script=${3:-}
  echo "== $name"
  if [ -n "$script" ]; then
    wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$script" "$url"
  else
    wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url"
  fi | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors|requests in"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "wrk -t$threads -c$connections -d$duration; voxgate --io-threads $io_threads"

start_server
run "POST /phone/incoming-call-streaming (development mode, unsigned)" \
  "http://127.0.0.1:$port/phone/incoming-call-streaming" "$work/streaming.lua"
run "GET /healthz" "http://127.0.0.1:$port/healthz"
stop_server

start_server TWILIO_AUTH_TOKEN="$token" PUBLIC_BASE_URL="$public"
check=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $signature" \
  -d "$body" "http://127.0.0.1:$port/phone/incoming-call-streaming")
[ "$check" = 200 ] || { echo "signed request was refused ($check)" >&2; exit 1; }
run "POST /phone/incoming-call-streaming (signed, HMAC-SHA1 checked)" \
  "http://127.0.0.1:$port/phone/incoming-call-streaming" "$work/signed.lua"
stop_server
