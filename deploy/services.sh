#!/usr/bin/env bash
# deploy/services.sh start|stop|status [service...]: the six services as uvicorn processes.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
action=${1:-status}; shift || true
services=("$@"); [ ${#services[@]} -gt 0 ] || services=($SERVICES)
mkdir -p "$RUN_DIR/services" "$RUN_DIR/logs"

pid_of() { local f="$RUN_DIR/services/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

start_one() {
  local name=$1 port; port=$(service_port "$name")
  if pid_of "$name" >/dev/null; then echo "$name: already running on :$port"; return; fi
  if port_open 127.0.0.1 "$port"; then
    echo "$name: port $port is taken by another process; not starting" >&2; return 1
  fi
  # `cd` on its own: `&` must background uvicorn itself, so $! is uvicorn's pid.
  (cd "$ROOT"; use_db_credentials "$name"; ACMS_PORT=$port nohup "$ROOT/.venv/bin/uvicorn" --factory "acms_${name}.app:create" \
      --host 127.0.0.1 --port "$port" --root-path "/api/$name" --no-access-log \
      --timeout-graceful-shutdown 20 \
      >"$RUN_DIR/logs/$name.log" 2>&1 & echo $! >"$RUN_DIR/services/$name.pid")
  echo "$name: started on :$port (log $RUN_DIR/logs/$name.log)"
}

wait_ready() {
  local name=$1 port deadline; port=$(service_port "$name"); deadline=$((SECONDS + 120))
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! pid_of "$name" >/dev/null; then
      echo "$name: not ready; last log lines:"; tail -n 20 "$RUN_DIR/logs/$name.log"; return 1
    fi
    sleep 0.5
  done
  echo "$name: ready"
}

stop_one() {
  local name=$1 pid
  if ! pid=$(pid_of "$name"); then echo "$name: not running"; return; fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$RUN_DIR/services/$name.pid"; echo "$name: stopped"
}

case $action in
  start) for s in "${services[@]}"; do start_one "$s"; done
         for s in "${services[@]}"; do wait_ready "$s"; done ;;
  stop) for s in "${services[@]}"; do stop_one "$s"; done ;;
  status) rc=0; for s in "${services[@]}"; do
            if pid_of "$s" >/dev/null; then echo "$s: running"; else echo "$s: stopped"; rc=1; fi
          done; exit $rc ;;
  *) echo "usage: $0 start|stop|status [service...]" >&2; exit 2 ;;
esac
