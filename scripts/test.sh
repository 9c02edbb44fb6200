#!/usr/bin/env bash
# make test: install what is needed, then run the whole suite on SQLite and on PostgreSQL (same tests).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
PG_URL=$(bash scripts/ensure-system.sh) || exit 1

export KETACARE_DEBUG=False SECRET_KEY="test-only-secret-key-not-for-production-0123456789" ALLOWED_HOSTS="*"
export EMAIL_URL="${EMAIL_URL:-smtp://127.0.0.1:25}"
unset DATABASE_URL

echo "== lint (ruff) and types (mypy)"
.venv/bin/ruff check ketacare tests || { echo "ruff found problems: .venv/bin/ruff check --fix ketacare tests"; exit 1; }
.venv/bin/mypy || { echo "mypy found type errors (configuration: [tool.mypy] in pyproject.toml)"; exit 1; }

echo "== migrations are in step with the models"
.venv/bin/ketacare makemigrations --check --dry-run >/dev/null || { echo "makemigrations --check failed: add a named migration"; exit 1; }

echo "== SQLite"
.venv/bin/python -m pytest -n 2 "$@"
sqlite_rc=$?

echo "== PostgreSQL ($PG_URL)"
DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -n 2 "$@"
pg_rc=$?

# Nothing is printed after pytest: its summary line stays the last line of the output.
[ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
