#!/usr/bin/env bash
# Callback-polling (JSONP) checked with curl, as no headless client speaks it: handshake,
# first connect, subscribe to /_genesys, a server push (notification API), and the next
# connect returns it, every reply wrapped as cb([...]) and served as text/javascript.
# usage: jsonp.sh http://127.0.0.1:PORT
set -euo pipefail
root=$1
user="jsonp-$$"
url="$root/genesys/cometd"
fail() { echo "FAIL: $*" >&2; exit 1; }
hdrs=$(mktemp)
trap 'rm -f "$hdrs"' EXIT

jsonp() { # jsonp CALLBACK PATH MESSAGE-JSON -> body (headers in $hdrs)
  curl -sS --max-time 20 -D "$hdrs" -H "gms_user: $user" -G \
    --data-urlencode "jsonp=$1" --data-urlencode "message=$3" "$url$2"
}

body=$(jsonp cb1 /handshake '[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling"],"id":"1"}]')
grep -qi '^content-type: text/javascript' "$hdrs" || fail "handshake content type: $(cat "$hdrs")"
grep -qi '^set-cookie: BAYEUX_BROWSER=' "$hdrs" || fail "no BAYEUX_BROWSER cookie"
[[ $body == 'cb1(['*'])' ]] || fail "handshake is not wrapped in cb1(...): $body"
client=$(sed -E 's/.*"clientId":"([0-9a-f]{40})".*/\1/' <<<"$body")
[[ ${#client} == 40 ]] || fail "no 40-hex clientId in $body"
echo "handshook $client"

body=$(jsonp cb2 /connect "[{\"channel\":\"/meta/connect\",\"clientId\":\"$client\",\"connectionType\":\"callback-polling\",\"id\":\"2\"}]")
[[ $body == 'cb2(['*'"successful":true'*'])' ]] || fail "first connect: $body"

body=$(jsonp cb3 / "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"$client\",\"subscription\":\"/_genesys\",\"id\":\"3\"}]")
[[ $body == *'"subscription":"/_genesys"'*'"successful":true'* ]] || fail "subscribe: $body"

curl -sS --fail -H "gms_user: $user" -H 'content-type: application/json' \
  -d "{\"notificationDetails\":{\"deviceId\":\"$user\",\"type\":\"comet\"},\"filter\":\"service.jsonp.*\"}" \
  "$root/genesys/1/notification/subscription" >/dev/null
curl -sS --fail -H 'content-type: application/json' \
  -d '{"tag":"service.jsonp.status.1","message":{"state":"QUEUED"}}' \
  "$root/genesys/1/notification/publish" >/dev/null

body=$(jsonp cb4 /connect "[{\"channel\":\"/meta/connect\",\"clientId\":\"$client\",\"connectionType\":\"callback-polling\",\"id\":\"4\"}]")
[[ $body == 'cb4(['*'"channel":"/_genesys"'*'"tag":"service.jsonp.status.1"'*'])' ]] || fail "the push did not arrive: $body"

body=$(jsonp 'alert(1)//' / '[{"channel":"/meta/connect"}]' || true)
[[ $body == *'400::jsonp_invalid'* ]] || fail "a bad callback name was not refused: $body"
echo "PASS jsonp"
