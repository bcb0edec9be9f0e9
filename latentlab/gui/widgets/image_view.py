"""Image widgets of the Explore panel: the large generator view and the strip of in-between frames.

Both paint a QImage straight into their rectangle (no intermediate scaled pixmap), keeping the
aspect ratio, with nearest-neighbour or smooth scaling. The view remembers which request it last
painted and when, which is what "pixels on screen" means for the latency benchmark.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.gui.theme import ACCENT, BASE, GRID, MUTED


def to_qimage(arr: np.ndarray) -> QImage:
    """uint8 (H, W, 3) -> a QImage that owns its pixels (the numpy buffer may go away)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """QImage -> uint8 (H, W, 3) (tests read the pixels on screen through this)."""
    image = image.convertToFormat(QImage.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def fit_rect(bounds: QRect, w: int, h: int, whole: bool) -> QRectF:
    """The largest rectangle of aspect w:h centred in bounds; with whole=True an enlargement is
    rounded down to a whole factor so every source pixel becomes the same number of screen pixels."""
    scale = min(bounds.width() / w, bounds.height() / h)
    if whole and scale >= 1:
        scale = float(int(scale))
    sw, sh = w * scale, h * scale
    return QRectF(bounds.x() + (bounds.width() - sw) / 2, bounds.y() + (bounds.height() - sh) / 2, sw, sh)


class ImageViewWidget(QWidget):
    """An image scaled to fit; nearest keeps the generator's pixels crisp, smooth blends them."""

    clicked = Signal()
    painted = Signal(int)  # request id of the image just painted (the latency benchmark waits on it)

    def __init__(self, placeholder: str = "", minimum: int = 96, parent=None):
        super().__init__(parent)
        self._image = QImage()
        self._array: np.ndarray | None = None
        self.placeholder = placeholder
        self.smooth = False
        self.frame_id = -1  # request id of the image held
        self.painted_id = -1  # request id of the image last painted
        self.painted_at = 0.0  # perf_counter() of that paint
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def set_array(self, arr: np.ndarray | None, frame_id: int = -1) -> None:
        self._array = None if arr is None else np.array(arr, dtype=np.uint8, copy=True)
        self._image = QImage() if arr is None else to_qimage(arr)
        self.frame_id = frame_id
        self.update()

    def array(self) -> np.ndarray | None:
        return self._array

    def image(self) -> QImage:
        return self._image

    def set_smooth(self, smooth: bool) -> None:
        self.smooth = smooth
        self.update()

    def scaled_image(self, min_size: int = 256) -> QImage:
        """The image enlarged by a whole factor to at least min_size, with the current scaling."""
        if self._image.isNull():
            return QImage()
        factor = max(1, -(-min_size // max(1, self._image.width())))
        mode = Qt.SmoothTransformation if self.smooth else Qt.FastTransformation
        return self._image.scaled(self._image.width() * factor, self._image.height() * factor,
                                  Qt.KeepAspectRatio, mode)

    def mousePressEvent(self, event) -> None:
        self.clicked.emit()
        super().mousePressEvent(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(BASE))
        if self._image.isNull():
            p.setPen(QColor(MUTED))
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            p.end()
            return
        target = fit_rect(self.rect().adjusted(2, 2, -2, -2), self._image.width(), self._image.height(),
                          whole=not self.smooth)
        p.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth)
        p.drawImage(target, self._image)
        p.end()
        self.painted_id = self.frame_id
        self.painted_at = time.perf_counter()
        self.painted.emit(self.frame_id)


class StripWidget(QWidget):
    """The in-between frames from keyframe A to B in one row; the frame nearest t is outlined and a
    click picks a frame's position."""

    frame_clicked = Signal(float)  # the interpolation position of the clicked frame

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images: list[QImage] = []
        self._arrays: np.ndarray | None = None
        self.frame_id = -1
        self.t = 0.0
        self.smooth = False
        self.setMinimumHeight(56)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setToolTip("In-between frames from A to B; click one to go there")

    def sizeHint(self) -> QSize:
        return QSize(480, 72)

    def set_frames(self, arrays: np.ndarray | None, frame_id: int = -1) -> None:
        self._arrays = None if arrays is None else np.array(arrays, copy=True)
        self._images = [] if arrays is None else [to_qimage(a) for a in arrays]
        self.frame_id = frame_id
        self.update()

    def frames(self) -> np.ndarray | None:
        return self._arrays

    def set_position(self, t: float) -> None:
        self.t = t
        self.update()

    def _cells(self) -> list[QRectF]:
        n = len(self._images)
        if n == 0:
            return []
        gap = 4
        side = min(self.height() - 4, (self.width() - gap * (n - 1)) / n)
        x0 = (self.width() - (n * side + gap * (n - 1))) / 2
        return [QRectF(x0 + i * (side + gap), (self.height() - side) / 2, side, side) for i in range(n)]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        cells = self._cells()
        if not cells:
            p.setPen(QColor(MUTED))
            p.drawText(self.rect().adjusted(4, 0, -4, 0), Qt.AlignCenter | Qt.TextWordWrap,
                       "Set keyframes A and B to see the frames between them")
            p.end()
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth)
        nearest = round(self.t * (len(cells) - 1))
        for i, (cell, image) in enumerate(zip(cells, self._images)):
            p.drawImage(cell, image)
            p.setPen(QPen(QColor(ACCENT if i == nearest else GRID), 2 if i == nearest else 1))
            p.drawRect(cell.adjusted(-1, -1, 1, 1))
        p.end()

    def mousePressEvent(self, event) -> None:
        cells = self._cells()
        for i, cell in enumerate(cells):
            if cell.contains(event.position()):
                self.frame_clicked.emit(i / max(1, len(cells) - 1))
                return
        super().mousePressEvent(event)
