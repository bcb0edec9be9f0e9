#!/usr/bin/env bash
# The GPU check: everything that needs a CUDA device, as one prepared run of at most 8 minutes on one
# H100 (devtools/gpu/check.py has the steps). Writes OUT/report.md, OUT/logs/, and the 64 px demo model
# OUT/vaegan64.safetensors (+ attributes) with its verdict against the ship rule; it replaces nothing.
#
#   scripts/gpu_check.sh [--quick] [--device cuda|cpu] [--out DIR]
#
# --device: cuda (default) or cpu. --quick: tiny sizes, every step rehearsed in a minute or two (the
# test suite runs `--quick --device cpu`, so a typo here never costs GPU time). --out: default $OUT
# when set (the device machine's return folder), else gpu-check-DATE. PYTHON: the interpreter
# (default .venv/bin/python, else python3). Exit status: 0 when every step passed, 1 when one failed,
# 2 for a bad argument.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=() DEVICE=cuda DEST="${OUT:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=(--quick) ;;
        --device) DEVICE="${2:-}"; shift ;;
        --device=*) DEVICE="${1#*=}" ;;
        --out) DEST="${2:-}"; shift ;;
        --out=*) DEST="${1#*=}" ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$DEVICE" in cuda|cpu) ;; *) echo "gpu_check.sh: --device must be cuda or cpu (got '$DEVICE')" >&2; exit 2 ;; esac
DEST="${DEST:-gpu-check-$(date -u +%Y%m%d-%H%M%S)}"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" QT_QPA_PLATFORM=offscreen
# The driver keeps to its own budget; this is the backstop (8 minutes, then a report from what ran).
cd "$ROOT" || exit 2
exec timeout -k 10 480 "$PY" -m devtools.gpu.check "${QUICK[@]}" --device "$DEVICE" --out "$DEST"
