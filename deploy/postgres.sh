#!/usr/bin/env bash
# deploy/postgres.sh start|stop|status|kill: PostgreSQL 15 (Debian package) for local dev and tests.
# One cluster in $RUN_DIR/postgres on 127.0.0.1:$ACMS_PG_PORT with one database per service,
# acms_<service>, owned by that service's own login role acms_<service> (password: the local
# secret pg_<service>, created at first start by ensure_secret) and closed to every other role.
# Role acms (password acms, a fake local-dev credential) is the administrator the tests and
# tools use to create databases and roles; no service runs as it.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PG_LINK=$RUN_DIR/postgres
PG_HASH=$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-10)
PG_EXTERNAL=/var/tmp/acms-postgres-$PG_HASH
PG_LOG=$LOG_DIR/postgres.log

as_pg() { (cd / && runuser -u postgres -- "$@"); }

# Decides where the cluster lives and sets PG_DATA / PG_REAL_LOG.
resolve_datadir() {
  if [ -L "$PG_LINK" ]; then
    PG_DATA=$(readlink -f "$PG_LINK" || readlink "$PG_LINK")
  elif as_pg test -x "$RUN_DIR" 2>/dev/null; then
    PG_DATA=$PG_LINK
  else
    # the postgres user cannot traverse the repo path (e.g. under /root): keep the cluster in
    # /var/tmp and link it into the run directory
    [ ! -d "$PG_LINK" ] || rmdir "$PG_LINK" 2>/dev/null \
      || { echo "postgres: $PG_LINK exists but user postgres cannot reach it" >&2; exit 1; }
    PG_DATA=$PG_EXTERNAL
  fi
  if [ "$PG_DATA" = "$PG_LINK" ]; then
    PG_REAL_LOG=$PG_LOG
  else
    PG_REAL_LOG=$PG_DATA.log
  fi
}

ensure_layout() {
  if [ "$PG_DATA" != "$PG_LINK" ]; then
    mkdir -p "$PG_DATA"
    [ -L "$PG_LINK" ] || { ln -sfn "$PG_DATA" "$PG_LINK"; echo "postgres: $RUN_DIR not reachable by user postgres; data in $PG_DATA (symlinked from $PG_LINK)"; }
    [ -L "$PG_LOG" ] || { rm -f "$PG_LOG"; ln -s "$PG_REAL_LOG" "$PG_LOG"; }
  else
    mkdir -p "$PG_DATA"
  fi
  chown postgres: "$PG_DATA"; chmod 700 "$PG_DATA"
  touch "$PG_REAL_LOG"; chown postgres: "$PG_REAL_LOG"
}

running() { [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
pg_pid() { head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null; }

write_config() {
  local sockdir=$PG_DATA
  # unix socket paths are limited to ~107 bytes; fall back to TCP only for long paths
  [ ${#sockdir} -le 80 ] || sockdir=""
  cat >"$PG_DATA/acms.conf" <<CONF
# written by deploy/postgres.sh on every start
listen_addresses = '127.0.0.1'
port = $ACMS_PG_PORT
unix_socket_directories = '$sockdir'
max_connections = 300
shared_buffers = 256MB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
# No personal data in the server log: an error's DETAIL quotes the offending values
# ("Key (email)=(...) already exists") and a failing statement may carry literals.
log_error_verbosity = terse
log_min_error_statement = panic
log_parameter_max_length_on_error = 0
CONF
  cat >"$PG_DATA/pg_hba.conf" <<CONF
# written by deploy/postgres.sh: local development only
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       all                      trust
host    all       postgres  127.0.0.1/32   trust
host    all       all       127.0.0.1/32   scram-sha-256
CONF
  grep -q "^include_if_exists = 'acms.conf'" "$PG_DATA/postgresql.conf" \
    || echo "include_if_exists = 'acms.conf'" >>"$PG_DATA/postgresql.conf"
  chown postgres: "$PG_DATA/acms.conf" "$PG_DATA/pg_hba.conf"
}

psql_admin() {
  "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$ACMS_PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "$@"
}

provision() {
  psql_admin -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acms') THEN
        CREATE ROLE acms LOGIN CREATEDB CREATEROLE PASSWORD 'acms';
      END IF; END \$\$; ALTER ROLE acms CREATEDB CREATEROLE;" >/dev/null
  local created=() svc db password
  for svc in $SERVICES; do
    db=acms_$svc
    password=$(ensure_secret "pg_$svc")
    # the role and its password (kept in step with the secret), administered by acms
    psql_admin -v role="$db" -v password="$password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
SELECT format('GRANT %I TO acms', :'role') \gexec
SQL
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
      psql_admin -c "CREATE DATABASE $db OWNER $db ENCODING 'UTF8' TEMPLATE template0" >/dev/null
      created+=("$db")
    elif [ "$(psql_admin -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'")" != "$db" ]; then
      # a database from before per-service roles: hand it and everything in it over
      psql_admin -c "ALTER DATABASE $db OWNER TO $db" >/dev/null
      "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$ACMS_PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 \
        -v role="$db" >/dev/null <<'SQL'
SELECT format('ALTER TABLE %I.%I OWNER TO %I', schemaname, tablename, :'role')
  FROM pg_tables WHERE schemaname = 'public' \gexec
SELECT format('ALTER VIEW %I.%I OWNER TO %I', schemaname, viewname, :'role')
  FROM pg_views WHERE schemaname = 'public' \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, :'role')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') \gexec
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', schemaname, sequencename, :'role')
  FROM pg_sequences s WHERE schemaname = 'public' AND NOT EXISTS (
    SELECT FROM pg_depend d WHERE d.objid = (quote_ident(s.schemaname) || '.' ||
      quote_ident(s.sequencename))::regclass AND d.deptype IN ('a', 'i')) \gexec
SQL
      echo "postgres: $db handed over to its own role $db"
    fi
    psql_admin -c "REVOKE ALL ON DATABASE $db FROM PUBLIC" >/dev/null
    if has_runtime_role "$svc"; then
      # the service's lesser login role; its migrations grant it what it may do
      psql_admin -v role="${db}_app" -v password="$(ensure_secret "pg_${svc}_app")" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
SQL
      psql_admin -c "GRANT CONNECT ON DATABASE $db TO ${db}_app" >/dev/null
    fi
  done
  if [ ${#created[@]} -gt 0 ]; then
    echo "postgres: created databases ${created[*]}, each owned by its own role"
  else
    echo "postgres: databases acms_<service> present, each owned by its own role"
  fi
}

start() {
  ensure_apt postgresql-15 "$PG_BIN/postgres"
  resolve_datadir
  ensure_layout
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
      --auth=trust >"$PG_REAL_LOG.initdb" 2>&1 || { show_log_tail "$PG_REAL_LOG.initdb"; exit 1; }
    echo "postgres: initialised cluster in $PG_DATA"
  fi
  if running; then
    echo "postgres: already running on 127.0.0.1:$ACMS_PG_PORT (pid $(pg_pid))"
  else
    write_config
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_REAL_LOG" -w -t 90 -s >/dev/null; then
      echo "postgres: failed to start" >&2; show_log_tail "$PG_LOG"; exit 1
    fi
    wait_for_port 127.0.0.1 "$ACMS_PG_PORT" 30 || { echo "postgres: port $ACMS_PG_PORT not open" >&2; exit 1; }
    echo "postgres: started on 127.0.0.1:$ACMS_PG_PORT (pid $(pg_pid), log $PG_LOG)"
  fi
  provision
}

stop() {
  resolve_datadir
  if running; then
    local pid; pid=$(pg_pid)
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s
    echo "postgres: stopped (pid $pid)"
  else
    echo "postgres: not running"
  fi
}

kill_now() {
  resolve_datadir
  if running; then
    local pid; pid=$(pg_pid)
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    echo "postgres: killed (pid $pid)"
  else
    echo "postgres: not running"
  fi
}

status() {
  resolve_datadir
  if running; then
    echo "postgres: running on 127.0.0.1:$ACMS_PG_PORT (pid $(pg_pid), data $PG_DATA)"
  else
    echo "postgres: stopped"; return 1
  fi
}

case ${1:-status} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill) kill_now ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|status|kill|restart" >&2; exit 2 ;;
esac
