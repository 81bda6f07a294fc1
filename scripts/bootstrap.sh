#!/usr/bin/env bash
# Create ./.venv with python3.11 and install metrickit with every extra.
# torch is pinned by constraints.txt to the CPU build; we fail fast if another build arrives.
# Usage: bash scripts/bootstrap.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
extras="all"
[ "${1:-}" = "--dev" ] && extras="all,dev"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip_install() {
    # pip's notes about absent local index folders are noise here; real failures still print and stop.
    local log; log=$(mktemp)
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt "$@" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2; rm -f "$log"; exit 1
    fi
    grep -v "is ignored: it is neither a file nor a directory" "$log" || true; rm -f "$log"
}
pip_install torch numpy
.venv/bin/python - <<'PYCHECK'
import sys, torch
if "+cpu" not in torch.__version__:
    sys.exit(f"bootstrap: expected the CPU build of torch, got torch {torch.__version__}; "
             "check constraints.txt and the local wheel directory.")
PYCHECK
pip_install -e ".[$extras]"
.venv/bin/python -c "import metrickit" || { echo "bootstrap: metrickit failed to install" >&2; exit 1; }
