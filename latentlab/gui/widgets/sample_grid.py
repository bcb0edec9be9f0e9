"""The fixed-noise sample grid of a run, live, with a slider back through every earlier grid."""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from latentlab.gui.theme import BASE, MUTED

_STEP = re.compile(r"(\d+)\.png$")


def step_of(path: str | Path) -> int:
    match = _STEP.search(str(path))
    return int(match.group(1)) if match else -1


class PixelImageLabel(QLabel):
    """Shows an image as large as fits, scaled by a whole factor when enlarging so pixels stay square."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setStyleSheet(f"background: {BASE}; border-radius: 4px; color: {MUTED};")
        self.setWordWrap(True)  # a placeholder line fits a narrow column

    def hasHeightForWidth(self) -> bool:
        return False  # wrapped text must not make the layout trade the image's width for height

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        if image.isNull():
            self.setPixmap(QPixmap())  # also clears any text; the caller sets a new one if it wants
        self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def _rescale(self) -> None:
        if self._image.isNull():
            return
        avail_w, avail_h = max(1, self.width() - 8), max(1, self.height() - 8)
        scale = min(avail_w / self._image.width(), avail_h / self._image.height())
        if scale >= 2:
            whole = int(scale)
            pix = QPixmap.fromImage(self._image.scaled(self._image.width() * whole, self._image.height() * whole,
                                                       Qt.KeepAspectRatio, Qt.FastTransformation))
        else:
            pix = QPixmap.fromImage(self._image.scaled(avail_w, avail_h, Qt.KeepAspectRatio,
                                                       Qt.SmoothTransformation))
        self.setPixmap(pix)


class SampleGridWidget(QWidget):
    """Grids sorted by step; the view follows the newest one unless the user moved back in time."""

    grid_shown = Signal(int)  # the step of the grid now on screen
    PLACEHOLDER = "The fixed-noise sample grid appears here once training writes its first one."

    def __init__(self, parent=None):
        super().__init__(parent)
        self._steps: list[int] = []
        self._paths: list[str] = []
        self.view = PixelImageLabel()
        self.view.setText(self.PLACEHOLDER)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Move back through every grid of the run (← → keys step one grid)")
        self.caption = QLabel("no grid yet")
        self.caption.setObjectName("muted")
        self.caption.setMinimumWidth(150)
        self.caption.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.caption)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.slider.valueChanged.connect(self._show_index)
        # A grid written by another process may be caught mid-write; try it again shortly.
        self._retry = QTimer(self, singleShot=True, interval=400)
        self._retry.timeout.connect(lambda: self._show_index(self.slider.value()))
        self._shown_step = -1

    def clear(self) -> None:
        self._steps, self._paths = [], []
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(False)
        self.view.set_image(QImage())
        self.view.setText(self.PLACEHOLDER)
        self.caption.setText("no grid yet")
        self._shown_step = -1

    def count(self) -> int:
        return len(self._paths)

    def shown_step(self) -> int:
        return self._shown_step

    def image(self) -> QImage:
        return self.view.image()

    def add_grids(self, paths: list[str | Path]) -> None:
        if not paths:
            return
        following = not self._paths or self.slider.value() >= len(self._paths) - 1
        for path in paths:
            step, path = step_of(path), str(path)
            if path in self._paths:
                continue
            index = bisect.bisect(self._steps, step)
            self._steps.insert(index, step)
            self._paths.insert(index, path)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self._paths) - 1)
        self.slider.setEnabled(len(self._paths) > 1)
        self.slider.blockSignals(False)
        if following:
            self.slider.setValue(len(self._paths) - 1)
            self._show_index(len(self._paths) - 1)
        else:
            self._update_caption(self.slider.value())

    def _show_index(self, index: int) -> None:
        if not (0 <= index < len(self._paths)):
            return
        image = QImage(self._paths[index])
        if image.isNull():
            self.caption.setText(f"step {self._steps[index]:,}: not readable yet")
            self._retry.start()
            return
        self.view.setText("")
        self.view.set_image(image)
        self._shown_step = self._steps[index]
        self._update_caption(index)
        self.grid_shown.emit(self._shown_step)

    def _update_caption(self, index: int) -> None:
        if 0 <= index < len(self._steps):
            self.caption.setText(f"step {self._steps[index]:,} · {index + 1} / {len(self._steps)}")
