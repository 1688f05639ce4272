#!/usr/bin/env bash
# Run by the official postgres image once, when its data volume is first initialised
# (/docker-entrypoint-initdb.d): per service, its own login role acms_<service> (password
# from ROLE_PASSWORD_<SERVICE>) and its database acms_<service>, owned by that role and
# closed to every other, as deploy/postgres.sh provisions them for the local launcher.
set -euo pipefail

SERVICES="identity referrals cases integrations reporting retention"

admin() {
  psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres "$@"
}

for service in $SERVICES; do
  password_var="ROLE_PASSWORD_$(echo "$service" | tr '[:lower:]' '[:upper:]')"
  password=${!password_var:?$password_var is not set}
  admin -v role="acms_$service" -v password="$password" -v database="acms_$service" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0',
              :'database', :'role', 'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SQL
done
# retention runs as a lesser role of its own (its migrations, as acms_retention, grant it
# reading and adding to the audit trail, never changing it): see compose.yaml.
admin -v role=acms_retention_app -v password="${ROLE_PASSWORD_RETENTION_APP:?ROLE_PASSWORD_RETENTION_APP is not set}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('GRANT CONNECT ON DATABASE acms_retention TO %I', :'role') \gexec
SQL
echo "postgres-init: per service, role acms_<service> and its database, for: $SERVICES"
