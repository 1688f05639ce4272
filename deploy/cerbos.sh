#!/usr/bin/env bash
# deploy/cerbos.sh start|stop|status|kill|restart|compile|selftest: the Cerbos policy decision
# point, from the npm package @cerbos/cerbos-linux-x64 (pinned), serving the policies of every
# service: services/<svc>/policies/ is assembled into $RUN_DIR/cerbos/policies/<svc>/, and
# the one attribute-schema folder, policies/_schemas/ (the principal and every resource
# kind; refs read cerbos:///<kind>.json), into its root _schemas/. Requests that do not fit
# their schemas are denied (schema.enforcement: reject); `compile` also runs
# acms_platform.testing.policy_schemas, which fails on an R.attr/P.attr name a schema lacks.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

CERBOS_VERSION=${ACMS_CERBOS_VERSION:-0.55.0}
CERBOS_HOME=$CACHE_DIR/cerbos-$CERBOS_VERSION
CERBOS_BIN=$CERBOS_HOME/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64
SERVICES_DIR=${ACMS_CERBOS_SERVICES_DIR:-$ROOT/services}
SCHEMAS_DIR=${ACMS_CERBOS_SCHEMAS_DIR:-$ROOT/policies/_schemas}
CERBOS_DIR=$RUN_DIR/cerbos
CERBOS_POLICIES=$CERBOS_DIR/policies
CERBOS_CONFIG=$CERBOS_DIR/config.yaml
CERBOS_PID=$CERBOS_DIR/cerbos.pid
CERBOS_LOG=$LOG_DIR/cerbos.log
HEALTH_URL=http://127.0.0.1:$ACMS_CERBOS_HTTP_PORT/_cerbos/health

ensure_binary() {
  [ -x "$CERBOS_BIN" ] && return 0
  command -v npm >/dev/null || { echo "cerbos: npm not found (needed once to fetch the binary)" >&2; exit 1; }
  echo "cerbos: installing @cerbos/cerbos-linux-x64@$CERBOS_VERSION into $CERBOS_HOME"
  mkdir -p "$CERBOS_HOME"
  npm install --silent --no-audit --no-fund --no-save --prefix "$CERBOS_HOME" \
    "@cerbos/cerbos-linux-x64@$CERBOS_VERSION" >/dev/null
  [ -x "$CERBOS_BIN" ] || { echo "cerbos: binary not found at $CERBOS_BIN after npm install" >&2; exit 1; }
}

# assemble DEST: fresh copy of every services/<svc>/policies into DEST/<svc>/ and of
# policies/_schemas into DEST/_schemas (Cerbos reads schemas only at the root).
assemble() {
  local dest=$1 tmp svc src found=()
  tmp=$(mktemp -d "$CERBOS_DIR/.policies.XXXXXX")
  cp -RL "$SCHEMAS_DIR" "$tmp/_schemas"
  for svc in $SERVICES; do
    src=$SERVICES_DIR/$svc/policies
    [ -d "$src" ] || continue
    if [ -e "$src/_schemas" ]; then
      echo "cerbos: $src/_schemas: schemas live in policies/_schemas (one root folder)" >&2
      rm -rf "$tmp"; exit 1
    fi
    mkdir -p "$tmp/$svc"
    cp -RL "$src/." "$tmp/$svc/"
    found+=("$svc:$(find "$tmp/$svc" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l)")
  done
  rm -rf "$dest"; mv "$tmp" "$dest"; chmod 755 "$dest"
  echo "cerbos: assembled policies in $dest (files per service: ${found[*]:-none}; schemas: $(find "$dest/_schemas" -type f | wc -l))"
}

write_config() {
  cat >"$CERBOS_CONFIG" <<CONF
# written by deploy/cerbos.sh
server:
  httpListenAddr: "127.0.0.1:$ACMS_CERBOS_HTTP_PORT"
  grpcListenAddr: "127.0.0.1:$ACMS_CERBOS_GRPC_PORT"
storage:
  driver: disk
  disk:
    directory: "$CERBOS_POLICIES"
    watchForChanges: false
schema:
  enforcement: reject
audit:
  enabled: false
telemetry:
  disabled: true
CONF
}

healthy() { curl -fsS -m 2 "$HEALTH_URL" >/dev/null 2>&1; }

start() {
  if pid_alive "$CERBOS_PID" >/dev/null; then
    echo "cerbos: already running on 127.0.0.1:$ACMS_CERBOS_HTTP_PORT (pid $(cat "$CERBOS_PID"))"; return 0
  fi
  if port_open 127.0.0.1 "$ACMS_CERBOS_HTTP_PORT"; then
    echo "cerbos: port $ACMS_CERBOS_HTTP_PORT is in use by another process" >&2; exit 1
  fi
  ensure_binary
  mkdir -p "$CERBOS_DIR"
  assemble "$CERBOS_POLICIES"
  write_config
  [ ! -f "$CERBOS_LOG" ] || mv -f "$CERBOS_LOG" "$CERBOS_LOG.1"
  nohup "$CERBOS_BIN" server --config="$CERBOS_CONFIG" --log-level=info >"$CERBOS_LOG" 2>&1 </dev/null &
  echo $! >"$CERBOS_PID"
  local deadline=$((SECONDS + 60))
  until healthy; do
    if ! pid_alive "$CERBOS_PID" >/dev/null; then
      echo "cerbos: process exited during start-up" >&2; show_log_tail "$CERBOS_LOG"; rm -f "$CERBOS_PID"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "cerbos: not healthy after 60s" >&2; show_log_tail "$CERBOS_LOG"; exit 1
    fi
    sleep 0.2
  done
  echo "cerbos: started $CERBOS_VERSION on 127.0.0.1:$ACMS_CERBOS_HTTP_PORT (grpc :$ACMS_CERBOS_GRPC_PORT, pid $(cat "$CERBOS_PID"), log $CERBOS_LOG)"
}

# compile_dir DIR: compiles policies and runs their test suites (*_test.yaml); fails on error.
compile_dir() {
  local out rc=0
  out=$("$CERBOS_BIN" compile --no-color "$1" 2>&1) || rc=$?
  echo "$out"
  if [ $rc -ne 0 ]; then echo "cerbos: compile/tests FAILED (exit $rc)" >&2; return $rc; fi
  echo "cerbos: policies compiled and tests passed ($1)"
}

status() {
  if pid_alive "$CERBOS_PID" >/dev/null && healthy; then
    echo "cerbos: running on 127.0.0.1:$ACMS_CERBOS_HTTP_PORT (pid $(cat "$CERBOS_PID"))"
  elif pid_alive "$CERBOS_PID" >/dev/null; then
    echo "cerbos: process $(cat "$CERBOS_PID") alive but not healthy"; return 1
  else
    echo "cerbos: stopped"; return 1
  fi
}

case ${1:-status} in
  start) start ;;
  stop) stop_pid cerbos "$CERBOS_PID" 30 ;;
  kill) kill_pid cerbos "$CERBOS_PID" ;;
  restart) stop_pid cerbos "$CERBOS_PID" 30; start ;;
  status) status ;;
  compile)
    ensure_binary; mkdir -p "$CERBOS_DIR"
    assemble "$CERBOS_DIR/compile"
    compile_dir "$CERBOS_DIR/compile"
    "$ROOT/.venv/bin/python" -m acms_platform.testing.policy_schemas "$CERBOS_DIR/compile" ;;
  selftest)
    ensure_binary
    compile_dir "$ROOT/deploy/cerbos/selftest" ;;
  *) echo "usage: $0 start|stop|status|kill|restart|compile|selftest" >&2; exit 2 ;;
esac
