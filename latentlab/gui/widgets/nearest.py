"""The memorization check: a dialog with the training images nearest to a generated face (the Explore
panel opens it for the face on screen; the Metrics view explains the numbers)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout

from latentlab.gui.theme import MUTED
from latentlab.gui.widgets.image_view import to_qimage


class NearestImagesDialog(QDialog):
    """A generated face beside its k nearest training images (random-conv feature space), each with
    its distance relative to the data's typical one; a near-copy is flagged. The data source is opened
    and indexed on a background thread (a few seconds for 20,000 images the first time)."""

    THUMB = 96

    def __init__(self, image: np.ndarray, *, source: str, image_size: int, crop: str = "center", arch: str = "dcgan",
                 synthetic_count: int = 20000, holdout: int = 64, k: int = 8, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Nearest training images")
        self.image = np.asarray(image, dtype=np.uint8)
        self.neighbours = None
        self.status = QLabel(f"Looking through {source} …")
        self.status.setWordWrap(True)
        query = QLabel()
        query.setPixmap(QPixmap.fromImage(to_qimage(self.image)).scaled(self.THUMB * 2, self.THUMB * 2, Qt.KeepAspectRatio,
                                                                       Qt.FastTransformation))
        self.grid = QGridLayout()
        top = QHBoxLayout()
        top.addWidget(query)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.grid)
        if not source:
            self.status.setText("This model does not say which images it was trained on.")
            return
        spec = {"source": source, "image_size": image_size, "crop": crop, "arch": arch,
                "synthetic_count": synthetic_count, "holdout": holdout, "k": k}
        from latentlab.gui.background import run_in_background

        run_in_background(lambda: _nearest(self.image, **spec), self._done)

    @classmethod
    def for_model(cls, image: np.ndarray, info, k: int = 8, parent=None) -> NearestImagesDialog:
        """From the Explore panel's ModelInfo (data_source, image_size, data_crop, arch, synthetic_count, holdout)."""
        return cls(image, source=info.data_source, image_size=info.image_size, crop=getattr(info, "data_crop", "center"),
                   arch=info.arch, synthetic_count=getattr(info, "synthetic_count", 0) or 20000,
                   holdout=getattr(info, "holdout", 64), k=k, parent=parent)

    def _done(self, neighbours, error) -> None:
        if error:
            self.status.setText(f"Cannot search the training images: {error.splitlines()[0]}")
            return
        self._show(neighbours)

    def _show(self, neighbours) -> None:
        self.neighbours = neighbours
        if not neighbours:
            self.status.setText("The data source has no training images.")
            return
        copies = [n for n in neighbours if n.near_copy]
        self.status.setText(
            (f"Near-copy of training image {copies[0].index} (distance {copies[0].relative:.2f} of the typical one): "
             "the generator may be memorizing." if copies else
             f"Nearest training image at {neighbours[0].relative:.2f} of the typical distance between training "
             "images: not a copy (a near-copy is below 0.10).") + " Distances in a fixed random-conv feature space.")
        for i, n in enumerate(neighbours):
            cell = QLabel()
            cell.setPixmap(QPixmap.fromImage(to_qimage(n.image)).scaled(self.THUMB, self.THUMB, Qt.KeepAspectRatio,
                                                                       Qt.FastTransformation))
            cell.setToolTip(f"training image {n.index}")
            caption = QLabel(f"#{n.index} · {n.relative:.2f}")
            caption.setStyleSheet(f"color: {'#ef5350' if n.near_copy else MUTED};")
            self.grid.addWidget(cell, 2 * (i // 4), i % 4)
            self.grid.addWidget(caption, 2 * (i // 4) + 1, i % 4)


def _nearest(image, *, source, image_size, crop, arch, synthetic_count, holdout, k):
    from latentlab.data import open_source
    from latentlab.metrics.memorization import nearest_training_images

    data = open_source(source, image_size, crop=crop, arch=arch, synthetic_count=synthetic_count, holdout=holdout,
                       progress=lambda *_: None)
    return nearest_training_images(image, data, k)


def show_nearest_training_images(image: np.ndarray, info, parent=None, k: int = 8) -> NearestImagesDialog:
    """What the Explore panel calls for the face on screen (uint8 (H,W,3)) and its ModelInfo."""
    dialog = NearestImagesDialog.for_model(image, info, k=k, parent=parent)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.show()
    return dialog
