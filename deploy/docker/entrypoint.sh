#!/bin/sh
# Container entrypoint of deploy/docker/Dockerfile: runs the service named by
# ACMS_SERVICE_NAME the way deploy/services.sh does (uvicorn factory, behind the gateway at
# /api/<name>). Host and port come from the same Settings the service reads (ACMS_HOST,
# ACMS_PORT, else SERVICE_PORTS), so a bad setting stops the container at once naming it.
set -eu

# A secret mounted as a file (compose `secrets:`, or a Kubernetes secret volume) stands in
# for its environment variable when that is not set.
secret_file=/run/secrets/acms_student_key_secret
if [ -z "${ACMS_STUDENT_KEY_SECRET:-}" ] && [ -r "$secret_file" ]; then
  ACMS_STUDENT_KEY_SECRET=$(cat "$secret_file")
  export ACMS_STUDENT_KEY_SECRET
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
