#!/usr/bin/env bash
# Shared settings and helpers for the deploy/ launchers. Source it; do not run it.
# shellcheck disable=SC2034  # variables are used by the scripts that source this file

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=${ACMS_RUN_DIR:-$ROOT/.run}
CACHE_DIR=${ACMS_CACHE_DIR:-$HOME/.cache/acms}
LOG_DIR=$RUN_DIR/logs
# The local CA that signed the Kafka broker's certificate (deploy/kafka.sh makes it at first
# start); every client of the local broker trusts it, and only it (ACMS_KAFKA_CA_FILE).
KAFKA_CA_FILE=$RUN_DIR/tls/kafka-ca.pem

ACMS_PG_PORT=${ACMS_PG_PORT:-55432}
ACMS_KAFKA_PORT=${ACMS_KAFKA_PORT:-59092}
ACMS_KAFKA_CONTROLLER_PORT=${ACMS_KAFKA_CONTROLLER_PORT:-59093}
ACMS_CERBOS_HTTP_PORT=${ACMS_CERBOS_HTTP_PORT:-3592}
ACMS_CERBOS_GRPC_PORT=${ACMS_CERBOS_GRPC_PORT:-3593}
ACMS_GATEWAY_PORT=${ACMS_GATEWAY_PORT:-8080}
ACMS_SMTP_PORT=${ACMS_SMTP_PORT:-2525}
ACMS_MAILDIR=${ACMS_MAILDIR:-$RUN_DIR/mail}
export ACMS_PG_PORT ACMS_KAFKA_PORT ACMS_KAFKA_CONTROLLER_PORT ACMS_CERBOS_HTTP_PORT \
  ACMS_CERBOS_GRPC_PORT ACMS_GATEWAY_PORT ACMS_SMTP_PORT ACMS_MAILDIR

SERVICES="identity referrals cases integrations reporting retention"

# service_port NAME -> the service's HTTP port (overridable with ACMS_<NAME>_PORT).
service_port() {
  local var default
  case $1 in
    identity) default=8101 ;; referrals) default=8102 ;; cases) default=8103 ;;
    integrations) default=8104 ;; reporting) default=8105 ;; retention) default=8106 ;;
    *) echo "unknown service: $1" >&2; return 1 ;;
  esac
  var="ACMS_$(echo "$1" | tr '[:lower:]' '[:upper:]')_PORT"
  echo "${!var:-$default}"
}

# port_open HOST PORT -> success when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_for_port HOST PORT TIMEOUT_SECONDS
wait_for_port() {
  local host=$1 port=$2 timeout=${3:-30} deadline
  deadline=$((SECONDS + timeout))
  until port_open "$host" "$port"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# wait_for_port_closed HOST PORT TIMEOUT_SECONDS
wait_for_port_closed() {
  local host=$1 port=$2 timeout=${3:-30} deadline
  deadline=$((SECONDS + timeout))
  while port_open "$host" "$port"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# pid_alive PIDFILE -> prints the pid and succeeds when the process in PIDFILE is alive.
pid_alive() {
  local f=$1 pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # a zombie is not alive
  [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ] || return 1
  echo "$pid"
}

# stop_pid NAME PIDFILE [TIMEOUT]: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name=$1 f=$2 timeout=${3:-30} pid deadline
  if ! pid=$(pid_alive "$f"); then
    rm -f "$f"; echo "$name: not running"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$f"; echo "$name: killed (pid $pid) after ${timeout}s without exiting"
  else
    rm -f "$f"; echo "$name: stopped (pid $pid)"
  fi
}

# kill_pid NAME PIDFILE: SIGKILL at once (fault tests).
kill_pid() {
  local name=$1 f=$2 pid
  if ! pid=$(pid_alive "$f"); then
    rm -f "$f"; echo "$name: not running"; return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$f"; echo "$name: killed (pid $pid)"
}

# ensure_apt PACKAGE BINARY: install a Debian package when BINARY is absent.
ensure_apt() {
  local pkg=$1 bin=$2
  [ -x "$bin" ] && return 0
  command -v apt-get >/dev/null || { echo "$pkg: $bin missing and apt-get unavailable" >&2; return 1; }
  echo "$pkg: installing Debian package"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "$pkg" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "$pkg" >/dev/null; }
  [ -x "$bin" ] || { echo "$pkg: installed but $bin still missing" >&2; return 1; }
}

# ensure_secret NAME -> prints the local secret NAME, created at first use: 32 random bytes,
# base64url, mode 0600 under $RUN_DIR/secrets (git-ignored, never committed). Every launcher
# that needs a credential (student key, Kafka and PostgreSQL passwords...) takes it from here,
# so one machine keeps one value across restarts. Production supplies these from its secret
# store instead (deploy/compose, deploy/k8s).
ensure_secret() {
  local dir="$RUN_DIR/secrets" f="$RUN_DIR/secrets/$1"
  [[ $1 =~ ^[a-z][a-z0-9_]*$ ]] || { echo "ensure_secret: bad name $1" >&2; return 1; }
  if [ ! -s "$f" ]; then
    mkdir -p "$dir"; chmod 700 "$dir"
    (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' >"$f.tmp" && mv "$f.tmp" "$f")
  fi
  cat "$f"
}

# export_service_secrets: the secrets every service process needs, from the environment
# when the operator set them, else the local ones under $RUN_DIR/secrets (made at first use).
export_service_secrets() {
  ACMS_STUDENT_KEY_SECRET=${ACMS_STUDENT_KEY_SECRET:-$(ensure_secret student_key)}
  export ACMS_STUDENT_KEY_SECRET
}

# use_db_credentials SERVICE: exports ACMS_PG_USER / ACMS_PG_PASSWORD as the service's own
# PostgreSQL login role, acms_SERVICE, which can open only the database acms_SERVICE
# (deploy/postgres.sh creates it with this secret). Run in a subshell: it changes the environment.
# A service in RUNTIME_ROLE_SERVICES runs as a lesser login role, acms_SERVICE_app, that may
# not change its append-only tables (the audit trail): acms_SERVICE owns the database and
# runs the migrations in a step of its own (use_db_owner_credentials), so the service
# process never holds the owner's password.
RUNTIME_ROLE_SERVICES="retention"
has_runtime_role() { [[ " $RUNTIME_ROLE_SERVICES " == *" $1 "* ]]; }

use_db_credentials() {
  if has_runtime_role "$1"; then
    ACMS_PG_USER="acms_$1_app"
    ACMS_PG_PASSWORD=$(ensure_secret "pg_$1_app") || return 1
  else
    ACMS_PG_USER="acms_$1"
    ACMS_PG_PASSWORD=$(ensure_secret "pg_$1") || return 1
  fi
  export ACMS_PG_USER ACMS_PG_PASSWORD
}

# use_db_owner_credentials SERVICE: as use_db_credentials, plus ACMS_PG_OWNER_USER /
# ACMS_PG_OWNER_PASSWORD, the owner role acms_SERVICE (for `python -m acms_platform.migrate`).
use_db_owner_credentials() {
  use_db_credentials "$1" || return 1
  ACMS_PG_OWNER_USER="acms_$1"
  ACMS_PG_OWNER_PASSWORD=$(ensure_secret "pg_$1") || return 1
  export ACMS_PG_OWNER_USER ACMS_PG_OWNER_PASSWORD
}

# use_kafka_credentials SERVICE: exports ACMS_KAFKA_USERNAME / ACMS_KAFKA_PASSWORD as the
# service's own Kafka principal, acms-SERVICE, whose ACLs let it write only the topics it
# publishes and read only those it subscribes to (services.sh applies them with
# acms_platform.kafka_acls), and ACMS_KAFKA_CA_FILE, the local CA it verifies the broker
# with (TLS). Run in a subshell: it changes the environment.
use_kafka_credentials() {
  ACMS_KAFKA_USERNAME="acms-$1"
  ACMS_KAFKA_PASSWORD=$(ensure_secret "kafka_$1") || return 1
  ACMS_KAFKA_CA_FILE=$KAFKA_CA_FILE
  export ACMS_KAFKA_USERNAME ACMS_KAFKA_PASSWORD ACMS_KAFKA_CA_FILE
}

# use_kafka_admin: exports ACMS_KAFKA_ADMIN_USER / ACMS_KAFKA_ADMIN_PASSWORD, the super user
# deploy/kafka.sh formats the storage with (for the launchers' and the tests' admin work),
# and ACMS_KAFKA_CA_FILE as use_kafka_credentials does.
use_kafka_admin() {
  ACMS_KAFKA_ADMIN_USER=admin
  ACMS_KAFKA_ADMIN_PASSWORD=$(ensure_secret kafka_admin) || return 1
  ACMS_KAFKA_CA_FILE=$KAFKA_CA_FILE
  export ACMS_KAFKA_ADMIN_USER ACMS_KAFKA_ADMIN_PASSWORD ACMS_KAFKA_CA_FILE
}

# show_log_tail FILE [LINES]
show_log_tail() {
  echo "---- last ${2:-40} lines of $1 ----" >&2
  tail -n "${2:-40}" "$1" >&2 2>/dev/null || true
}

mkdir -p "$RUN_DIR" "$LOG_DIR"
