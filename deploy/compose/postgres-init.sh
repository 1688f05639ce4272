#!/usr/bin/env bash
# Run by the official postgres image once, when its data volume is first initialised
# (/docker-entrypoint-initdb.d): the application role and one database per service,
# acms_<service>, as deploy/postgres.sh provisions them for the local launcher.
set -euo pipefail

SERVICES="identity referrals cases integrations reporting retention"

admin() {
  psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres "$@"
}

admin -v role="$ACMS_PG_USER" -v password="$ACMS_PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL

for service in $SERVICES; do
  admin -v role="$ACMS_PG_USER" -v database="acms_$service" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0',
              :'database', :'role', 'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SQL
done
echo "postgres-init: role $ACMS_PG_USER and databases acms_<service> for: $SERVICES"
