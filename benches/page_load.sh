#!/usr/bin/env bash
# The dashboard's load time: serves the demo data with BINARY (default: the release build; the
# board's aarch64 binary runs under qemu-aarch64 -cpu cortex-a53, slower than the board itself),
# makes one plan, then loads the page RUNS times in headless Chromium and prints the time from
# navigation start to a full page (positions, allocation charts and the plan drawn).
#   benches/page_load.sh [BINARY] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/trading-planner}
runs=${2:-7}
runner=()
if file -L "$binary" | grep -q aarch64; then runner=(qemu-aarch64 -cpu cortex-a53); fi
data=$(mktemp -d)
port=18793
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
TRADING_PLANNER_AUTH__TOKEN=bench "${runner[@]}" "$binary" serve --data-dir "$data" \
    --bind 127.0.0.1:$port >"$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done
run=$(curl -sf -XPOST -H "Authorization: Bearer bench" "http://127.0.0.1:$port/api/plans")
status=$(echo "$run" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port$status" | grep -q '"state":"finished"' && break
    sleep 0.1
done
echo "binary: $binary ($(stat -c %s "$binary") bytes) ${runner[*]:-native}; run $run"
echo "page: $(cat src/gateway/assets/* | wc -c) bytes in $(ls src/gateway/assets | wc -l) files"
python3 tests/browser/drive_dashboard.py --url "http://127.0.0.1:$port" --token bench \
    --out "$data/shots" --timings "$runs"
