"""The Record panel's keyframe list: latents with thumbnails, in walk order, reorderable.

Items carry only an integer key (Qt's drag-and-drop move copies item data through its own
serialisation, which plain ints survive); the latents themselves stay in a dict here.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

THUMB = 56


def array_icon(image: np.ndarray, side: int = THUMB) -> QIcon:
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = arr.shape[:2]
    qimage = QImage(arr.data, w, h, 3 * w, QImage.Format_RGB888).copy()  # own the pixels
    return QIcon(QPixmap.fromImage(qimage.scaled(side, side, Qt.KeepAspectRatio, Qt.FastTransformation)))


class KeyframeList(QWidget):
    changed = Signal()  # keyframes added, removed or reordered
    added = Signal(list)  # keys of new keyframes (their thumbnails are wanted)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._z: dict[int, np.ndarray] = {}
        self._next_key = 0
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setDefaultDropAction(Qt.MoveAction)
        self.list.setToolTip("The walk visits these latents top to bottom; drag to reorder")
        self.list.model().rowsMoved.connect(lambda *_: self.changed.emit())
        self.up = QToolButton(text="▲", toolTip="Move the selected keyframe earlier (Ctrl+Up)")
        self.down = QToolButton(text="▼", toolTip="Move the selected keyframe later (Ctrl+Down)")
        self.remove = QToolButton(text="Remove", toolTip="Remove the selected keyframes (Delete)")
        self.clear_button = QToolButton(text="Clear", toolTip="Remove every keyframe")
        self.up.clicked.connect(lambda: self.move_selected(-1))
        self.down.clicked.connect(lambda: self.move_selected(1))
        self.remove.clicked.connect(self.remove_selected)
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for b in (self.up, self.down, self.remove, self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    # -- contents -------------------------------------------------------------------------------------
    def add(self, z: np.ndarray, label: str) -> int:
        key = self._next_key
        self._next_key += 1
        self._z[key] = np.asarray(z, np.float32).reshape(-1).copy()
        item = QListWidgetItem(label)
        item.setData(Qt.UserRole, key)
        item.setToolTip(label)
        item.setFlags(item.flags() & ~Qt.ItemIsDropEnabled)  # drops go between items, never onto one
        self.list.addItem(item)
        self.added.emit([key])
        self.changed.emit()
        return key

    def count(self) -> int:
        return self.list.count()

    def keys(self) -> list[int]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def latent(self, key: int) -> np.ndarray:
        return self._z[key]

    def keyframes(self) -> np.ndarray | None:
        """(K, nz) float32 in list order, or None when empty."""
        keys = self.keys()
        return np.stack([self._z[k] for k in keys]) if keys else None

    def set_thumbnail(self, key: int, image: np.ndarray) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.UserRole) == key:
                item.setIcon(array_icon(image))
                return

    def clear(self) -> None:
        if self.list.count():
            self.list.clear()
            self._z.clear()
            self.changed.emit()

    def remove_selected(self) -> None:
        rows = sorted((self.list.row(item) for item in self.list.selectedItems()), reverse=True)
        for row in rows:
            item = self.list.takeItem(row)
            self._z.pop(item.data(Qt.UserRole), None)
        if rows:
            self.list.setCurrentRow(min(rows[-1], self.list.count() - 1))
            self.changed.emit()

    def move_selected(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self.changed.emit()
