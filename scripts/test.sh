#!/usr/bin/env bash
# Set up (once) and run the whole test suite; extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
export LATENTLAB_CACHE="${LATENTLAB_CACHE:-$(mktemp -d)}"
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
