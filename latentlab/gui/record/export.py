"""Export for the Record panel: write_walk on a background thread, with progress, Cancel and messages.

The job runs on a daemon thread (gui.background); progress comes back through the panel's queued
`export_progress` signal, the result or the UserError through the background relay. Cancel sets an
event that write_walk polls before each batch; it then removes the partial file itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from latentlab.gui.background import run_in_background

VIDEO_FILTERS = {"MP4 video (*.mp4)": ".mp4", "WebM video (*.webm)": ".webm", "GIF animation (*.gif)": ".gif",
                 "PNG frames (a new folder)": ""}


class RecordExportMixin:
    # -- export ----------------------------------------------------------------------------------------------
    def choose_export(self) -> None:
        if hasattr(self.window(), "tabs"):
            self.window().tabs.setCurrentWidget(self)
        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return
        path, chosen = QFileDialog.getSaveFileName(self, "Export the walk", "walk.mp4", ";;".join(VIDEO_FILTERS))
        if not path:
            return
        suffix = VIDEO_FILTERS.get(chosen, "")
        if suffix and Path(path).suffix == "":
            path += suffix
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

        if self._export_thread is not None:
            self.show_error("An export is already running; cancel it first")
            return False
        if self.renderer is None or self.keys.count() == 0:
            self.show_error("Add keyframes first (and open a model in the Explore panel)")
            return False
        options, renderer = self.export_options(), self.renderer
        self._cancel.clear()
        self.progress.setRange(0, max(1, self.walk_frames()))
        self.progress.setValue(0)
        self.export_label.setText(f"Exporting to {path}…")

        def progress(done, total):
            try:
                self.export_progress.emit(done, total)
            except RuntimeError:  # the panel is gone: the window closed during the export
                self._cancel.set()

        def job():
            return write_walk(renderer, path, progress=progress, cancel=self._cancel.is_set, **options)

        self._export_thread = run_in_background(job, self._export_done)
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
        self.export_label.setText(f"Wrote {result.path}: {result.frames} frames, {result.width}×{result.height}, "
                                  f"{result.fps:g} fps in {result.seconds:.1f} s")

    @property
    def exporting(self) -> bool:
        return self._export_thread is not None
