"""Taking a run directory for writing: never another process's run, never a user's folder, never an
existing run unless asked to continue it (resume) or to put it aside (force_new).

`claim_run` decides before any slow work (data decoding) and holds RUN/.lock from then on. The old run
of a fresh start is moved aside only once the new run is about to be written (`RunClaim.begin`), so a
mistake found in between (bad data, a wrong preset) leaves it where it was.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from latentlab.config import UserError
from latentlab.run import layout
from latentlab.run.layout import RunLayout
from latentlab.run.lock import RunLock

# Temporary files of writes a kill interrupted: `.NAME.<random>.tmp` (latentlab.atomic), and the
# sample-grid temporaries of earlier versions (`.step-00001200.<random>.png`).
STALE_TEMP = re.compile(r"^\..+\.tmp$|^\.(step|recon)-\d{8}\.[A-Za-z0-9_]+\.png$|^\.write-test$")


def is_run(root: Path) -> bool:
    run = RunLayout(root)
    return root.is_dir() and (any((root / name).is_file() for name in layout.MARKERS)
                              or any(run.checkpoints.glob("*.safetensors")))


def _foreign_entries(root: Path) -> list[str]:
    """What a run directory would not hold; a folder with any of it and no run in it is a user's folder."""
    return sorted(name for name in os.listdir(root) if name not in layout.ENTRIES and not STALE_TEMP.match(name))


def aside_name(root: Path) -> Path:
    """A sibling that does not exist yet: RUN.old-YYYYmmdd-HHMMSS (then -2, -3, ...)."""
    base = f"{root.name}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = root.with_name(base), 2
    while candidate.exists():
        candidate, n = root.with_name(f"{base}-{n}"), n + 1
    return candidate


def sweep_temporaries(root: Path) -> int:
    """Remove what interrupted writes left in the run's folders; only the lock holder may call this."""
    removed = 0
    run = RunLayout(root)
    for folder in (root, run.checkpoints, run.samples):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if STALE_TEMP.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


class RunClaim:
    """The right to write `root`, held through its lock. `begin()` before the first write;
    `abandon()` when set-up fails before it (removes what the claim itself created)."""

    def __init__(self, root: Path, lock: RunLock, *, created: Path | None, replace: bool, sweep: bool):
        self.root = root
        self.lock = lock
        self.created = created  # the topmost folder the claim made (root or a parent): removed on abandon
        self.replace = replace  # a fresh start over an existing run: move it aside in begin()
        self.sweep = sweep  # continuing a run: remove what its interrupted writes left
        self.moved_to: Path | None = None
        self.swept = 0

    def begin(self) -> None:
        if self.replace and self.moved_to is None:
            target = aside_name(self.root)
            os.rename(self.root, target)  # our lock's file goes along: nobody can take the old run meanwhile
            try:
                self.root.mkdir()
                new_lock = RunLock(self.root).acquire()
            except BaseException:
                _remove_if_unused(self.root)
                if not self.root.exists():
                    os.rename(target, self.root)
                raise
            self.lock.release()
            self.lock, self.moved_to = new_lock, target
        if self.sweep:
            self.swept = sweep_temporaries(self.root)

    def abandon(self) -> None:
        self.lock.release()
        if self.created is not None and self.moved_to is None:
            _remove_if_unused(self.root, self.created)

    def release(self) -> None:
        self.lock.release()


def _remove_if_unused(root: Path, top: Path | None = None) -> None:
    """Remove a folder the claim made, if nothing but the lock and empty sub-folders is in it, and its
    parents up to `top` (the first that did not exist) while they are empty."""
    try:
        names = set(os.listdir(root))
    except OSError:
        return
    if not names <= {layout.LOCK, layout.SAMPLES, layout.CHECKPOINTS}:
        return
    for name in names - {layout.LOCK}:
        if any((root / name).iterdir()):
            return
    shutil.rmtree(root, ignore_errors=True)
    folder = root
    while top is not None and folder != top and top in folder.parents:
        folder = folder.parent
        try:
            folder.rmdir()
        except OSError:
            return


def claim_run(root: str | os.PathLike, *, resume: bool = False, force_new: bool = False) -> RunClaim:
    """Check that `root` may be written as asked and lock it. UserError (one line) otherwise."""
    root = Path(root)
    if resume and force_new:
        raise UserError("--resume continues a run, --force-new starts over: give one of them")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: exists and is not a folder; name a folder for the run")
    existing = is_run(root)
    if root.is_dir() and not existing:
        foreign = _foreign_entries(root)
        if foreign:
            shown = ", ".join(repr(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            count = f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'}"
            raise UserError(f"{root}: not a latentlab run and not empty ({count}: {shown}); "
                            "name a new or empty folder for the run")
    if resume and not existing:
        raise UserError(f"--resume: {root}: not a latentlab run directory (no config.toml or checkpoint)")
    if existing and not resume and not force_new:
        raise UserError(f"{root}: already holds a latentlab run; continue it with --resume, or start over with "
                        f"--force-new (which moves it to {root.name}.old-<time>, deleting nothing)")
    created = None
    if not root.exists():
        created = root
        while not created.parent.exists() and created.parent != created:
            created = created.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{root}: cannot write the run directory ({exc.strerror or exc})") from None
    lock = RunLock(root)
    try:
        lock.acquire()
    except BaseException:
        if created is not None:
            _remove_if_unused(root, created)
        raise
    return RunClaim(root, lock, created=created, replace=existing and force_new, sweep=existing and resume)
