# Sourced by the suites' run.sh scripts: waiting for a `ringback serve --listen 127.0.0.1:0`.
#
# server_url LOG: the root URL (http://127.0.0.1:PORT) the server logs on its stderr once it
# listens, printed; fails, with the log, if it does not appear within ten seconds.
server_url() {
  local log=$1 url=""
  for _ in $(seq 200); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 || true)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    sleep 0.05
  done
  echo "the server did not start:" >&2
  cat "$log" >&2
  return 1
}
