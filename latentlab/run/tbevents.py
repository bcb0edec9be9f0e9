"""TensorBoard event files for a run directory (RUN/tb/), an optional extra (`latentlab[tensorboard]`).

`TensorBoardSink` takes the same records the run directory gets (metrics.jsonl rows and events.jsonl
rows) and writes them through torch.utils.tensorboard's SummaryWriter: every number of a metrics row
as a scalar under metrics/, quality measurements under quality/, each sample grid (and VAE/GAN
reconstruction grid) as an image, alerts, rollbacks and live setting changes as text. The engine
feeds it live on rank 0; `backfill` rebuilds RUN/tb from the logs of an existing run. Without the
tensorboard package `open_sink` returns None and nothing else changes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from latentlab.run.layout import RunLayout

TEXT_KINDS = {"alert": "alerts", "rollback": "alerts", "error": "alerts", "setting": "settings"}
IMAGE_KINDS = {"sample": "samples", "recon": "reconstructions"}
NOT_SCALARS = ("step",)
LIVE_SECONDS = 120  # a run whose log grew this recently and has no "done" event is taken as training


def available() -> bool:
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


def _wait_for_a_later_name(log_dir: Path) -> None:
    """TensorBoard reads a folder's event files in name order, and a file is named by the second it
    was opened (zero-padded) and then a per-process counter (not padded: `.10` sorts before `.9`). A
    second session opened in the same second as an earlier file could sort before it, and the
    reader would then drop the earlier session's steps; waiting for the next second keeps the order."""
    now = int(time.time())
    if any(f"tfevents.{now:010d}." in p.name for p in log_dir.glob("events.out.tfevents.*")):
        time.sleep(now + 1.0 - time.time() + 0.01)


class TensorBoardSink:
    def __init__(self, log_dir: str | os.PathLike, purge_step: int | None = None, flush_secs: int = 5):
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        _wait_for_a_later_name(self.log_dir)
        # purge_step: on a resume, TensorBoard drops what an interrupted session logged after the
        # checkpoint, as the resume drops those lines of metrics.jsonl.
        self._writer = SummaryWriter(str(self.log_dir), purge_step=purge_step, flush_secs=flush_secs)
        self.counts = {"scalars": 0, "images": 0, "texts": 0, "quality": 0}

    def metric(self, row: dict, walltime: float | None = None) -> None:
        step = int(row["step"])
        for key, value in row.items():
            if key not in NOT_SCALARS and isinstance(value, (int, float)) and value is not None:
                self._writer.add_scalar(f"metrics/{key}", float(value), step, walltime=walltime)
        self.counts["scalars"] += 1

    def event(self, row: dict, walltime: float | None = None) -> None:
        kind, step = row.get("kind"), int(row.get("step", 0))
        if kind in TEXT_KINDS:
            self._writer.add_text(TEXT_KINDS[kind], str(row.get("message", "")), step, walltime=walltime)
            self.counts["texts"] += 1
        elif kind == "quality":
            for key, value in (row.get("data") or {}).items():
                if key != "n" and isinstance(value, (int, float)):
                    self._writer.add_scalar(f"quality/{key}", float(value), step, walltime=walltime)
            self.counts["quality"] += 1
        elif kind in IMAGE_KINDS and row.get("path"):
            self.image(IMAGE_KINDS[kind], Path(row["path"]), step, walltime)

    def image(self, tag: str, path: Path, step: int, walltime: float | None = None) -> None:
        import numpy as np
        from PIL import Image

        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"))
        except OSError:
            return  # removed or unreadable: the run's own grid is what matters, not its copy here
        self._writer.add_image(tag, arr, step, walltime=walltime, dataformats="HWC")
        self.counts["images"] += 1

    def close(self) -> None:
        self._writer.close()


def open_sink(run_dir: str | os.PathLike, purge_step: int | None = None) -> TensorBoardSink | None:
    """A sink writing into RUN/tb, or None when the tensorboard package is not installed."""
    if not available():
        return None
    return TensorBoardSink(RunLayout(run_dir).tb, purge_step=purge_step)


def _rows(path: Path):
    try:
        with open(path, "rb") as f:
            for line in f:
                try:
                    yield json.loads(line)
                except (ValueError, UnicodeDecodeError):
                    continue  # a half-written last line
    except FileNotFoundError:
        return


def backfill(run: str | os.PathLike) -> dict:
    """Rebuild RUN/tb from metrics.jsonl, events.jsonl and samples/: written into a temporary folder,
    then swapped in, so running it twice gives the same files and never duplicates a point."""
    from latentlab.atomic import make_temp_dir, named
    from latentlab.config import UserError
    from latentlab.run.rundir import NOT_A_RUN

    run = Path(run)
    where = RunLayout(run)
    if not where.is_run():
        raise UserError(f"{run}: {NOT_A_RUN}")
    if not available():
        raise UserError("TensorBoard files need the tensorboard package: pip install 'latentlab[tensorboard]'")
    if not os.access(run, os.W_OK | os.X_OK):
        raise UserError(f"{run}: not writable")
    events = list(_rows(where.events))
    metrics_file = where.metrics
    age = time.time() - metrics_file.stat().st_mtime if metrics_file.exists() else float("inf")
    if events and events[-1].get("kind") != "done" and age < LIVE_SECONDS:
        raise UserError(f"{run}: still training (metrics.jsonl written {age:.0f} s ago); its trainer writes tb/ "
                        "itself; back-fill a run once it has stopped")
    # Wall times: the run's own clock (metrics' `time`) placed so the last row is when the log was
    # last written, so TensorBoard's relative-time axis shows training time.
    last_time = 0.0
    for row in _rows(metrics_file):
        last_time = float(row.get("time", last_time))
    start = (metrics_file.stat().st_mtime if metrics_file.exists() else time.time()) - last_time
    tmp = make_temp_dir(where.tb, ".part")
    try:
        sink = TensorBoardSink(tmp, flush_secs=3600)
        times = {}
        for row in _rows(metrics_file):
            times[int(row["step"])] = start + float(row.get("time", 0.0))
            sink.metric(row, walltime=times[int(row["step"])])
        grid_events = set()
        for row in events:
            step = int(row.get("step", 0))
            if row.get("kind") in IMAGE_KINDS and row.get("path"):
                # events.jsonl names the file where the trainer wrote it; the run may have moved since
                row = {**row, "path": str(where.samples / Path(row["path"]).name)}
                grid_events.add(Path(row["path"]).name)
            sink.event(row, walltime=times.get(step))
        if not grid_events:  # a log that does not list its grids: take them from samples/
            for step, path in where.grids():
                sink.image("samples", path, step, times.get(step))
        sink.close()
        old = where.tb
        if old.exists():
            trash = make_temp_dir(old, ".old")
            os.replace(old, trash / old.name)
            os.replace(tmp, old)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, old)
    except OSError as exc:  # a full disk, say: name the folder asked for, not the hidden one
        shutil.rmtree(tmp, ignore_errors=True)
        raise named(exc, run / "tb") if exc.filename is None or str(tmp) in str(exc.filename) else exc from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sink.counts
