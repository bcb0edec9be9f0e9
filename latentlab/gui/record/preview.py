"""The Record panel's preview: the walk rendered in the background at the model's resolution and
played on a timer. Long walks keep every k-th frame, so memory and render time stay small; a preview
asked for before the previous one arrived replaces it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton

from latentlab import latent  # its torch-using parts load on first use, after the window shows
from latentlab.gui.background import run_in_background
from latentlab.gui.widgets.image_view import ImageViewWidget

PREVIEW_MAX_FRAMES = 600


class WalkPreview(QObject):
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.total_frames = 0  # of the whole walk (the preview may hold every k-th)
        self.view = ImageViewWidget("Add two or more keyframes to preview the walk", minimum=240)
        self.view.set_smooth(True)  # a 32-64 px face blown up with nearest reads as a mosaic
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play or pause the preview (Space)")
        self.label = QLabel("")
        self.frames: np.ndarray | None = None  # uint8 (F, S, S, 3)
        self.stride = 1
        self.frame = 0
        self.busy = False
        self._generation = 0  # results of older preview jobs are dropped
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._next_frame)

    def clear(self) -> None:
        self._generation += 1
        self.stop()
        self.frames = None
        self.view.set_array(None)
        self.label.setText("")

    def render(self, renderer, keyframes: np.ndarray, frames: int, interp: str, ease: str, loop: bool,
               psi: float, total_frames: int) -> None:
        self._generation += 1
        self.total_frames = total_frames
        generation = self._generation
        self.busy = True
        self.label.setText("rendering preview…")

        def job():
            z = latent.walk_path(keyframes, frames, interp, ease, loop)
            stride = -(-len(z) // PREVIEW_MAX_FRAMES)
            return renderer.render_uint8(latent.truncate(z[::stride], psi)), stride

        def done(result, error):
            if generation != self._generation:
                return  # the walk changed meanwhile; a newer preview is on its way
            self.busy = False
            if error:
                self.failed.emit(error)
                return
            self.frames, self.stride = result
            self.frame = min(self.frame, len(self.frames) - 1)
            self._show_frame()

        run_in_background(job, done)

    def _show_frame(self) -> None:
        if self.frames is None:
            return
        self.view.set_array(self.frames[self.frame], self.frame)
        every = f" (every {self.stride}th)" if self.stride > 1 else ""
        self.label.setText(f"frame {self.frame * self.stride + 1} / {self.total_frames}{every}")

    def _next_frame(self) -> None:
        if self.frames is None:
            return
        self.frame = (self.frame + 1) % len(self.frames)
        self._show_frame()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self, fps: float) -> None:
        self.timer.start(int(1000 / fps))
        self.play_button.setText("Pause")

    def set_fps(self, fps: float) -> None:
        if self.timer.isActive():
            self.timer.start(int(1000 / fps))

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")
