#!/usr/bin/env bash
# Usage: scripts/with-moto.sh <command...>
#
# Starts a moto server (fake AWS: DynamoDB, EventBridge Scheduler, Secrets Manager, ...) on a free
# port on 127.0.0.1, points the AWS SDK at it through the environment, runs the command, stops
# moto (also on failure or interrupt) and exits with the command's status.
#
# The command sees:
#   AWS_ENDPOINT_URL=http://127.0.0.1:PORT  AWS_REGION=us-east-1  AWS_DEFAULT_REGION=us-east-1
#   AWS_ACCESS_KEY_ID=testing  AWS_SECRET_ACCESS_KEY=testing  HERALD_TEST_MOTO=1
# moto's log goes to target/moto.log. Install moto first with scripts/test-deps.sh.
# MOTO_SERVER overrides the server binary (default: moto_server through scripts/moto_serial.py,
# which serialises requests so conditional writes are atomic as in DynamoDB).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 <command...>" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTO_SERVER_OVERRIDE="${MOTO_SERVER:-}"
MOTO_SERVER="${MOTO_SERVER:-$ROOT/.venv/bin/moto_server}"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY="$(command -v python3)"
LOG_DIR="$ROOT/target"
LOG="$LOG_DIR/moto.log"
START_TIMEOUT="${MOTO_START_TIMEOUT:-30}"

if [ ! -x "$MOTO_SERVER" ]; then
    echo "with-moto: $MOTO_SERVER not found; run scripts/test-deps.sh first" >&2
    exit 127
fi
mkdir -p "$LOG_DIR"

MOTO_PID=""
stop_moto() {
    if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill -TERM "$MOTO_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=""
}
CMD_PID=""
# On INT/TERM/HUP: pass the signal on to the command, give it 10 s to finish, stop moto, and exit
# with 128+signal. (A Ctrl-C in a terminal reaches the command directly as well.)
on_signal() {
    local sig="$1" code="$2"
    trap '' INT TERM HUP
    if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
        kill -"$sig" "$CMD_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$CMD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$CMD_PID" 2>/dev/null || true
        wait "$CMD_PID" 2>/dev/null || true
    fi
    stop_moto
    exit "$code"
}
trap stop_moto EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# 0 when moto answers on its admin API, 1 otherwise.
moto_ready() {
    "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PYEOF
}

: >"$LOG"
PORT=""
# A port picked by binding port 0 can in rare cases be taken before moto binds it: try a few.
for attempt in 1 2 3; do
    PORT="$(free_port)"
    echo "== moto attempt $attempt on 127.0.0.1:$PORT ($(date -u +%FT%TZ))" >>"$LOG"
    if [ -n "${MOTO_SERVER_OVERRIDE:-}" ]; then
        "$MOTO_SERVER" -H 127.0.0.1 -p "$PORT" >>"$LOG" 2>&1 </dev/null &
    else
        # One request at a time, so conditional writes are atomic as in DynamoDB (see the script).
        "$PY" "$ROOT/scripts/moto_serial.py" -H 127.0.0.1 -p "$PORT" >>"$LOG" 2>&1 </dev/null &
    fi
    MOTO_PID=$!
    deadline=$((SECONDS + START_TIMEOUT))
    ready=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! kill -0 "$MOTO_PID" 2>/dev/null; then
            wait "$MOTO_PID" 2>/dev/null || true
            MOTO_PID=""
            break
        fi
        if moto_ready "$PORT"; then
            ready=1
            break
        fi
        sleep 0.2
    done
    [ -n "$ready" ] && break
    if [ -n "$MOTO_PID" ]; then
        stop_moto
        echo "with-moto: error: moto did not answer on http://127.0.0.1:$PORT/moto-api/ within ${START_TIMEOUT}s; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2 || true
        exit 1
    fi
    echo "with-moto: moto exited during start-up (attempt $attempt); see $LOG" >&2
done
if [ -z "$ready" ]; then
    echo "with-moto: error: moto failed to start; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export HERALD_TEST_MOTO=1
# Nothing from a developer's own AWS setup may leak into the tests.
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_EC2_METADATA_DISABLED=true
echo "with-moto: moto ready at $AWS_ENDPOINT_URL (pid $MOTO_PID, log $LOG)" >&2

# Run the command as a child we can wait on, so a signal to this script is handled at once (bash
# defers traps until a foreground child exits). Unlike a plain `&`, keep stdin and the default
# SIGINT/SIGQUIT handling, so the command behaves as if it ran in the foreground.
status=0
( trap - INT QUIT; exec "$@" ) <&0 &
CMD_PID=$!
wait "$CMD_PID" || status=$?
CMD_PID=""
stop_moto
exit "$status"
