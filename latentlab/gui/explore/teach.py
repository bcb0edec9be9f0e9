"""Explore › Directions › Teach…: name a direction by marking samples that have an attribute and
samples that do not (docs/algorithms.md §4). A logistic regression in latent space (InterFaceGAN,
Shen et al. 2020) gives the direction; its held-out accuracy is shown after every click, so the
user sees when they have labelled enough. Saved beside the checkpoint, it becomes a slider.

The samples render on the GUI thread in one batch (a few milliseconds to a few hundred for the
models latentlab trains); the fit is a d×d Newton solve (milliseconds).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.config import UserError

BATCH = 24  # samples per "More samples"
COLUMNS = 6
CELL = 96  # px per sample on screen
STATES = (None, True, False)  # unlabelled -> with -> without -> unlabelled
BORDER = {None: "transparent", True: "#2fb344", False: "#d63939"}


def _pixmap(image: np.ndarray, size: int) -> QPixmap:
    h, w = image.shape[:2]
    q = QImage(np.ascontiguousarray(image).data, w, h, 3 * w, QImage.Format_RGB888).copy()
    return QPixmap.fromImage(q).scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)


class TeachDialog(QDialog):
    saved = Signal(str)  # the name stored beside the checkpoint

    def __init__(self, info, parent=None, seed: int = 1000):
        super().__init__(parent)
        from latentlab.inference.api import Model

        self.info = info
        self.model = Model(info.renderer, checkpoint=info.path)
        self.setWindowTitle("Teach a direction")
        self.z = np.zeros((0, info.latent_dim), np.float32)
        self.labels: list[bool | None] = []
        self.buttons: list[QToolButton] = []
        self.fit = None
        self._seed = seed
        self.name = QLineEdit()
        self.name.setPlaceholderText("name, e.g. smiling")
        self.name.textChanged.connect(self._update)
        help_text = QLabel("Click a face once if it has the attribute (green), twice if it does not (red), a third "
                           "time to clear it. A few dozen of each is usually enough; the accuracy on faces held out "
                           "of the fit says when.")
        help_text.setWordWrap(True)
        help_text.setObjectName("muted")
        self.status = QLabel()
        self.status.setObjectName("teach.status")
        self.more = QPushButton("More samples")
        self.more.clicked.connect(self.add_samples)
        self.save = QPushButton("Save direction")
        self.save.setDefault(True)
        self.save.clicked.connect(self.store)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self._grid = QGridLayout()
        self._grid.setSpacing(4)
        inner = QWidget()
        inner.setLayout(self._grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setMinimumSize(COLUMNS * (CELL + 14) + 24, 2 * (CELL + 14) + 12)
        row = QHBoxLayout()
        row.addWidget(QLabel("Name"))
        row.addWidget(self.name, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.more)
        buttons.addStretch(1)
        buttons.addWidget(self.save)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        if info.path is None or info.kind == "live":
            self.save.setToolTip("Directions are stored beside a checkpoint: open one (File › Open) to save")
        self.add_samples()

    # -- samples ---------------------------------------------------------------------------------
    def add_samples(self, n: int = BATCH) -> None:
        z = self.model.latents(n, seed=self._seed)
        self._seed += 1
        images = self.model.render(z).images
        for image in images:
            i = len(self.buttons)
            button = QToolButton()
            button.setIcon(_pixmap(image, CELL))
            button.setIconSize(QSize(CELL, CELL))
            button.setObjectName(f"teach.sample.{i}")
            button.clicked.connect(lambda _=False, i=i: self.cycle(i))
            self._grid.addWidget(button, i // COLUMNS, i % COLUMNS)
            self.buttons.append(button)
            self.labels.append(None)
            self._style(i)
        self.z = np.concatenate([self.z, z])
        self._update()

    def cycle(self, i: int) -> None:
        self.set_label(i, STATES[(STATES.index(self.labels[i]) + 1) % len(STATES)])

    def set_label(self, i: int, label: bool | None) -> None:
        self.labels[i] = label
        self._style(i)
        self._refit()

    def _style(self, i: int) -> None:
        label = self.labels[i]
        self.buttons[i].setStyleSheet(f"QToolButton {{ border: 4px solid {BORDER[label]}; padding: 1px; }}")
        self.buttons[i].setToolTip({None: "not labelled", True: "has the attribute",
                                    False: "does not have it"}[label])

    # -- the fit ---------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        return sum(1 for v in self.labels if v is True), sum(1 for v in self.labels if v is False)

    def _refit(self) -> None:
        pos, neg = self.counts()
        self.fit = None
        if pos and neg:
            idx = [i for i, v in enumerate(self.labels) if v is not None]
            try:
                self.fit = self.model.teach(self.z[idx], np.array([self.labels[i] for i in idx], bool))
            except UserError as exc:
                self.status.setText(str(exc))
        self._update()

    def _update(self) -> None:
        pos, neg = self.counts()
        if self.fit is None:
            text = f"{pos} with, {neg} without; label faces of both kinds to find the direction"
        elif not np.isfinite(self.fit.accuracy):
            text = f"{pos} with, {neg} without; label at least 2 of each to measure held-out accuracy"
        else:
            text = (f"{pos} with, {neg} without; held-out accuracy {self.fit.accuracy:.0%}"
                    + ("" if self.fit.accuracy >= 0.9 else " (label more for a cleaner direction)"))
        self.status.setText(text)
        can_store = self.info.path is not None and self.info.kind != "live"
        self.save.setEnabled(self.fit is not None and bool(self.name.text().strip()) and can_store)

    def store(self) -> None:
        if self.fit is None:
            return
        pos, neg = self.counts()
        try:
            self.model.save_direction(self.name.text(), self.fit, kind="taught",
                                      source=f"{pos + neg} samples labelled in the window")
        except (UserError, OSError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        self.saved.emit(self.name.text().strip())
        self.accept()
