#!/usr/bin/env bash
# deploy/kafka.sh start|stop|status|kill|restart|topics NAME...|credentials|errors|secrets: Apache
# Kafka (KRaft, one combined broker+controller node) from Maven Central jars, run with the
# machine's Java 17.
# Clients connect over TLS (SASL_SSL), verify the broker's certificate against a local CA,
# authenticate with SASL/SCRAM-SHA-512 and are authorised by ACLs (StandardAuthorizer,
# nothing allowed without one). The CA and the broker's key are made at first start under
# $RUN_DIR/tls (ensure_tls; never committed); clients trust $RUN_DIR/tls/kafka-ca.pem
# (ACMS_KAFKA_CA_FILE). The admin super user's password is the local secret kafka_admin
# (deploy/lib/common.sh ensure_secret, under .run/secrets, never committed); its client
# properties for Kafka's own tools are written to $RUN_DIR/kafka/admin.properties.
# The services' principals and ACLs are made by deploy/services.sh (acms_platform.kafka_acls).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

KAFKA_VERSION=${ACMS_KAFKA_VERSION:-4.1.1}
KAFKA_CONF_DIR=$ROOT/deploy/kafka
KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_DIR=$RUN_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_PROPS=$KAFKA_DIR/server.properties
KAFKA_LOG=$LOG_DIR/kafka.log
KAFKA_ADMIN_PROPS=$KAFKA_DIR/admin.properties
# The storage was formatted with the admin's SCRAM credential (older local storage was not).
KAFKA_SCRAM_STAMP=$KAFKA_DATA/acms-scram-admin
KAFKA_ADMIN_USER=admin
# The local CA (key and certificate) and the broker's key and certificate (a PKCS12
# keystore whose password is the local secret kafka_keystore), for the loopback names the
# broker is reached by. Outside $KAFKA_DIR: starting the storage over keeps the CA clients trust.
KAFKA_TLS_DIR=$RUN_DIR/tls
KAFKA_CA=$KAFKA_CA_FILE  # $KAFKA_TLS_DIR/kafka-ca.pem (deploy/lib/common.sh)
KAFKA_CA_KEY=$KAFKA_TLS_DIR/kafka-ca.key
KAFKA_BROKER_CERT=$KAFKA_TLS_DIR/kafka-broker.pem
KAFKA_KEYSTORE=$KAFKA_TLS_DIR/kafka-broker.p12
# 127.0.0.1 and localhost for the local broker; kafka for the compose broker, which uses the
# same files (deploy/compose/compose.yaml) unless production supplies its own.
KAFKA_TLS_NAMES="IP:127.0.0.1,DNS:localhost,DNS:kafka"
KAFKA_TLS_STAMP=$KAFKA_TLS_DIR/kafka-broker.names
BOOTSTRAP=127.0.0.1:$ACMS_KAFKA_PORT
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx768m -Xms256m}

# Fetches the jars once; the stamp records the pom and version they were resolved from.
ensure_libs() {
  local stamp="$KAFKA_LIBS/.complete" want
  want="$KAFKA_VERSION $(sha256sum "$KAFKA_CONF_DIR/pom.xml" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { echo "kafka: mvn not found (needed once to fetch the jars)" >&2; exit 1; }
  echo "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  if ! mvn -q -B -f "$KAFKA_CONF_DIR/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime \
      >"$KAFKA_HOME/mvn.log" 2>&1; then
    echo "kafka: mvn failed" >&2; show_log_tail "$KAFKA_HOME/mvn.log"; exit 1
  fi
  ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar "$KAFKA_LIBS"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null
  echo "$want" >"$stamp"
}

# kafka_tool MAIN_CLASS ARGS...: runs a Kafka command-line class from the jars.
kafka_tool() {
  "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

admin_password() { ensure_secret kafka_admin; }

# still_valid CERT: the certificate exists and stays valid for 30 more days.
still_valid() { [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; }

# ensure_tls: the local CA (10 years) and, signed by it, the broker's key and certificate
# (2 years, for $KAFKA_TLS_NAMES, server authentication only), made at first start and
# again only when one is missing, within 30 days of expiry or made for other names. Keys
# are EC P-256, mode 0600; the CA's key stays here (nothing else signs with it).
ensure_tls() {
  command -v openssl >/dev/null || { echo "kafka: openssl not found (needed for TLS)" >&2; exit 1; }
  mkdir -p "$KAFKA_TLS_DIR"; chmod 700 "$KAFKA_TLS_DIR"
  (umask 077
   if ! still_valid "$KAFKA_CA" || [ ! -s "$KAFKA_CA_KEY" ]; then
     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
       -subj "/CN=ACMS local Kafka CA ($(hostname -s))" -keyout "$KAFKA_CA_KEY" -out "$KAFKA_CA.tmp" \
       -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
       -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
     mv "$KAFKA_CA.tmp" "$KAFKA_CA"; rm -f "$KAFKA_BROKER_CERT"
   fi
   if ! still_valid "$KAFKA_BROKER_CERT" || [ ! -s "$KAFKA_KEYSTORE" ] ||
      [ "$(cat "$KAFKA_TLS_STAMP" 2>/dev/null)" != "$KAFKA_TLS_NAMES" ] ||
      ! openssl verify -CAfile "$KAFKA_CA" "$KAFKA_BROKER_CERT" >/dev/null 2>&1; then
     local key=$KAFKA_TLS_DIR/kafka-broker.key
     openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
       -subj "/CN=127.0.0.1" -keyout "$key" -out "$KAFKA_TLS_DIR/kafka-broker.csr" 2>/dev/null
     printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
       "extendedKeyUsage=serverAuth" "subjectAltName=$KAFKA_TLS_NAMES" >"$KAFKA_TLS_DIR/kafka-broker.ext"
     openssl x509 -req -sha256 -days 730 -in "$KAFKA_TLS_DIR/kafka-broker.csr" -CA "$KAFKA_CA" \
       -CAkey "$KAFKA_CA_KEY" -CAcreateserial -CAserial "$KAFKA_TLS_DIR/kafka-ca.srl" \
       -extfile "$KAFKA_TLS_DIR/kafka-broker.ext" -out "$KAFKA_BROKER_CERT" 2>/dev/null
     ensure_secret kafka_keystore >/dev/null  # read from its file, never from the command line
     openssl pkcs12 -export -name kafka-broker -in "$KAFKA_BROKER_CERT" -inkey "$key" \
       -certfile "$KAFKA_CA" -passout "file:$RUN_DIR/secrets/kafka_keystore" -out "$KAFKA_KEYSTORE"
     rm -f "$key" "$KAFKA_TLS_DIR/kafka-broker.csr" "$KAFKA_TLS_DIR/kafka-broker.ext"
     echo "$KAFKA_TLS_NAMES" >"$KAFKA_TLS_STAMP"
     echo "kafka: made the broker's TLS certificate for $KAFKA_TLS_NAMES, signed by $KAFKA_CA"
   fi
  )
  chmod 644 "$KAFKA_CA" "$KAFKA_BROKER_CERT"
}

# The broker's properties and the admin's client properties hold the admin password: 0600.
render_config() {
  local password; password=$(admin_password)
  mkdir -p "$KAFKA_DIR" "$KAFKA_DATA"; chmod 700 "$KAFKA_DIR"
  (umask 077
   sed -e "s#@KAFKA_PORT@#$ACMS_KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$ACMS_KAFKA_CONTROLLER_PORT#g" \
       -e "s#@DATA_DIR@#$KAFKA_DATA#g" -e "s#@ADMIN_USER@#$KAFKA_ADMIN_USER#g" \
       -e "s#@ADMIN_PASSWORD@#$password#g" -e "s#@KEYSTORE@#$KAFKA_KEYSTORE#g" \
       -e "s#@KEYSTORE_PASSWORD@#$(ensure_secret kafka_keystore)#g" -e "s#@CA_FILE@#$KAFKA_CA#g" \
       "$KAFKA_CONF_DIR/server.properties.template" >"$KAFKA_PROPS"
   cat >"$KAFKA_ADMIN_PROPS" <<PROPS
security.protocol=SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_CA
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_ADMIN_USER" password="$password";
PROPS
  )
}

# Formats the storage with the admin's SCRAM credential, which the broker itself needs before
# it can serve anyone (KIP-900). Local storage formatted before SASL (no stamp) has no such
# credential and can get none: it is moved aside, not deleted, and formatted anew.
format_storage() {
  if [ -f "$KAFKA_DATA/meta.properties" ] && [ -f "$KAFKA_SCRAM_STAMP" ]; then return 0; fi
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    local aside="$KAFKA_DIR/data.plaintext-$(date -u +%Y%m%dT%H%M%S)"
    mv "$KAFKA_DATA" "$aside"; mkdir -p "$KAFKA_DATA"
    echo "kafka: storage formatted before SASL moved to $aside; formatting anew (local topics start empty)"
  fi
  local cluster_id
  cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
  kafka_tool kafka.tools.StorageTool format --config "$KAFKA_PROPS" --cluster-id "$cluster_id" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_ADMIN_USER,password=$(admin_password)]" \
    --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 || { show_log_tail "$KAFKA_DIR/format.log"; exit 1; }
  echo "$KAFKA_ADMIN_USER" >"$KAFKA_SCRAM_STAMP"
  echo "kafka: formatted KRaft storage in $KAFKA_DATA (cluster id $cluster_id, SCRAM admin $KAFKA_ADMIN_USER)"
}

is_running() { pid_alive "$KAFKA_PID" >/dev/null; }

broker_ready() { grep -q "Kafka Server started" "$KAFKA_LOG" 2>/dev/null && port_open 127.0.0.1 "$ACMS_KAFKA_PORT"; }

start() {
  if is_running; then
    echo "kafka: already running on $BOOTSTRAP (pid $(cat "$KAFKA_PID"))"; return 0
  fi
  if port_open 127.0.0.1 "$ACMS_KAFKA_PORT"; then
    echo "kafka: port $ACMS_KAFKA_PORT is in use by another process" >&2; exit 1
  fi
  command -v "$JAVA" >/dev/null || { echo "kafka: java not found" >&2; exit 1; }
  ensure_libs
  ensure_tls
  render_config
  format_storage
  [ ! -f "$KAFKA_LOG" ] || mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  # shellcheck disable=SC2086  # heap options are a word list
  nohup "$JAVA" $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" >"$KAFKA_LOG" 2>&1 </dev/null &
  echo $! >"$KAFKA_PID"
  local deadline=$((SECONDS + ${ACMS_KAFKA_START_TIMEOUT:-120}))
  until broker_ready; do
    if ! is_running; then
      echo "kafka: process exited during start-up" >&2; show_log_tail "$KAFKA_LOG"; rm -f "$KAFKA_PID"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "kafka: not ready after ${ACMS_KAFKA_START_TIMEOUT:-120}s" >&2; show_log_tail "$KAFKA_LOG"; exit 1
    fi
    sleep 0.3
  done
  echo "kafka: started $KAFKA_VERSION on $BOOTSTRAP, TLS (CA $KAFKA_CA), SASL/SCRAM-SHA-512 and ACLs (pid $(cat "$KAFKA_PID"), log $KAFKA_LOG)"
}

# admin_authenticates: the broker answers the admin over SASL.
admin_authenticates() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$KAFKA_ADMIN_PROPS" --list >/dev/null 2>&1
}

# admin_authenticates_within SECONDS
admin_authenticates_within() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    admin_authenticates && return 0
    sleep 1
  done
  return 1
}

# log_errors: what the broker's log says went wrong since it started (for the operator and
# for CI's output: the broker's log itself is not part of it).
log_errors() {
  local refused first
  refused=$(grep -c 'Failed authentication' "$KAFKA_LOG" 2>/dev/null || true)
  first=$(grep -m1 'Failed authentication' "$KAFKA_LOG" 2>/dev/null | cut -c2-24 || true)
  echo "kafka: ${refused:-0} failed authentications${first:+ (the first at $first)};" \
    "the log's errors (last 15 of $KAFKA_LOG):" >&2
  grep -E '\] (ERROR|FATAL) |Uncaught exception|publishing fault' "$KAFKA_LOG" 2>/dev/null |
    tail -n 15 | cut -c1-400 >&2 || true
}

# reset_credentials: the admin's and the services' SCRAM credentials set again through the
# controller listener (SASL/PLAIN over TLS), which a broker refusing SCRAM does not stop. Needs the
# project's Python environment (deploy/python.sh); without it there is nothing to try.
reset_credentials() {
  local python=$ROOT/.venv/bin/python
  [ -x "$python" ] || { echo "kafka: no .venv to re-set the credentials with" >&2; return 1; }
  ACMS_KAFKA_ADMIN_USER=$KAFKA_ADMIN_USER ACMS_KAFKA_ADMIN_PASSWORD=$(admin_password) \
    ACMS_KAFKA_CA_FILE=$KAFKA_CA "$python" -m acms_platform.kafka_acls credentials --secrets-dir "$RUN_DIR/secrets" \
    --controller "127.0.0.1:$ACMS_KAFKA_CONTROLLER_PORT" >&2
}

# start_authenticating: start, then make sure the admin's credential is accepted. A broker
# whose metadata log holds a SCRAM user's removal can come back from a restart refusing every
# SCRAM credential, the admin's included (Kafka 4.1's ScramDelta.apply; see acms_platform.
# kafka_admin: we no longer delete users, but older local storage may hold a removal). Then:
# say what its log says, set the credentials again through the controller listener, and if
# that does not help either, restart it once; fail saying so, rather than hand every client
# "invalid credentials".
start_authenticating() {
  start
  admin_authenticates_within 30 && return 0
  echo "kafka: refuses the admin's credentials 30s after start" >&2
  log_errors
  if reset_credentials && admin_authenticates_within 15; then
    echo "kafka: accepts the admin again after its credentials were re-set" >&2
    return 0
  fi
  echo "kafka: still refusing; restarting it once" >&2
  stop_pid kafka "$KAFKA_PID" 30 >/dev/null
  start
  admin_authenticates_within 30 && return 0
  log_errors
  echo "kafka: refuses the admin's credentials after a restart; to start over with empty" \
    "local topics: deploy/kafka.sh stop && rm -rf $KAFKA_DIR" >&2
  exit 1
}

status() {
  if is_running && port_open 127.0.0.1 "$ACMS_KAFKA_PORT"; then
    echo "kafka: running $KAFKA_VERSION on $BOOTSTRAP (pid $(cat "$KAFKA_PID"))"
  elif is_running; then
    echo "kafka: process $(cat "$KAFKA_PID") alive but $BOOTSTRAP not accepting connections"; return 1
  else
    echo "kafka: stopped"; return 1
  fi
}

topics() {
  [ $# -gt 0 ] || { echo "usage: $0 topics NAME..." >&2; exit 2; }
  is_running || { echo "kafka: not running" >&2; exit 1; }
  ensure_libs
  render_config
  local existing name created=() present=()
  existing=$(kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$KAFKA_ADMIN_PROPS" --list)
  for name in "$@"; do
    if grep -qxF "$name" <<<"$existing"; then
      present+=("$name")
    else
      kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --command-config "$KAFKA_ADMIN_PROPS" --create \
        --if-not-exists --topic "$name" --partitions "${ACMS_KAFKA_PARTITIONS:-6}" --replication-factor 1 >/dev/null
      created+=("$name")
    fi
  done
  [ ${#created[@]} -eq 0 ] || echo "kafka: created topics ${created[*]} (${ACMS_KAFKA_PARTITIONS:-6} partitions)"
  [ ${#present[@]} -eq 0 ] || echo "kafka: topics already present: ${present[*]}"
}

# secrets: every file the compose stack mounts (deploy/compose/compose.yaml), made as the
# local broker's are: the CA and the broker's keystore, its password, the admin's password
# and each service principal's, without starting anything.
secrets() {
  ensure_tls
  local name
  for name in kafka_admin kafka_keystore $(for s in $SERVICES; do echo "kafka_$s"; done); do
    ensure_secret "$name" >/dev/null
  done
  echo "kafka: TLS files in $KAFKA_TLS_DIR, passwords in $RUN_DIR/secrets (kafka_*)"
}

action=${1:-status}; shift || true
case $action in
  start) start_authenticating ;;
  stop) stop_pid kafka "$KAFKA_PID" 30 ;;
  kill) kill_pid kafka "$KAFKA_PID" ;;
  status) status ;;
  restart) stop_pid kafka "$KAFKA_PID" 30; start_authenticating ;;
  topics) topics "$@" ;;
  credentials) ensure_tls; render_config; reset_credentials ;;
  errors) log_errors ;;
  secrets) secrets ;;
  *) echo "usage: $0 start|stop|status|kill|restart|topics NAME...|credentials|errors|secrets" >&2; exit 2 ;;
esac
