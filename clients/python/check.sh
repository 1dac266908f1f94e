#!/usr/bin/env bash
# CI check for the Python client: generate the modules, start the real server on
# ephemeral ports with a throw-away SQLite file, run book_and_pay.py against it, stop the
# server with SIGTERM, and fail unless the scripts and the server's shutdown succeed; then
# follow_events.py subscribes, saves its checkpoint and resumes from it, and list_bookings.py
# lists bookings page by page.
#
# Env: PYTHON (default /usr/bin/python3), START_TIMEOUT (seconds to wait for the
# "switchyard listening" line, default 60), STOP_TIMEOUT (default 30).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
START_TIMEOUT="${START_TIMEOUT:-60}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-pycheck.XXXXXX")"
log="$tmp/server.log"
server_pid=""   # the node process serving; cleared once it has stopped

cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]]; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -s "$log" ]]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$log" >&2
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== generate"
"$here/generate.sh"

echo "== start server"
# node itself (not npm or npx, which do not pass SIGTERM on), so its exit status is the server's.
cd "$root"
GRPC_PORT=0 HTTP_PORT=0 HOST=127.0.0.1 LOG_LEVEL=info DATABASE_URL="file:$tmp/switchyard.db" \
  node --import tsx src/main.ts >"$log" 2>&1 </dev/null &
server_pid=$!

grpc_port=""
deadline=$((SECONDS + START_TIMEOUT))
while [[ -z "$grpc_port" ]]; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "check.sh: server exited before listening" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "check.sh: no \"switchyard listening\" line after ${START_TIMEOUT}s" >&2
    exit 1
  fi
  grpc_port="$(grep -m1 '"msg":"switchyard listening"' "$log" 2>/dev/null | sed -n 's/.*"grpcPort":\([0-9][0-9]*\).*/\1/p' || true)"
  [[ -n "$grpc_port" ]] || sleep 0.2
done
echo "server pid $server_pid, gRPC on 127.0.0.1:$grpc_port"

echo "== book_and_pay.py"
script_status=0
"$PYTHON" "$here/book_and_pay.py" "127.0.0.1:$grpc_port" || script_status=$?

echo "== follow_events.py"
if [[ "$script_status" -eq 0 ]]; then
  "$PYTHON" "$here/follow_events.py" "127.0.0.1:$grpc_port" "$tmp/checkpoint" || script_status=$?
fi

echo "== list_bookings.py"
if [[ "$script_status" -eq 0 ]]; then
  "$PYTHON" "$here/list_bookings.py" "127.0.0.1:$grpc_port" || script_status=$?
fi

echo "== stop server (SIGTERM)"
kill -TERM "$server_pid"
server_status=""
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$server_pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "check.sh: server still running ${STOP_TIMEOUT}s after SIGTERM" >&2
    exit 1
  fi
  sleep 0.2
done
wait "$server_pid" || server_status=$?
server_status="${server_status:-0}"
echo "server exited with status $server_status"
grep -E '"msg":"(shutting down|drained|stopped)"' "$log" | cut -c1-160 || true
if [[ "$server_status" -ne 0 ]]; then
  echo "check.sh: server exited with status $server_status after SIGTERM" >&2
  exit 1
fi
server_pid=""
if [[ "$script_status" -ne 0 ]]; then
  echo "check.sh: a client script failed with status $script_status" >&2
  exit "$script_status"
fi
echo "check.sh: OK"
