"""RUN/.lock: one writer per run directory.

The writer holds an exclusive `flock` on RUN/.lock for as long as it writes; the kernel drops it when
the process ends, however it ends, so a killed run never keeps its lock. The file also says who holds
it (pid, host, start time), for the message another process gets. Where the file system cannot lock
(some network mounts), the pid and host decide: a lock of this host whose process is gone is taken over.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path

from latentlab.config import UserError
from latentlab.run.layout import RunLayout

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid/host fallback alone
    fcntl = None


class RunLocked(UserError):
    """Another live process writes this run."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's live process
        return True
    return True


def read_owner(path: Path) -> dict:
    try:
        owner = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def describe(owner: dict) -> str:
    if not owner.get("pid"):
        return "another process"
    since = owner.get("started")
    when = f", since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if isinstance(since, (int, float)) \
        else ""
    return f"another latentlab process (pid {owner['pid']} on {owner.get('host', '?')}{when})"


class RunLock:
    """Held from `acquire()` to `release()` (or the end of the process)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.path = RunLayout(self.root).lock
        self._fd: int | None = None
        self._unverifiable = False  # no flock here and the holder is on another machine

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            if not self._lock(fd):
                hint = (f"; if it is no longer running, delete {self.path}" if self._unverifiable
                        else " (a run has one writer at a time)")
                raise RunLocked(f"{self.root}: {describe(read_owner(self.path))} is writing this run; wait for it to "
                                f"finish or stop it{hint}")
            me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def _lock(self, fd: int) -> bool:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    raise
        # No locking on this file system: trust the pid and host written in the file.
        owner = read_owner(self.path)
        pid, host = owner.get("pid"), owner.get("host")
        if not isinstance(pid, int) or pid == os.getpid():
            return True
        if host == socket.gethostname():
            return not _alive(pid)
        self._unverifiable = True  # another machine's process: it cannot be checked from here
        return False

    def writer(self) -> str | None:
        """Who else writes the run right now (describe()'s words), or None: tested without taking the
        lock beyond the test itself and without writing anything (no lock file: None)."""
        try:
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        try:
            free = self._lock(fd)
        finally:
            os.close(fd)  # closing drops a lock the test took
        return None if free else describe(read_owner(self.path))

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # The file stays: unlinking it would let a third process lock a new file while a second
        # one waits on the old inode.
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
