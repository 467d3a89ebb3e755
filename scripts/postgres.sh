#!/usr/bin/env bash
# Starts the local PostgreSQL server the tests use and creates their role and database.
# Test connection: Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=connector_test;Uid=connector;Pwd=connector
# Usage: scripts/postgres.sh [--drop-test-schemas]
#   --drop-test-schemas: drops the schemas earlier test runs left (each test makes its own, t_…);
#   scripts/test.sh passes it before it runs the tests.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  if ! pg_lsclusters -h | grep -q .; then $sudo pg_createcluster "$version" main; fi
  $sudo pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do
  as_postgres psql -qAtc "select 1" >/dev/null 2>&1 && break
  sleep 1
done
# The tests run in parallel, each with a few connections, over three database kinds (SQLite, PostgreSQL,
# SQL Server's dialect on PostgreSQL): the default 100 connections run out.
if [ "$(as_postgres psql -qAtc "show max_connections")" -lt 300 ]; then
  as_postgres psql -qc "alter system set max_connections = 300"
  $sudo pg_ctlcluster "$version" main restart
  for _ in $(seq 1 30); do
    as_postgres psql -qAtc "select 1" >/dev/null 2>&1 && break
    sleep 1
  done
fi
as_postgres psql -qAtc "select 1 from pg_roles where rolname='connector'" | grep -q 1 ||
  as_postgres psql -qc "create role connector login password 'connector'"
as_postgres psql -qAtc "select 1 from pg_database where datname='connector_test'" | grep -q 1 ||
  as_postgres psql -qc "create database connector_test owner connector encoding 'UTF8' template template0"
echo "PostgreSQL $version is running on 127.0.0.1:5432 (database connector_test)"
if [ "${1:-}" = "--drop-test-schemas" ]; then
  schemas=$(as_postgres psql -qAt -d connector_test -c "select count(*) from pg_namespace where nspname like 't\_%'")
  if [ "$schemas" -gt 0 ]; then
    # One transaction per schema: a lock table of thousands of schemas' objects would not fit.
    as_postgres psql -qAt -d connector_test -c "select nspname from pg_namespace where nspname like 't\_%'" |
      { echo "set client_min_messages = warning;"
        while read -r schema; do echo "drop schema \"$schema\" cascade;"; done; } |
      as_postgres psql -q -d connector_test >/dev/null
    echo "dropped $schemas schemas of earlier test runs"
  fi
fi
