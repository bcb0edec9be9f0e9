"""Exporting the Record panel's walk or timelapse on a background thread, with progress, Cancel and messages.

The job runs on a daemon thread (gui.background); progress comes back through the queued
`progressed` signal, the result or the UserError through the background relay. Cancel sets an event
that write_walk polls before each batch; it then removes the partial file itself.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar

from latentlab.gui.background import run_in_background

VIDEO_FILTERS = {"MP4 video (*.mp4)": ".mp4", "WebM video (*.webm)": ".webm", "GIF animation (*.gif)": ".gif",
                 "PNG frames (a new folder)": ""}


def ask_video_path(parent, title: str, default: str) -> str | None:
    """A save dialog for a video, in the folder of the last export; the chosen type's extension is
    added to a name without one."""
    from PySide6.QtWidgets import QFileDialog

    from latentlab.gui.settings import in_last_folder, remember_folder

    path, chosen = QFileDialog.getSaveFileName(parent, title, in_last_folder("export", default),
                                               ";;".join(VIDEO_FILTERS))
    if not path:
        return None
    remember_folder("export", path)
    suffix = VIDEO_FILTERS.get(chosen, "")
    return path + suffix if suffix and Path(path).suffix == "" else path


class WalkExport(QObject):
    progressed = Signal(int, int)  # frames done, total (emitted on the export thread, queued here)
    running_changed = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.last = None  # WalkResult of the last finished export
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.progressed.connect(self._progress)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, renderer, path: str | Path, options: dict, total_frames: int) -> bool:
        """Write the walk to `path` on a background thread; False (and a message) if one is running."""
        from latentlab.media.video import write_walk

        return self.run(path, total_frames, lambda progress, cancel: write_walk(
            renderer, path, progress=progress, cancel=cancel, **options))

    def run(self, path: str | Path, total_frames: int, job) -> bool:
        """job(progress, cancel) (write_walk, write_timelapse) on a background thread; False if one is running."""
        if self._thread is not None:
            self.failed.emit("An export is already running; cancel it first")
            return False
        self._cancel.clear()
        self.progress.setRange(0, max(1, total_frames))
        self.progress.setValue(0)
        self.label.setText(f"Exporting to {path}…")

        def progress(done, total):
            try:
                self.progressed.emit(done, total)
            except RuntimeError:  # the panel is gone: the window closed during the export
                self._cancel.set()

        self._thread = run_in_background(lambda: job(progress, self._cancel.is_set), self._done)
        self.running_changed.emit(True)
        return True

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def cancel(self) -> None:
        if self._thread is not None:
            self._cancel.set()
            self.label.setText("Cancelling…")

    def _done(self, result, error) -> None:
        self._thread = None
        self.running_changed.emit(False)
        if error:
            self.label.setText("Export failed")
            self.failed.emit(error)
            return
        self.last = result
        if result.cancelled:
            self.progress.setValue(0)
            self.label.setText(f"Cancelled after {result.frames} frames; nothing was written")
            return
        grids = f" ({result.grids} grids)" if getattr(result, "grids", 0) else ""
        self.label.setText(f"Wrote {result.path}: {result.frames} frames{grids}, {result.width}×{result.height}, "
                           f"{result.fps:g} fps in {result.seconds:.1f} s")

    def shutdown(self, timeout_s: float) -> bool:
        thread = self._thread
        if thread is None:
            return True
        self._cancel.set()  # write_walk removes the partial file at its next batch
        thread.join(timeout_s)
        return not thread.is_alive()
