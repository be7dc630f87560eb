#!/usr/bin/env bash
# Runs once, when the PostgreSQL data volume is first initialised (docker-entrypoint-initdb.d):
# the role the services connect as and one database per service, owned by it. A service
# registered later finds its database missing and creates it (the role may CREATEDB), so this
# list is a convenience for the first start, kept equal to the registry by scripts/check-deploy.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v password="$MCF_APP_PASSWORD" <<'SQL'
CREATE ROLE mcf LOGIN CREATEDB PASSWORD :'password';
CREATE DATABASE mcf_iam OWNER mcf;
CREATE DATABASE mcf_mail OWNER mcf;
CREATE DATABASE mcf_hiring OWNER mcf;
CREATE DATABASE mcf_ordering OWNER mcf;
CREATE DATABASE mcf_matching OWNER mcf;
CREATE DATABASE mcf_inventory OWNER mcf;
CREATE DATABASE mcf_quality OWNER mcf;
CREATE DATABASE mcf_billing OWNER mcf;
CREATE DATABASE mcf_bets OWNER mcf;
SQL
