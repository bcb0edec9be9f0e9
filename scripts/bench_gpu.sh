#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA device (nothing is downloaded):
#   1. the tests that need CUDA (marked `cuda`; they skip elsewhere);
#   2. DCGAN-64 training at batch 128 and 512: images/s, the data path's share of a step, FLOP/s
#      against the GPU's fp32 and bf16 matmul, and the PyTorch DCGAN example's loop (written from
#      scratch in bench_train.py) on the same 2,240 JPEG faces, interleaved in one process.
# Usage: scripts/bench_gpu.sh [PYTHON]   (default: .venv/bin/python, else python3)
# Output goes to stdout and, with $OUT set, to $OUT/bench_gpu.txt.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${1:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
LOG="${OUT:-/tmp}/bench_gpu.txt"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" QT_QPA_PLATFORM=offscreen
{
    date -u
    uptime
    nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || true
    "$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
    echo "== CUDA tests"
    timeout 300 "$PY" -m pytest -q -p no:cacheprovider -m cuda tests 2>&1 | tail -15
    echo "== training throughput (batch 128 and 512) vs the PyTorch DCGAN example"
    timeout 420 "$PY" scripts/bench_train.py --preset dcgan --device cuda --batch 128 --batch 512 --steps 30 \
        --faces 2240 --baseline
    uptime
} 2>&1 | tee "$LOG"
