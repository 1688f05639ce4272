#!/usr/bin/env bash
# deploy/mail.sh start|stop|status|where: the local SMTP server (aiosmtpd, from PyPI, in
# the workspace's dev dependencies) on 127.0.0.1:$ACMS_SMTP_PORT. It delivers nothing
# onwards: every message it accepts is written to the Maildir $RUN_DIR/mail (one file per
# message under new/), which a person reads with any mail client or `cat`, and the tests
# read activation tokens from. Identity sends its invitations and password resets here.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

MAIL_PID=$RUN_DIR/mail.pid
MAIL_LOG=$LOG_DIR/mail.log

start() {
  if pid_alive "$MAIL_PID" >/dev/null; then
    echo "mail: already running on 127.0.0.1:$ACMS_SMTP_PORT (pid $(cat "$MAIL_PID"), mailbox $ACMS_MAILDIR)"; return 0
  fi
  if port_open 127.0.0.1 "$ACMS_SMTP_PORT"; then
    echo "mail: port $ACMS_SMTP_PORT is in use by another process" >&2; exit 1
  fi
  [ -x "$ROOT/.venv/bin/python" ] || "$ROOT/deploy/python.sh"
  mkdir -p "$ACMS_MAILDIR"/{tmp,new,cur}  # a Maildir
  # -n: stay the user that started it (aiosmtpd would otherwise setuid nobody as root).
  setsid nohup "$ROOT/.venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$ACMS_SMTP_PORT" \
    -c aiosmtpd.handlers.Mailbox "$ACMS_MAILDIR" </dev/null >>"$MAIL_LOG" 2>&1 &
  echo $! >"$MAIL_PID"
  if ! wait_for_port 127.0.0.1 "$ACMS_SMTP_PORT" 20; then
    echo "mail: did not start" >&2; show_log_tail "$MAIL_LOG"; exit 1
  fi
  echo "mail: SMTP on 127.0.0.1:$ACMS_SMTP_PORT (pid $(cat "$MAIL_PID")), mailbox $ACMS_MAILDIR"
}

status() {
  if pid_alive "$MAIL_PID" >/dev/null && port_open 127.0.0.1 "$ACMS_SMTP_PORT"; then
    echo "mail: running on 127.0.0.1:$ACMS_SMTP_PORT (pid $(cat "$MAIL_PID")), mailbox $ACMS_MAILDIR"
  else
    echo "mail: stopped"; return 1
  fi
}

case ${1:-status} in
  start) start ;;
  stop) stop_pid mail "$MAIL_PID" 10 ;;
  status) status ;;
  where) echo "$ACMS_MAILDIR" ;;
  *) echo "usage: $0 start|stop|status|where" >&2; exit 2 ;;
esac
