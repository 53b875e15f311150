#!/usr/bin/env bash
# Turn latency at the wire with the embedded engines, measured by `voxgate sim` (issue #6):
# for each number of callers talking at once, a fresh server (default config: WebRTC VAD,
# pocketsphinx, flite, the front-desk dialog) and CALLERS x ROUNDS calls of
# examples/questions.toml (three questions, each after the previous answer), all callers at
# once. Prints the sim's summary per level; turn latency includes the server's endpoint
# silence (call.endpoint_silence_ms, 500 ms by default).
#
#   bench/sim_turn_latency.sh [path/to/voxgate] [CALLERS...]      (default 1 2 4 8)
#   ROUNDS=3 bench/sim_turn_latency.sh build/voxgate 1 4
set -euo pipefail

binary=${1:-build/voxgate}
shift || true
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(1 2 4 8)
rounds=${ROUNDS:-3}
[ -x "$binary" ] || { echo "no voxgate binary at $binary: run make build" >&2; exit 1; }
binary=$(realpath "$binary")
. "$(dirname "$0")/lib.sh"
# The default config names config/front-desk.toml relative to the source tree.
cd "$(dirname "$0")/.."

for callers in "${levels[@]}"; do
  voxgate_serve "$binary"
  echo "== $callers caller(s) talking at once, $((callers * rounds)) calls"
  "$binary" sim --url "http://127.0.0.1:$port" --script examples/questions.toml \
    --calls $((callers * rounds)) --concurrency "$callers" --json "$work/sim-$callers.json" ||
    true
  voxgate_stop || true
done
