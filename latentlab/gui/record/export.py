"""Export for the Record panel (a walk, a timelapse) on a background thread, with progress, Cancel and messages.

The job runs on a daemon thread (gui.background); progress comes back through the widget's queued
`export_progress` signal, the result or the UserError through the background relay. Cancel sets an
event that write_walk / write_timelapse poll between frames; they then remove the partial file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from latentlab.gui.background import run_in_background

VIDEO_FILTERS = {"MP4 video (*.mp4)": ".mp4", "WebM video (*.webm)": ".webm", "GIF animation (*.gif)": ".gif",
                 "PNG frames (a new folder)": ""}


def ask_video_path(parent, title: str, default: str) -> str | None:
    """A save dialog for a video; the chosen type's extension is added to a name without one."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, default, ";;".join(VIDEO_FILTERS))
    if not path:
        return None
    suffix = VIDEO_FILTERS.get(chosen, "")
    return path + suffix if suffix and Path(path).suffix == "" else path


class BackgroundExportMixin:
    """An export on a background thread (gui.background) with a progress bar, Cancel and a result line.
    The widget provides export_progress (a Signal(int, int) connected to _progress), progress,
    export_label, show_error, _update_enabled, and _export_thread/_cancel/last_export attributes."""

    def start_export(self, path, total: int, job) -> bool:
        """Run job(progress, cancel) (a write_walk or write_timelapse call) on a background thread."""
        if self._export_thread is not None:
            self.show_error("An export is already running; cancel it first")
            return False
        self._cancel.clear()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.export_label.setText(f"Exporting to {path}…")

        def progress(done, total):
            try:
                self.export_progress.emit(done, total)
            except RuntimeError:  # the widget is gone: the window closed during the export
                self._cancel.set()

        self._export_thread = run_in_background(lambda: job(progress, self._cancel.is_set), self._export_done)
        self._update_enabled()
        return True

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def cancel_export(self) -> None:
        if self._export_thread is not None:
            self._cancel.set()
            self.export_label.setText("Cancelling…")

    def _export_done(self, result, error) -> None:
        self._export_thread = None
        self._update_enabled()
        if error:
            self.export_label.setText("Export failed")
            self.show_error(error)
            return
        self.last_export = result
        if result.cancelled:
            self.progress.setValue(0)
            self.export_label.setText(f"Cancelled after {result.frames} frames; nothing was written")
            return
        grids = f" ({result.grids} grids)" if getattr(result, "grids", 0) else ""
        self.export_label.setText(f"Wrote {result.path}: {result.frames} frames{grids}, {result.width}×"
                                  f"{result.height}, {result.fps:g} fps in {result.seconds:.1f} s")

    @property
    def exporting(self) -> bool:
        return self._export_thread is not None

    def join_export(self, timeout_s: float) -> bool:
        """Cancel a running export (the writer removes its partial file) and wait for it; True when done."""
        thread = self._export_thread
        if thread is None:
            return True
        self._cancel.set()
        thread.join(timeout_s)
        return not thread.is_alive()


class RecordExportMixin(BackgroundExportMixin):
    # -- export ----------------------------------------------------------------------------------------------
    def choose_export(self) -> None:
        if hasattr(self.window(), "tabs"):
            self.window().tabs.setCurrentWidget(self)
        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return
        path = ask_video_path(self, "Export the walk", "walk.mp4")
        if path:
            self.export_to(path)

    def export_options(self) -> dict:
        rows, cols = self.rows.value(), self.cols.value()
        kf = self.keys.keyframes()
        if rows * cols > 1:  # the other cells walk seeded random faces through as many keyframes
            from latentlab.latent import grid_keyframes

            others = grid_keyframes(1, rows * cols, len(kf), kf.shape[1], self.seed_start.value())
            kf = np.concatenate([kf[None], others[1:]])
        return {"keyframes": kf, "frames": self.frames.value(), "fps": self.fps.value(),
                "interp": self.interp.currentText(), "ease": self.ease.currentText(), "loop": self.loop.isChecked(),
                "size": self.size.value() or None, "upscale": self.upscale.currentText(), "grid": (rows, cols),
                "truncation": self.truncation.value()}

    def export_to(self, path: str | Path) -> bool:
        """Write the walk to `path` on a background thread; False (and a message) if it cannot start."""
        from latentlab.video import write_walk

        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return False
        options, renderer = self.export_options(), self.renderer
        return self.start_export(path, self.walk_frames(), lambda progress, cancel: write_walk(
            renderer, path, progress=progress, cancel=cancel, **options))
