#!/usr/bin/env bash
# Set up (once) and launch latentlab; arguments pass through (e.g. `scripts/run.sh train --preset tiny`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
exec "$ROOT/.venv/bin/latentlab" "$@"
