#!/usr/bin/env bash
# deploy/services.sh start|stop|status [service...]: the six services as uvicorn processes,
# each under a supervisor (this script's own loop, as Kubernetes restarts a pod's container
# in production): a service that exits or is killed is started again with exponential
# back-off (ACMS_SUPERVISOR_BACKOFF_SECONDS 0.5 doubling to ACMS_SUPERVISOR_MAX_BACKOFF_SECONDS
# 30), and the back-off starts over once it has stayed up ACMS_SUPERVISOR_RESET_SECONDS (10).
# `stop` stops the supervisor first, so nothing starts the service again behind it.
# `start` first gives each service its Kafka principal and ACLs (acms_platform.kafka_acls).
#
# Files under $RUN_DIR/services: <name>.pid (the uvicorn process, written by the supervisor
# at every start) and <name>.supervisor.pid; logs: $RUN_DIR/logs/<name>.log (the service,
# appended across restarts) and <name>.supervisor.log (starts, exits, back-off).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
action=${1:-status}; shift || true
services=("$@"); [ ${#services[@]} -gt 0 ] || services=($SERVICES)
mkdir -p "$RUN_DIR/services" "$RUN_DIR/logs"

service_pidfile() { echo "$RUN_DIR/services/$1.pid"; }
supervisor_pidfile() { echo "$RUN_DIR/services/$1.supervisor.pid"; }
# A dead process that has not been reaped yet still passes `kill -0`: pid_alive does not.
pid_of() { pid_alive "$(service_pidfile "$1")"; }
supervisor_of() { pid_alive "$(supervisor_pidfile "$1")"; }

# supervise NAME: runs in its own session (started by start_one), until SIGTERM.
supervise() {
  local name=$1 port child="" rc up started stopping=0 backoff
  local first_backoff=${ACMS_SUPERVISOR_BACKOFF_SECONDS:-0.5}
  local max_backoff=${ACMS_SUPERVISOR_MAX_BACKOFF_SECONDS:-30}
  local reset_after=${ACMS_SUPERVISOR_RESET_SECONDS:-10}
  port=$(service_port "$name"); backoff=$first_backoff
  say() { echo "$(date -u +%FT%T.%3NZ) supervisor[$name]: $*"; }
  on_term() {
    stopping=1
    [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
  }
  trap on_term TERM INT
  use_db_credentials "$name"  # the supervisor's own environment: the service's login role
  use_kafka_credentials "$name"  # ... and its Kafka principal
  echo $$ >"$(supervisor_pidfile "$name")"
  while [ $stopping -eq 0 ]; do
    started=$SECONDS
    # `cd` on its own: `&` must background uvicorn itself, so $! is uvicorn's pid.
    cd "$ROOT"
    ACMS_PORT=$port "$ROOT/.venv/bin/uvicorn" --factory "acms_${name}.app:create" \
      --host 127.0.0.1 --port "$port" --root-path "/api/$name" --no-access-log \
      --timeout-graceful-shutdown 20 >>"$RUN_DIR/logs/$name.log" 2>&1 </dev/null &
    child=$!
    echo "$child" >"$(service_pidfile "$name")"
    say "started pid $child on :$port"
    # `wait` returns early when a trapped signal arrives; wait on until the child is gone.
    rc=0
    while :; do
      wait "$child" && rc=0 || rc=$?
      kill -0 "$child" 2>/dev/null || break
    done
    up=$((SECONDS - started))
    if [ $stopping -eq 1 ]; then say "pid $child stopped (status $rc)"; break; fi
    [ $up -lt "$reset_after" ] || backoff=$first_backoff
    say "pid $child exited with status $rc after ${up}s; starting again in ${backoff}s"
    sleep "$backoff" & wait $! || true
    backoff=$(awk -v b="$backoff" -v m="$max_backoff" 'BEGIN { b *= 2; print (b > m ? m : b) }')
  done
  rm -f "$(service_pidfile "$name")" "$(supervisor_pidfile "$name")"
}

start_one() {
  local name=$1 port deadline; port=$(service_port "$name")
  if supervisor_of "$name" >/dev/null; then echo "$name: already running (supervised) on :$port"; return; fi
  if pid_of "$name" >/dev/null; then
    echo "$name: running on :$port without its supervisor; stop it first" >&2; return 1
  fi
  if port_open 127.0.0.1 "$port"; then
    echo "$name: port $port is taken by another process; not starting" >&2; return 1
  fi
  rm -f "$(service_pidfile "$name")" "$(supervisor_pidfile "$name")"
  : >"$RUN_DIR/logs/$name.log"
  if has_runtime_role "$name"; then  # the owner migrates; the service runs as its lesser role
    (use_db_owner_credentials "$name" && cd "$ROOT" \
       && "$ROOT/.venv/bin/python" -m acms_platform.migrate "acms_$name.app") \
      >>"$RUN_DIR/logs/$name.log" 2>&1 \
      || { echo "$name: migrations failed; last log lines:"; tail -n 20 "$RUN_DIR/logs/$name.log"; return 1; }
  fi
  setsid nohup bash "$ROOT/deploy/services.sh" __supervise "$name" </dev/null \
    >>"$RUN_DIR/logs/$name.supervisor.log" 2>&1 &
  deadline=$((SECONDS + 10))
  until supervisor_of "$name" >/dev/null && pid_of "$name" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "$name: supervisor did not start" >&2; return 1; }
    sleep 0.05
  done
  echo "$name: started on :$port, supervised (log $RUN_DIR/logs/$name.log)"
}

wait_ready() {
  local name=$1 port deadline; port=$(service_port "$name"); deadline=$((SECONDS + 120))
  until curl -fs --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! supervisor_of "$name" >/dev/null; then
      echo "$name: not ready; last log lines:"; tail -n 20 "$RUN_DIR/logs/$name.log"; return 1
    fi
    sleep 0.2
  done
  echo "$name: ready"
}

stop_one() {
  local name=$1 sup pid
  if sup=$(supervisor_of "$name"); then
    # The supervisor passes SIGTERM on to the service, waits for it and exits.
    kill -TERM "$sup" 2>/dev/null || true
    for _ in $(seq 1 300); do pid_alive "$(supervisor_pidfile "$name")" >/dev/null || break; sleep 0.1; done
    if sup=$(supervisor_of "$name"); then kill -KILL "$sup" 2>/dev/null || true; fi
  fi
  rm -f "$(supervisor_pidfile "$name")"
  if pid=$(pid_of "$name"); then  # no supervisor (killed, or an older launcher's process)
    stop_pid "$name" "$(service_pidfile "$name")" 30 >/dev/null
  fi
  rm -f "$(service_pidfile "$name")"
  echo "$name: stopped"
}

# grant_kafka SERVICE...: each service's Kafka principal (password: the local secret
# kafka_<service>, made at first start) and the ACLs derived from its code, as the admin.
grant_kafka() {
  local s
  for s in "$@"; do ensure_secret "kafka_$s" >/dev/null; done
  (use_kafka_admin && cd "$ROOT" && "$ROOT/.venv/bin/python" -m acms_platform.kafka_acls apply "$@" \
     --bootstrap "127.0.0.1:$ACMS_KAFKA_PORT" --secrets-dir "$RUN_DIR/secrets")
}

case $action in
  __supervise) supervise "${services[0]}" ;;
  start) export_service_secrets
         grant_kafka "${services[@]}"
         for s in "${services[@]}"; do start_one "$s"; done
         for s in "${services[@]}"; do wait_ready "$s"; done ;;
  stop) for s in "${services[@]}"; do stop_one "$s"; done ;;
  status) rc=0; for s in "${services[@]}"; do
            if pid=$(pid_of "$s"); then
              if supervisor_of "$s" >/dev/null; then echo "$s: running (pid $pid, supervised)"
              else echo "$s: running (pid $pid, not supervised)"; fi
            elif supervisor_of "$s" >/dev/null; then echo "$s: restarting (supervised)"; rc=1
            else echo "$s: stopped"; rc=1; fi
          done; exit $rc ;;
  *) echo "usage: $0 start|stop|status [service...]" >&2; exit 2 ;;
esac
