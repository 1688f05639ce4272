#!/usr/bin/env bash
# deploy/nginx.sh start|stop|status|reload|kill: the nginx gateway (Debian package) on
# 127.0.0.1:$ACMS_GATEWAY_PORT, routing /api/<service>/... to http://127.0.0.1:<port>/...
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

NGINX_BIN=/usr/sbin/nginx
NGINX_TEMPLATE=$ROOT/deploy/nginx/acms.conf.template
NGINX_DIR=$RUN_DIR/nginx
NGINX_CONF=$NGINX_DIR/nginx.conf
NGINX_PID=$NGINX_DIR/nginx.pid
NGINX_ERR=$LOG_DIR/nginx-error.log
RATE=${ACMS_GATEWAY_RATE:-50r/s}
BURST=${ACMS_GATEWAY_BURST:-100}
# Sign-in, activation and password reset: tighter than the rest (identity also throttles).
SIGN_IN_RATE=${ACMS_GATEWAY_SIGN_IN_RATE:-5r/s}
SIGN_IN_BURST=${ACMS_GATEWAY_SIGN_IN_BURST:-10}

render() {
  mkdir -p "$NGINX_DIR/tmp"
  local upstreams="" locations="" svc port user_line="" conf
  for svc in $SERVICES; do
    port=$(service_port "$svc")
    upstreams+="    upstream acms_$svc {
        server 127.0.0.1:$port;
        keepalive 16;
    }
"
    locations+="        location /api/$svc/ {
            limit_req zone=acms_per_ip burst=$BURST nodelay;
            include $ROOT/deploy/nginx/proxy_headers.conf;
            proxy_set_header X-Forwarded-Prefix /api/$svc;
            proxy_pass http://acms_$svc/;
        }
"
  done
  [[ " $SERVICES " == *" identity "* ]] && locations+="        location ~ ^/api/identity/(sign-in|activate|password-reset)\$ {
            limit_req zone=acms_sign_in burst=$SIGN_IN_BURST nodelay;
            include $ROOT/deploy/nginx/proxy_headers.conf;
            proxy_set_header X-Forwarded-Prefix /api/identity;
            rewrite ^/api/identity/(.*)\$ /\$1 break;
            proxy_pass http://acms_identity;
        }
"
  # Integrations' batch files (services/integrations/README.md): the only bodies above
  # 1 MiB, streamed to the service as they arrive (no buffering, so no temp files), for as
  # long as a national file takes. The service counts them against its own limit.
  [[ " $SERVICES " == *" integrations "* ]] && locations+="        location ~ ^/api/integrations/(enrol|attendance)/batches/[^/]+/file\$ {
            limit_req zone=acms_per_ip burst=$BURST nodelay;
            client_max_body_size 2g;
            proxy_request_buffering off;
            proxy_read_timeout 900s;
            proxy_send_timeout 900s;
            include $ROOT/deploy/nginx/proxy_headers.conf;
            proxy_set_header X-Forwarded-Prefix /api/integrations;
            rewrite ^/api/integrations/(.*)\$ /\$1 break;
            proxy_pass http://acms_integrations;
        }
"
  # Cases' documents and media (services/cases/README.md, "Documents"): uploads streamed to
  # the service as they arrive and downloads streamed back (no buffering either way, so no
  # temp files), up to the service's own limit (document_max_bytes, 1 GiB by default).
  [[ " $SERVICES " == *" cases "* ]] && locations+="        location ~ ^/api/cases/cases/[^/]+/documents(/[^/]+/(versions|content))?\$ {
            limit_req zone=acms_per_ip burst=$BURST nodelay;
            client_max_body_size 2g;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 900s;
            proxy_send_timeout 900s;
            include $ROOT/deploy/nginx/proxy_headers.conf;
            proxy_set_header X-Forwarded-Prefix /api/cases;
            rewrite ^/api/cases/(.*)\$ /\$1 break;
            proxy_pass http://acms_cases;
        }
"
  if [ "$(id -u)" -eq 0 ]; then
    # workers drop privileges; they only proxy (no temp files), so they need no access to RUN_DIR
    if id www-data >/dev/null 2>&1; then user_line="user www-data;"; else user_line="user nobody nogroup;"; fi
  fi
  conf=$(<"$NGINX_TEMPLATE")
  conf=${conf//@USER_LINE@/$user_line}
  conf=${conf//@NGINX_DIR@/$NGINX_DIR}
  conf=${conf//@LOG_DIR@/$LOG_DIR}
  conf=${conf//@RUN_DIR@/$RUN_DIR}
  conf=${conf//@GATEWAY_PORT@/$ACMS_GATEWAY_PORT}
  conf=${conf//@RATE@/$RATE}
  conf=${conf//@BURST@/$BURST}
  conf=${conf//@SIGN_IN_RATE@/$SIGN_IN_RATE}
  conf=${conf//@UPSTREAMS@/$upstreams}
  conf=${conf//@LOCATIONS@/$locations}
  printf '%s\n' "$conf" >"$NGINX_CONF.new"
  if ! "$NGINX_BIN" -t -q -p "$NGINX_DIR" -e "$NGINX_ERR" -c "$NGINX_CONF.new" 2>"$NGINX_DIR/configtest.log"; then
    echo "nginx: rendered configuration is invalid:" >&2; cat "$NGINX_DIR/configtest.log" >&2; exit 1
  fi
  mv -f "$NGINX_CONF.new" "$NGINX_CONF"
}

start() {
  ensure_apt nginx "$NGINX_BIN"
  if pid_alive "$NGINX_PID" >/dev/null; then
    echo "nginx: already running on 127.0.0.1:$ACMS_GATEWAY_PORT (pid $(cat "$NGINX_PID"))"; return 0
  fi
  if port_open 127.0.0.1 "$ACMS_GATEWAY_PORT"; then
    echo "nginx: port $ACMS_GATEWAY_PORT is in use by another process" >&2; exit 1
  fi
  render
  if ! "$NGINX_BIN" -p "$NGINX_DIR" -e "$NGINX_ERR" -c "$NGINX_CONF" 2>>"$NGINX_ERR"; then
    echo "nginx: failed to start" >&2; show_log_tail "$NGINX_ERR" 20; exit 1
  fi
  wait_for_port 127.0.0.1 "$ACMS_GATEWAY_PORT" 15 || { echo "nginx: port not open" >&2; show_log_tail "$NGINX_ERR" 20; exit 1; }
  local deadline=$((SECONDS + 5)); until pid_alive "$NGINX_PID" >/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  echo "nginx: started on 127.0.0.1:$ACMS_GATEWAY_PORT (pid $(cat "$NGINX_PID" 2>/dev/null), conf $NGINX_CONF)"
}

reload() {
  if ! pid_alive "$NGINX_PID" >/dev/null; then echo "nginx: not running; starting"; start; return; fi
  render
  kill -HUP "$(cat "$NGINX_PID")"
  sleep 0.5  # new workers take over asynchronously
  echo "nginx: configuration re-rendered and reloaded (pid $(cat "$NGINX_PID"))"
}

# SIGKILL the master and its workers (workers outlive a killed master and keep the port).
kill_all() {
  local pid workers
  if ! pid=$(pid_alive "$NGINX_PID"); then rm -f "$NGINX_PID"; echo "nginx: not running"; return 0; fi
  workers=$(ps -o pid= --ppid "$pid" | tr -s ' \n' ' ')
  # shellcheck disable=SC2086
  kill -KILL "$pid" $workers 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$NGINX_PID"; echo "nginx: killed (master $pid, workers${workers:- none})"
}

status() {
  if pid_alive "$NGINX_PID" >/dev/null && port_open 127.0.0.1 "$ACMS_GATEWAY_PORT"; then
    echo "nginx: running on 127.0.0.1:$ACMS_GATEWAY_PORT (pid $(cat "$NGINX_PID"))"
  else
    echo "nginx: stopped"; return 1
  fi
}

case ${1:-status} in
  start) start ;;
  stop) stop_pid nginx "$NGINX_PID" 30 ;;
  kill) kill_all ;;
  reload) reload ;;
  restart) stop_pid nginx "$NGINX_PID" 30; start ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status|reload|kill|restart" >&2; exit 2 ;;
esac
