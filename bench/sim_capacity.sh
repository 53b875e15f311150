#!/usr/bin/env bash
# Concurrent streaming calls one server holds, measured at the wire with `voxgate sim`
# (issue #6): pure transport + VAD + pacing, no STT. Each simulated caller stays silent for
# the whole call while the server plays a long greeting (a one-intent dialog; synthesized
# once: tts.cache_mb), so both directions carry 50 frames/s per call and the recognizer never
# runs (the agent is never asked anything, so which agent it is does not matter).
#
#   bench/sim_capacity.sh [path/to/voxgate] CALLS...
#   SECONDS_PER_CALL=25 RAMP=100 SIM_THREADS=1 IO_THREADS=2 FRAMES_PER_MESSAGE=1 \
#     bench/sim_capacity.sh build/voxgate 100 400
#
# For each CALLS it starts a fresh server on a free port, places CALLS calls at RAMP per
# second, all held at once, and prints: the server's outbound send lateness p50/p99 (from
# voxgate_stream_frame_lateness_seconds, bucket upper bounds), the far end's underruns, the
# server's CPU (user+system over the run) and peak RSS per call. The sim shares the machine.
set -euo pipefail

binary=${1:-build/voxgate}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100 200 400)
call_s=${SECONDS_PER_CALL:-25}
ramp=${RAMP:-100}
sim_threads=${SIM_THREADS:-1}
io_threads=${IO_THREADS:-2}
[ -x "$binary" ] || { echo "no voxgate binary at $binary: run make build" >&2; exit 1; }

. "$(dirname "$0")/lib.sh"

# About 40 s of speech: longer than any call, so the server talks all the time.
greeting="Thank you for calling. This is a long recorded message that keeps talking while we measure how many calls one server can carry at the same time."
greeting="$greeting $greeting $greeting $greeting"
cat > "$work/dialog.toml" <<EOF
greeting = "$greeting"
fallback = "Sorry."
[[intent]]
name = "bye"
phrases = ["goodbye"]
reply = "Goodbye."
EOF
cat > "$work/server.toml" <<EOF
[server]
max_concurrent_calls = 100000
[call]
frames_per_message = ${FRAMES_PER_MESSAGE:-1}
[agent]
script = "$work/dialog.toml"
EOF
cat > "$work/caller.toml" <<EOF
[[step]]
pause_ms = $((call_s * 1000))
[[step]]
hangup = true
EOF

# p-quantile of a Prometheus histogram (upper bound of the bucket it falls in).
histogram_quantile() {  # metric quantile < metrics
  awk -v metric="$1" -v q="$2" '
    $1 ~ "^"metric"_bucket" {
      match($1, /le="[^"]*"/); le = substr($1, RSTART + 4, RLENGTH - 5)
      bounds[n] = le; counts[n] = $2; n++
    }
    END {
      total = counts[n - 1]; if (total == 0) { print "-"; exit }
      for (i = 0; i < n; i++) if (counts[i] >= q * total) { print bounds[i]; exit }
    }'
}

printf "%-6s %-22s %-10s %-12s %-14s %s\n" calls "lateness p50/p99 (s)" "late>5ms" underruns \
  "server CPU" "RSS/call"
for calls in "${counts[@]}"; do
  # (The server synthesizes the greeting at start: the clock starts with it cached.)
  voxgate_serve "$binary" -- --io-threads "$io_threads" --config "$work/server.toml"
  ticks=$(getconf CLK_TCK)
  cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  peak_rss=0
  "$binary" sim --url "http://127.0.0.1:$port" --script "$work/caller.toml" --calls "$calls" \
    --concurrency "$calls" --ramp "$ramp" --threads "$sim_threads" \
    --call-deadline $((call_s + 60)) --json "$work/sim.json" >"$work/sim.txt" 2>&1 &
  sim_pid=$!
  while kill -0 "$sim_pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
    sleep 1
  done
  wait "$sim_pid" || true
  cpu_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  curl -s "http://127.0.0.1:$port/metrics" > "$work/metrics"
  p50=$(histogram_quantile voxgate_stream_frame_lateness_seconds 0.50 < "$work/metrics")
  p99=$(histogram_quantile voxgate_stream_frame_lateness_seconds 0.99 < "$work/metrics")
  late=$(awk '/^voxgate_stream_late_frames_total/ {print $2}' "$work/metrics")
  frames=$(awk '/^voxgate_stream_frames_out_total/ {print $2}' "$work/metrics")
  underruns=$(grep -o '"underruns":[0-9]*' "$work/sim.json" | sed -n 1p | cut -d: -f2)
  failed=$(grep -o '"failed":[0-9]*' "$work/sim.json" | sed -n 1p | cut -d: -f2)
  cpu_s=$(awk -v a="$cpu_before" -v b="$cpu_after" -v t="$ticks" 'BEGIN {printf "%.1f", (b - a) / t}')
  printf "%-6s %-22s %-10s %-12s %-14s %s\n" "$calls" "$p50 / $p99" "${late:-0}/${frames:-0}" \
    "${underruns:-?} (${failed:-?} failed)" "${cpu_s} s" \
    "$(( (peak_rss - rss_before) / calls )) KiB"
  voxgate_stop || true
done
