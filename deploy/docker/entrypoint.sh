#!/bin/sh
# Container entrypoint of deploy/docker/Dockerfile: runs the service named by
# ACMS_SERVICE_NAME the way deploy/services.sh does (uvicorn factory, behind the gateway at
# /api/<name>). Host and port come from the same Settings the service reads (ACMS_HOST,
# ACMS_PORT, else SERVICE_PORTS), so a bad setting stops the container at once naming it.
set -eu

# A secret mounted as a file (compose `secrets:`, or a Kubernetes secret volume) stands in
# for its environment variable when that is not set: from_file VARIABLE FILE.
from_file() {
  eval "current=\${$1:-}"
  if [ -z "$current" ] && [ -r "$2" ]; then
    eval "$1=\$(cat \"\$2\")"
    export "${1?}"
  fi
}
from_file ACMS_STUDENT_KEY_SECRET /run/secrets/acms_student_key_secret
# the service's own Kafka principal's password (compose mounts kafka_<service> here) and,
# for the one-shot that applies the principals and ACLs, the admin's
from_file ACMS_KAFKA_PASSWORD /run/secrets/acms_kafka_password
from_file ACMS_KAFKA_ADMIN_PASSWORD /run/secrets/kafka_admin

# A command of its own (compose's one-shot steps: migrations, Kafka principals and ACLs)
# runs as given, with the same secrets; anything else is options for uvicorn.
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec "$@"
fi

name=${ACMS_SERVICE_NAME:-}
address=$(python - "$name" <<'PY'
import sys

from acms_platform.settings import SERVICE_PORTS, load_settings

name = sys.argv[1]
if name not in SERVICE_PORTS:
    sys.exit(f"ACMS_SERVICE_NAME={name!r}: expected one of {', '.join(SERVICE_PORTS)}")
settings = load_settings(name)
print(settings.host, settings.http_port)
PY
)
host=${address% *}
port=${address#* }

echo "acms-service: starting $name on $host:$port (root path /api/$name)"
exec uvicorn --factory "acms_${name}.app:create" \
  --host "$host" --port "$port" --root-path "/api/$name" \
  --no-access-log --timeout-graceful-shutdown 20 "$@"
