#!/usr/bin/env bash
# Creates .venv beside the project (once) and installs latentlab into it with its dev tools.
# Sourced by run.sh and test.sh; safe to run again (a stamp file skips work already done).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

# Qt's offscreen and xcb platforms need a few shared libraries that a bare Debian image lacks.
need_debs=()
for lib in libEGL.so.1 libGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 libxcb-cursor.so.0; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || need_debs+=("$lib")
done
if [ "${#need_debs[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "latentlab setup: installing system libraries for Qt (${need_debs[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
    libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 >/dev/null 2>&1 || echo "latentlab setup: apt-get failed; Qt may not start" >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "latentlab setup: creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.latentlab-installed"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup_env.sh" | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "latentlab setup: installing dependencies into $VENV (the first time takes a few minutes)" >&2
  # torch is pinned; torchvision (needed only by the metrics extra's torch-fidelity) must be the
  # release built for that torch, so the pair is installed together.
  "$VENV/bin/python" -m pip install -q "torch==2.14.1" "torchvision==0.29.1" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -m pip install -q -e "$ROOT[dev,metrics,export,tensorboard]" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import torch, PySide6, pyqtgraph, av, safetensors, onnx, onnxruntime, tensorboard, latentlab" \
    || { echo "latentlab setup: install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
