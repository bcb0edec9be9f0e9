#!/usr/bin/env bash
# Set up (once) and run the whole test suite; extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
# tests/conftest.py gives the suite a throwaway data cache of its own and removes it afterwards.
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
