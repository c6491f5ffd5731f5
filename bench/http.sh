#!/usr/bin/env bash
# GMS API throughput: request-interaction + match-interaction pairs per second against the
# real `ringback serve` (release build), and an actix-web hello-world baseline in the same run.
# The load client is wrk (Debian package `wrk`), a second process on loopback.
# Usage: bench/http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
cargo build --release -p ringback >/dev/null
bin=./target/release/ringback
data=$(mktemp -d)
cfg=$data/bench.ini
cat samples/ringback.ini > "$cfg"
numbers=$(seq -s, 6501000000 6501000199)
cat >> "$cfg" <<INI

[resources.BENCH]
numbers = $numbers
allocation = round-robin
_booking_expiration_timeout = 60

[service.bench-ri]
_type = builtin
_service = request-interaction
_resource_group = BENCH
INI
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$data"; }
pids=()
trap cleanup EXIT
"$bin" serve --listen 127.0.0.1:18088 --data-dir "$data/store" --config "$cfg" --workers 2 2>"$data/serve.log" &
pids+=($!)
"$bin" bench hello --listen 127.0.0.1:18089 --workers 2 2>"$data/hello.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf localhost:18088/genesys/1/admin/node/status >/dev/null 2>&1 && curl -sf localhost:18089/hello >/dev/null 2>&1 && break
  sleep 0.1
done
echo "== ringback: request-interaction + match-interaction pairs (wrk -t1 -c$conns -d${secs}s)"
wrk -t1 -c"$conns" -d"${secs}s" --latency -s bench/pairs.lua http://127.0.0.1:18088/ | grep -E "Latency|50%|99%|Requests/sec|PAIRS|Non-2xx|Socket"
echo "== actix-web hello world baseline (wrk -t1 -c$conns -d${secs}s)"
wrk -t1 -c"$conns" -d"${secs}s" --latency http://127.0.0.1:18089/hello | grep -E "Latency|50%|99%|Requests/sec|Non-2xx|Socket"
echo "== server resident memory: $(ps -o rss= -p "${pids[0]}") KB"
