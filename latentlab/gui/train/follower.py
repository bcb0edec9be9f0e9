"""Attach mode: follow a run directory written by another process (CLI, torchrun, a shared disk).

A RunReader is polled on its own thread, so parsing a long metrics.jsonl never stalls the window;
rows are converted to numpy columns there and arrive in bounded chunks. The panel feeds them to the
same MetricSeries and grid code as rows from its own training worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from latentlab.config import UserError
from latentlab.gui.state.series import rows_to_columns

POLL_MS = 250
CHUNK_ROWS = 20_000


class RunFollowWorker(QObject):
    columns_read = Signal(object)  # a chunk of metrics as numpy columns (see series.rows_to_columns)
    events_read = Signal(object)  # event rows
    samples_found = Signal(object)  # sample grid paths (str), sorted by step
    failed = Signal(str)
    polled = Signal(int)  # after each read: how many new metrics rows it found (the first: the history)

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.reader = None
        self.timer = None

    @Slot()
    def begin(self) -> None:
        from latentlab.run.rundir import RunReader  # stdlib + config only, no torch

        try:
            self.reader = RunReader(self.path)
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.poll()
        self.timer.start()

    @Slot()
    def poll(self) -> None:
        try:
            rows, events, samples = self.reader.poll()
        except OSError as exc:  # the shared disk went away: say so, keep trying
            self.failed.emit(f"{self.path}: cannot read the run ({exc.strerror or exc})")
            return
        for start in range(0, len(rows), CHUNK_ROWS):
            cols = rows_to_columns(rows[start: start + CHUNK_ROWS])
            if len(cols["step"]):
                self.columns_read.emit(cols)
        if events:
            self.events_read.emit(events)
        if samples:
            self.samples_found.emit([str(p) for p in samples])
        self.polled.emit(len(rows))

    @Slot()
    def end(self) -> None:
        if self.timer is not None:
            self.timer.stop()


class RunFollower(QObject):
    """One attached run: its worker thread and a clean way to let go of it."""

    def __init__(self, path: str | Path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.worker = RunFollowWorker(self.path)
        self.qthread = QThread()
        self.qthread.setObjectName("latentlab-follow")
        self.worker.moveToThread(self.qthread)
        self.qthread.started.connect(self.worker.begin)

    def start(self) -> None:
        self.qthread.start()

    def stop(self, wait_ms: int = 2000) -> None:
        if self.qthread.isRunning():
            # A timer may only be stopped on its own thread: run end() there and wait for it.
            QMetaObject.invokeMethod(self.worker, "end", Qt.BlockingQueuedConnection)
            self.qthread.quit()
            self.qthread.wait(wait_ms)
