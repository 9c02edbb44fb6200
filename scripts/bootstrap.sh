#!/usr/bin/env bash
# Create/refresh .venv from uv.lock. Finds a local Python >= 3.12 (pyenv builds first); installs uv with pip if absent.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=()
  for p in /root/.pyenv/versions/3.12.*/bin/python3.12 /root/.pyenv/versions/3.13.*/bin/python3.13 \
           "$(command -v python3.12 || true)" "$(command -v python3.13 || true)" "$(command -v python3 || true)"; do
    [ -n "$p" ] && [ -x "$p" ] && candidates+=("$p")
  done
  for p in "${candidates[@]}"; do
    if "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

if PY=$(find_python); then
  export UV_PYTHON_DOWNLOADS=never
  PYARG=(--python "$PY")
else
  echo "bootstrap: no local Python >= 3.12 found; letting uv fetch one" >&2
  PY=$(command -v python3)
  PYARG=(--python 3.12)
fi

if ! "$PY" -m uv --version >/dev/null 2>&1; then
  echo "bootstrap: installing uv with pip" >&2
  "$PY" -m pip install --quiet 'uv>=0.13.9,<0.14' 2>/dev/null || "$PY" -m pip install --quiet --user 'uv>=0.13.9,<0.14' \
    || "$PY" -m pip install --quiet --break-system-packages 'uv>=0.13.9,<0.14'
fi

"$PY" -m uv sync --locked --quiet "${PYARG[@]}" 2> >(grep -v -i "pyenv" >&2)
