#!/usr/bin/env bash
# make demo: install, migrate, seed the demo clinic and serve it at http://127.0.0.1:8000 (SQLite under var/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export KETACARE_DEBUG="${KETACARE_DEBUG:-True}"
.venv/bin/ketacare migrate --no-input -v 0
.venv/bin/ketacare demo
echo
echo "Open http://127.0.0.1:${PORT:-8000}/ and sign in with one of the logins above. Ctrl-C stops the server."
exec .venv/bin/ketacare serve --host 127.0.0.1 --port "${PORT:-8000}"
