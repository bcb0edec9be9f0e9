"""Explore › Compare: a second checkpoint renders the latent on screen, beside the first or as a wipe.

Whatever changes the Explore latent (a slider, a direction, an attribute, a keyframe position,
truncation, a bookmark, an encoded photo) reaches this widget through `show_latent`, so both models
always draw the same z: two runs, or two steps of one run (any checkpoints/step-*.safetensors, or
best.safetensors). B renders on a background thread with at most one render in flight; a newer
latent replaces a waiting one, so the picture shown is always the newest latent's.
Wipe: A's picture left of the handle, B's right of it (B resized to A's size when they differ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.background import run_in_background
from latentlab.gui.widgets.image_view import ImageViewWidget

MODES = ("side by side", "wipe")


def wipe(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    """A left of `fraction` of the width, B right of it; B is resized (nearest) to A's size if needed."""
    if b.shape != a.shape:
        from PIL import Image

        b = np.asarray(Image.fromarray(b).resize((a.shape[1], a.shape[0]), Image.NEAREST))
    out = b.copy()
    cut = round(float(np.clip(fraction, 0.0, 1.0)) * a.shape[1])
    out[:, :cut] = a[:, :cut]
    return out


class CompareWidget(QWidget):
    image_ready = Signal()  # B's picture of the newest latent is on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.info = None  # ModelInfo of B
        self.latent_dim: int | None = None  # A's, to refuse a B whose latents do not fit
        self.reference: np.ndarray | None = None  # A's picture of the latent on screen
        self.image: np.ndarray | None = None  # B's picture of the newest latent rendered
        self._z: np.ndarray | None = None  # the newest latent asked for
        self._pending = False
        self._busy = False
        self.shown_z: np.ndarray | None = None  # the latent of self.image

        self.label = QLabel("Open a second checkpoint to compare: another run, or another step of this one")
        self.label.setWordWrap(True)
        self.open_button = QPushButton("Compare with…")
        self.open_button.setToolTip("A checkpoint (…/checkpoints/step-*.safetensors or best.safetensors) whose "
                                    "generator draws the same latent")
        self.open_button.clicked.connect(self.choose_checkpoint)
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.mode.currentIndexChanged.connect(self._redraw)
        self.handle = QSlider(Qt.Horizontal)
        self.handle.setRange(0, 100)
        self.handle.setValue(50)
        self.handle.setToolTip("Wipe: the first model left of here, the second right of it")
        self.handle.valueChanged.connect(self._redraw)
        self.view = ImageViewWidget("The second model's picture of the same latent", minimum=160)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.handle)
        self._redraw()

    # -- B ------------------------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Compare with a checkpoint", "", "Checkpoints (*.safetensors)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> None:
        from latentlab.gui.state.loading import load_checkpoint_model

        self.label.setText(f"Loading {Path(path).name}…")
        run_in_background(lambda: load_checkpoint_model(path), self._loaded)

    def _loaded(self, info, error) -> None:
        if error:
            self.label.setText(f"Not loaded: {error.splitlines()[0]}")
            return
        if self.latent_dim is not None and info.latent_dim != self.latent_dim:
            self.label.setText(f"Not loaded: {info.path.name} has {info.latent_dim} latent dimensions, the model "
                               f"on screen {self.latent_dim}; compare checkpoints of the same architecture")
            return
        self.info = info
        self.label.setText(f"B: {info.label}")
        self.image = None
        if self._z is not None:
            self.show_latent(self._z)

    def set_latent_dim(self, dim: int | None) -> None:
        """A's latent size (the Explore model changed); a B that no longer fits is dropped."""
        self.latent_dim = dim
        if self.info is not None and dim is not None and self.info.latent_dim != dim:
            self.info, self.image = None, None
            self.label.setText("The model on screen changed its latent size; open a matching checkpoint to compare")
            self._redraw()

    # -- rendering -----------------------------------------------------------------------------------------
    def set_reference(self, image: np.ndarray) -> None:
        self.reference = image
        if self.mode.currentText() == "wipe":
            self._redraw()

    def show_latent(self, z) -> None:
        self._z = np.array(z, np.float32, copy=True).reshape(-1)
        if self.info is None:
            return
        if self._busy:
            self._pending = True  # rendered when the one in flight is done: only the newest counts
            return
        self._render()

    def _render(self) -> None:
        renderer, z = self.info.renderer, self._z
        self._busy, self._pending = True, False

        def done(images, error):
            self._busy = False
            if error:
                self.label.setText(f"B failed: {error.splitlines()[0]}")
            elif renderer is (self.info.renderer if self.info is not None else None):
                self.image, self.shown_z = images[0], z
                self._redraw()
                self.image_ready.emit()
            if self._pending and self.info is not None:
                self._render()

        run_in_background(lambda: renderer.render_uint8(z[None]), done)

    def _redraw(self, *_) -> None:
        wiping = self.mode.currentText() == "wipe"
        self.handle.setVisible(wiping)
        if self.image is None:
            self.view.set_array(None)
        elif wiping and self.reference is not None:
            self.view.set_array(wipe(self.reference, self.image, self.handle.value() / 100))
        else:
            self.view.set_array(self.image)

    @property
    def idle(self) -> bool:
        return not self._busy and not self._pending
