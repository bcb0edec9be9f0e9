"""Whole-file writes that no reader and no kill ever sees half done: the one way latentlab writes a file.

The data go to a temporary file beside the destination (same folder, so the rename cannot cross file
systems), are fsynced, then renamed over the destination, and the folder is fsynced. The temporary
file is created with mode 0o666 and the process umask applied by the kernel, as `open()` would: a
shared-disk run stays readable by the accounts the user's umask allows (mkstemp's 0600 would not).
Temporary names are `.NAME.<random>.tmp` (or another suffix a writer needs), hidden, so a follower
listing a folder never picks one up and a run can sweep the ones a killed process left.

Standard library only, at the bottom of the layers beside config.py: every layer may use it (the data
cache, bookmarks and exports write through it as well as the run directory).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

TMP_SUFFIX = ".tmp"


def named(exc: OSError, path: Path) -> OSError:
    """The same error, naming the file the user asked for rather than its temporary stand-in."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the rename itself already happened
        pass
    finally:
        os.close(fd)


def temp_name(path: Path, suffix: str = TMP_SUFFIX) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")


def make_temp_dir(path: Path, suffix: str = TMP_SUFFIX) -> Path:
    """A new hidden folder beside `path` with mode 0o777 and the umask applied (mkdtemp's is 0700)."""
    for _ in range(64):
        tmp = temp_name(path, suffix)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path}: no free temporary name")  # pragma: no cover


class AtomicFile:
    """A temporary file beside `path`, renamed over it by `commit()` or removed by `discard()`.

    As a context manager it commits on a clean exit and discards on an exception:
        with AtomicFile(dest) as f:
            write_to(f.tmp)
    """

    def __init__(self, path: str | os.PathLike, suffix: str = TMP_SUFFIX):
        self.path = Path(path)
        for _ in range(64):
            tmp = temp_name(self.path, suffix)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            except FileExistsError:
                continue
            except OSError as exc:
                raise named(exc, self.path) from None
            os.close(fd)
            self.tmp = tmp
            break
        else:  # pragma: no cover - 64 collisions of 32 random bits
            raise FileExistsError(f"{self.path}: no free temporary name")
        self.done = False

    def commit(self, fsync: bool = True) -> Path:
        try:
            if fsync:
                fd = os.open(self.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise named(exc, self.path) from None
        except BaseException:
            self.discard()
            raise
        self.done = True
        if fsync:
            _fsync_dir(self.path.parent)
        return self.path

    def discard(self) -> None:
        self.done = True
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.done:
            return
        if exc_type is None:
            self.commit()
        else:
            self.discard()
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                raise named(exc, self.path) from None


def write_with(path: str | os.PathLike, write: Callable[[Path], object], suffix: str = TMP_SUFFIX) -> Path:
    """`write(tmp_path)` fills the temporary file (by name: safetensors, PIL, numpy); then it is
    renamed over `path`. Any exception leaves `path` as it was and no temporary file behind."""
    with AtomicFile(path, suffix) as f:
        write(f.tmp)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return write_with(path, write)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))
