"""Training off the GUI thread: a worker QObject in a QThread drives Trainer.run() and emits plain data.

The worker only ever emits dicts, strings and ints (metrics rows, event rows, file paths), and the
CPU copies of the generator's weights that a viewer asked for (`Control.request_weights`), never the
engine's own objects, so nothing on the GUI side touches the training's tensors. Commands go the other way through the engine's
thread-safe Control, called directly from the GUI thread; no queued slot is needed because the
worker's thread is busy inside the training loop anyway.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from latentlab.config import Config, UserError
from latentlab.gui.background import freeze_long_lived_objects

TRAINING_NICE = 5  # the training thread's niceness relative to the GUI thread (Linux)


def lower_this_thread_priority(nice: int | None = None) -> bool:
    """Make the calling thread (and the torch/OpenMP threads it starts later, which inherit it)
    yield the CPU to the GUI thread. On two cores the GUI otherwise waits its turn behind the
    training threads for every repaint. Linux only (per-thread nice); a no-op elsewhere."""
    nice = TRAINING_NICE if nice is None else nice
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
        return True
    except (OSError, AttributeError):
        return False


class _Cancelled(Exception):
    """Raised inside the data-progress callback to abandon decoding when the user stops."""


class TrainWorker(QObject):
    data_progressed = Signal(int, int)  # images decoded so far, total
    run_started = Signal(object)  # {"total_steps", "step", "device", "out_dir"} once the data and nets are ready
    step_finished = Signal(object)  # a metrics.jsonl row
    sample_written = Signal(str)  # path of a fixed-noise grid PNG
    checkpoint_written = Signal(str)
    event_emitted = Signal(object)  # every event row (alerts, settings, info, checkpoints, ...)
    weights_offered = Signal(object)  # {"step", "model", "data", "states"}: the engine's answer to request_weights
    failed = Signal(str)  # one line for a UserError, the traceback's last line plus a hint otherwise
    finished = Signal()

    def __init__(self, cfg: Config, out_dir: str | Path, control, resume: bool = False):
        super().__init__()
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.control = control
        self.resume = resume
        self.details = ""  # the full traceback of an unexpected failure, for the alerts tooltip

    def _on_data_progress(self, done: int, total: int) -> None:
        if self.control.stopped:
            raise _Cancelled()
        self.data_progressed.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        lower_this_thread_priority()
        try:
            # The engine (and torch with it) is imported here, on the worker thread, so the window
            # never waits for it.
            from latentlab.run.control import WEIGHTS, StepStats
            from latentlab.train.engine import Trainer

            trainer = Trainer(self.cfg, self.out_dir, resume=self.resume, control=self.control,
                              data_progress=self._on_data_progress)
            announced = False
            for item in trainer.run():
                if not announced and trainer.nets:
                    announced = True
                    freeze_long_lived_objects()  # the data set, the nets and torch's state live as long as the run
                    self.run_started.emit({"total_steps": int(trainer.total_steps), "step": int(trainer.step),
                                           "device": str(trainer.device), "out_dir": str(self.out_dir)})
                if isinstance(item, StepStats):
                    self.step_finished.emit(item.to_row())
                    continue
                if item.kind == WEIGHTS:  # an answer for a viewer, not a row of the run's history
                    self.weights_offered.emit(item.data)
                    continue
                row = item.to_row()
                self.event_emitted.emit(row)
                if item.kind == "sample" and item.path:
                    self.sample_written.emit(item.path)
                elif item.kind == "checkpoint" and item.path:
                    self.checkpoint_written.emit(item.path)
        except _Cancelled:
            pass
        except UserError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            # A full disk or a folder that turned read-only mid-run: the OS message names the file.
            self.failed.emit(f"{exc.filename or self.out_dir}: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - any failure must reach the window, not kill the thread
            self.details = traceback.format_exc()
            self.failed.emit(f"training failed: {type(exc).__name__}: {exc}")
        finally:
            self.finished.emit()


class TrainingSession(QObject):
    """Owns one run's Control, worker and thread; the panel keeps one at a time."""

    def __init__(self, cfg: Config, out_dir: str | Path, *, resume: bool = False, paused: bool = False,
                 parent=None):
        super().__init__(parent)
        from latentlab.run.control import Control  # plain threading; no torch import

        self.control = Control()
        if paused:
            self.control.pause()
        self.worker = TrainWorker(cfg, out_dir, self.control, resume=resume)
        self.qthread = QThread()
        self.qthread.setObjectName("latentlab-training")
        self.worker.moveToThread(self.qthread)
        self.qthread.started.connect(self.worker.run)
        # Direct: quit() is thread-safe, and a queued call would wait for the GUI thread, which may be
        # blocked in stop(wait_ms) waiting for this very thread (closing the window).
        self.worker.finished.connect(self.qthread.quit, Qt.DirectConnection)

    def start(self) -> None:
        self.qthread.start()

    def is_running(self) -> bool:
        return self.qthread.isRunning()

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the engine to stop (it writes a checkpoint); optionally wait for the thread to end."""
        self.control.stop()
        if wait_ms <= 0:
            return not self.qthread.isRunning()
        return self.qthread.wait(wait_ms)
