#!/usr/bin/env bash
# make demo: install, migrate, seed the demo clinic and serve it at http://127.0.0.1:8000 (SQLite under var/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
VAR_DIR="${KETACARE_VAR_DIR:-var}"
mkdir -p "$VAR_DIR"
VAR_ABS="$(cd "$VAR_DIR" && pwd)"
# The demo runs with production error pages (no tracebacks, no URL list): DEBUG off, so it needs a secret key of its
# own, kept in var/. KETACARE_DEBUG=True (Django's debug pages) is opt-in: `KETACARE_DEBUG=True make demo`.
if [ ! -s "$VAR_ABS/secret_key" ]; then
  (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$VAR_ABS/secret_key")
fi
# The demo's settings, kept for every `ketacare` command run beside it (ketacare/manage.py reads this file when the
# environment brings no SECRET_KEY; the environment always wins). A server install has no such file.
cat > "$VAR_DIR/ketacare.env" <<ENV
# Written by make demo: the local demo install's settings. Delete it on a server.
KETACARE_DEBUG=${KETACARE_DEBUG:-False}
KETACARE_DEMO=True
SECRET_KEY_FILE=$VAR_ABS/secret_key
ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost,[::1]}
# Plain HTTP on this computer: cookies without the Secure flag (a server install keeps them secure, behind TLS).
KETACARE_SECURE_COOKIES=False
# Mail is printed by the worker and kept in the outbox (Outbox page, as the clinic admin); SMS go to var/.
EMAIL_URL=${EMAIL_URL:-console://}
ENV
.venv/bin/ketacare migrate --no-input -v 0
.venv/bin/ketacare demo
echo
echo "Open http://127.0.0.1:${PORT:-8000}/ and sign in with one of the logins above. Ctrl-C stops the server and"
echo "the worker (background tasks, reminders, escalation, overdue vitals)."
# The worker runs beside the server; when either stops, or on Ctrl-C, both stop.
cleanup() { kill "${SERVER:-}" "${WORKER:-}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
.venv/bin/ketacare worker --worker-id demo-worker &
WORKER=$!
.venv/bin/ketacare serve --host 127.0.0.1 --port "${PORT:-8000}" &
SERVER=$!
wait -n "$SERVER" "$WORKER"
