"""Files written whole or not at all, with the mode the user's umask gives.

Standard library only, so every layer can use it. A file is written under a temporary name in its
own folder and renamed over the target: a reader (the app following a run, a video player) never
sees half of one, and a failure leaves the previous file or none.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask() -> int:
    """The process's umask, read without changing it where the OS allows (os.umask(0) would race other
    threads creating files)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_mode(path: str | os.PathLike, folder: bool = False) -> None:
    """mkstemp/mkdtemp make owner-only entries; a finished output gets the usual permissions, so
    another account on a shared disk can read it."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def write_atomically(path: str | os.PathLike, write: Callable[[str], None], suffix: str = "") -> Path:
    """Call `write(tmp)` to fill a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
