#!/usr/bin/env bash
# Browser tests of the Service Management UI: Debian's headless Chromium driven by npm
# playwright-core, against a real `ringback serve` (the sample configuration plus [features] and
# a [cluster] of one more real node and one that is down), with users made by `ringback user add`.
# Installs what it needs (CI machines start bare). Screenshots of every panel go to
# target/ui-screenshots/ (kept as CI artifacts).
# usage: tests/ui/run.sh path/to/ringback   (UI_TESTS="callback.test.mjs" runs only those files)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/../.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
# shellcheck source=../lib/serve.sh
. "$root_dir/tests/lib/serve.sh"
cd "$here"

echo "-- installing chromium and playwright-core"
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME CONFIG: a server on a free loopback port; sets $url to its root URL.
start() {
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/$1" --config "$2" >"$work/$1.out" 2>"$work/$1.log" &
  pids+=($!)
  url=$(server_url "$work/$1.log")
}

start peer "$root_dir/samples/ringback.ini"; peer=$url
# A port nothing listens on: the node that is down.
down="http://127.0.0.1:9"
{
  cat "$root_dir/samples/ringback.ini"
  cat <<INI
[cluster]
nodes = $peer, $down
[features]
enable-logger = true
enable-logger-error = true
enable-resources = true
enable-patterns = true
enable-downloaddfm = true
enable-metrics = true
enable-sample = true
enable-config = true
enable-contextual-help = true
disable-bulk-cancel-and-export-callback = false
[callback]
callback_column_alias = {"_LOB": "Line Of Business"}
# Callbacks that wait: for the search, bulk cancel and 5,000-row tests.
[service.load]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = true
_wait_for_user_confirm = false
_urs_virtual_queue = LoadQ
_target = Nobody@StatServer.GA
_max_queued_callbacks_per_service = 20000
_throttle_callbacks_per_service_1 = 100000
_throttle_callbacks_per_service_2 = 100000
INI
} > "$work/ringback.ini"

# Users first (the server reads them from the store), each with a password on stdin.
printf 'admin-pass-1\n' | "$bin" user add ann --role Administrator --data-dir "$work/main" >/dev/null
printf 'super-pass-1\n' | "$bin" user add sam --role Supervisor --services callback-delayed,callback-immediate --data-dir "$work/main" >/dev/null
printf 'reader-pass-1\n' | "$bin" user add rob --role CallbackReadOnly --data-dir "$work/main" >/dev/null

start main "$work/ringback.ini"; main=$url
echo "-- server at $main (peer $peer, down $down)"

mkdir -p "$root_dir/target/ui-screenshots"
status=0
RINGBACK_URL="$main" PEER_URL="$peer" DOWN_URL="$down" SHOTS="$root_dir/target/ui-screenshots" \
  node --test --test-concurrency=1 --test-reporter=spec ${UI_TESTS:-hub.test.mjs callback.test.mjs office.test.mjs tools.test.mjs cs.test.mjs sample.test.mjs} || status=$?
# Last, on its own: it stops the server.
if [ -z "${UI_TESTS:-}" ]; then
  RINGBACK_URL="$main" PEER_URL="$peer" DOWN_URL="$down" SHOTS="$root_dir/target/ui-screenshots" \
    node --test --test-reporter=spec stop.test.mjs || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "-- server log"; tail -n 40 "$work/main.log"
fi
exit "$status"
