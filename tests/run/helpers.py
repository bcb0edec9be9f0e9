"""Shared by the run-directory tests: snapshots of a folder and hand-damaged checkpoints."""

import json
import os
import stat
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root (hidden ones too) with its bytes and mode."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return out


def rewrite_checkpoint(src: Path, dst: Path, meta=None, drop_meta=(), tensors=None, drop_tensors=()) -> Path:
    """A copy of checkpoint `src` with metadata strings replaced or dropped and tensors replaced or
    dropped (written directly: this is the damage a test needs, not what latentlab writes)."""
    with safe_open(str(src), "pt") as f:
        header = dict(f.metadata())
        data = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    for key in drop_meta:
        header.pop(key)
    header.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (meta or {}).items()})
    for key in drop_tensors:
        data.pop(key)
    data.update(tensors or {})
    tmp = Path(dst).with_name(Path(dst).name + ".writing")
    save_file(data, str(tmp), metadata=header)
    os.replace(tmp, dst)
    return Path(dst)


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end
