#!/usr/bin/env bash
# deploy/simulator.sh start|stop|status: the agency simulator (services/integrations,
# acms_integrations.simulator) standing in for Immigration, MSD, Oranga Tamariki and Police
# in the demo. `start` first links the demo's agency organisations and makes the
# simulator's client credentials (acms_integrations.demo_agencies), then starts it on
# :$ACMS_SIMULATOR_PORT (8190, the default of the ACMS_AGENCY_*_URL settings).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
ACMS_SIMULATOR_PORT=${ACMS_SIMULATOR_PORT:-8190}
PIDFILE=$RUN_DIR/agency-simulator.pid
CREDENTIALS=$RUN_DIR/agency-simulator.json
LOG=$LOG_DIR/agency-simulator.log

case ${1:-} in
  start)
    if pid_alive "$PIDFILE" >/dev/null; then echo "agency simulator: already running"; exit 0; fi
    export_service_secrets
    (cd "$ROOT" && use_db_credentials integrations && .venv/bin/python -m acms_integrations.demo_agencies \
      --gateway "http://127.0.0.1:$ACMS_GATEWAY_PORT" --credentials "$CREDENTIALS")
    setsid nohup "$ROOT/.venv/bin/python" -m acms_integrations.simulator \
      --port "$ACMS_SIMULATOR_PORT" \
      --integrations-url "http://127.0.0.1:$(service_port integrations)" \
      --identity-url "http://127.0.0.1:$(service_port identity)" \
      --credentials-file "$CREDENTIALS" </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    wait_for_port 127.0.0.1 "$ACMS_SIMULATOR_PORT" 20 \
      || { echo "agency simulator: did not start" >&2; show_log_tail "$LOG"; exit 1; }
    echo "agency simulator: started on :$ACMS_SIMULATOR_PORT (log $LOG)" ;;
  stop) stop_pid "agency simulator" "$PIDFILE" ;;
  status)
    if pid=$(pid_alive "$PIDFILE"); then echo "agency simulator: running (pid $pid)"
    else echo "agency simulator: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
