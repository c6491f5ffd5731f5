#!/usr/bin/env bash
# Interop suite: real CometD clients against a real `ringback serve`.
#   npm cometd@9 + cometd-nodejs-client@2 (websocket, long-polling, ack extension, and
#   unmodified with requestHeaders only: the fallback from a refused websocket),
#   npm faye@1.4 (websocket, long-polling), PyPI aiocometd-ng 0.5.6 (websocket,
#   long-polling), and callback-polling (JSONP) with curl; and the delayed callback scenarios'
#   pushes (agent available, chat messages) to the unmodified npm cometd client.
# Installs the clients itself (CI machines start bare). Prints "N passed, M failed".
# usage: tests/cometd-clients/run.sh path/to/ringback
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
# shellcheck source=../lib/serve.sh
. "$here/../lib/serve.sh"
cd "$here"

echo "-- installing clients"
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null || exit 1
# A virtualenv keeps the client out of the system's site-packages; where venv is missing
# (Debian without python3-venv), the package goes to a folder of its own instead.
if [ -x .venv/bin/python ] || python3 -m venv .venv >/dev/null 2>&1; then
  python=.venv/bin/python
  $python -m pip install -q --disable-pip-version-check aiocometd-ng==0.5.6 || exit 1
else
  python3 -m pip install -q --disable-pip-version-check --target .pylib aiocometd-ng==0.5.6 || exit 1
  export PYTHONPATH="$here/.pylib"
  python=python3
fi

work=$(mktemp -d)
cat > "$work/ringback.ini" <<'INI'
[server]
listen = 127.0.0.1:0
[push]
pushEnabled = comet
[cometd]
# Short holds keep the suite quick; the protocol is the same.
timeout = 5000
maxInterval = 10000
# The delayed callback scenarios, each with an agent of its own.
[resources.DNIS]
numbers = 6504663204, 6504663205
[agent.ann]
groups = VoiceA
[agent.bea]
groups = VoiceB
[agent.cid]
groups = ChatC
media = chat
[service.voice-userorig-delay]
_type = ors
_service = callback
_call_direction = USERORIGINATED
_wait_for_agent = true
_wait_for_user_confirm = true
_resource_group = DNIS
_urs_virtual_queue = CallbacksA
_target = VoiceA@StatServer.GA
[service.callback-delayed]
_type = ors
_service = callback
_call_direction = USERTERMINATED
_wait_for_agent = true
_wait_for_user_confirm = true
_urs_virtual_queue = CallbacksB
_target = VoiceB@StatServer.GA
[service.chat-delayed]
_type = ors
_service = callback
_media_type = chat
_wait_for_agent = true
_urs_virtual_queue = Chats
_target = ChatC@StatServer.GA
INI
"$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --config "$work/ringback.ini" 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
root=$(server_url "$work/server.log") || exit 1
echo "-- server at $root"

passed=0; failed=0; failures=()
check() { # check NAME COMMAND...
  local name=$1; shift
  echo "-- $name"
  if timeout 60 "$@" > "$work/out.txt" 2>&1; then
    passed=$((passed + 1)); tail -n 1 "$work/out.txt"
  else
    failed=$((failed + 1)); failures+=("$name"); cat "$work/out.txt"
  fi
}
check "cometd websocket" node cometd_client.mjs "$root" websocket
check "cometd long-polling" node cometd_client.mjs "$root" long-polling
check "cometd stock client (requestHeaders only)" node cometd_stock_client.mjs "$root"
check "cometd ack extension" node ack_client.mjs "$root"
check "faye websocket" node faye_client.js "$root" websocket
check "faye long-polling" node faye_client.js "$root" long-polling
check "aiocometd-ng websocket" $python aiocometd_client.py "$root" websocket
check "aiocometd-ng long-polling" $python aiocometd_client.py "$root" long-polling
check "callback-polling (curl)" ./jsonp.sh "$root"
check "callback push: user originated delayed (stock cometd)" node callback_push.mjs "$root" voice-userorig-delay ann
check "callback push: user terminated delayed (stock cometd)" node callback_push.mjs "$root" callback-delayed bea
check "callback push: chat delayed (stock cometd)" node callback_push.mjs "$root" chat-delayed cid

if [ "$failed" -gt 0 ]; then
  echo "failed: ${failures[*]}"; echo "-- server log"; tail -n 50 "$work/server.log"
fi
echo "cometd-clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
