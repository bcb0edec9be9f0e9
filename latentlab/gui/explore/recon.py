"""Reconstruction: a photo, the VAE/GAN's reconstruction of it, and the face as edited by the sliders."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from latentlab.gui.widgets.image_view import ImageViewWidget


class ReconstructionWidget(QWidget):
    open_requested = Signal()
    training_image_requested = Signal(int)
    edit_again_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.input = ImageViewWidget("Open or drop a photo", minimum=64)
        self.reconstruction = ImageViewWidget("", minimum=64)
        self.edited = ImageViewWidget("", minimum=64)
        views = QGridLayout()
        views.setContentsMargins(0, 0, 0, 0)
        for col, (view, caption) in enumerate(((self.input, "input"), (self.reconstruction, "reconstruction"),
                                               (self.edited, "edited"))):
            views.addWidget(view, 0, col)
            label = QLabel(caption)
            label.setObjectName("muted")
            label.setAlignment(Qt.AlignCenter)
            views.addWidget(label, 1, col)
        self.reason = QLabel()
        self.reason.setObjectName("muted")
        self.reason.setWordWrap(True)
        self.open_button = QPushButton("Open photo…")
        self.open_button.setToolTip("Encode a photo (or drop one on the panel) and edit its reconstruction")
        self.open_button.clicked.connect(self.open_requested)
        self.index = QSpinBox()
        self.index.setRange(0, 10_000_000)
        self.index.setToolTip("Which image of the model's training source")
        # Its size hint fits the range's ten million; six digits fit the box's narrowest layout.
        self.index.setMinimumWidth(self.index.fontMetrics().horizontalAdvance("000000") + 36)
        self.pick_button = QPushButton("Training image")
        self.pick_button.setToolTip("Encode image # of the source this model was trained on")
        self.pick_button.clicked.connect(lambda: self.training_image_requested.emit(self.index.value()))
        self.again_button = QPushButton("Edit it again")
        self.again_button.setToolTip("Make the encoded photo the face the sliders edit (edits start from zero)")
        self.again_button.clicked.connect(self.edit_again_requested)
        self.again_button.setEnabled(False)
        # Two rows, so that Keyframes and this box fit side by side in a 1024 px window.
        buttons = QGridLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.open_button, 0, 0)
        buttons.addWidget(self.again_button, 0, 1)
        buttons.addWidget(self.pick_button, 1, 0)
        buttons.addWidget(self.index, 1, 1)
        buttons.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.reason)
        layout.addLayout(views, 1)
        layout.addLayout(buttons)
        self.available = False
        self.set_available(False, "Load a model to encode photos.")

    def set_available(self, available: bool, reason: str = "", can_pick: bool = True) -> None:
        self.available = available
        self.input.placeholder = "Open or drop a photo" if available else ""
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason))
        self.open_button.setEnabled(available)
        self.pick_button.setEnabled(available and can_pick)
        self.index.setEnabled(available and can_pick)
        for view in (self.input, self.reconstruction, self.edited):
            view.setEnabled(available)
        if not available:
            self.clear()

    def set_training_range(self, count: int, suggested: int) -> None:
        self.index.setMaximum(max(0, count - 1))
        self.index.setValue(max(0, min(suggested, count - 1)))

    def clear(self) -> None:
        self.input.set_array(None)
        self.reconstruction.set_array(None)
        self.edited.set_array(None)
        self.again_button.setEnabled(False)

    def set_photo(self, photo, reconstruction) -> None:
        self.input.set_array(photo)
        self.reconstruction.set_array(reconstruction)
        self.again_button.setEnabled(True)

    def set_edited(self, image, editing: bool) -> None:
        """The view's picture while the sliders edit the encoded photo; otherwise a hint."""
        has_photo = self.reconstruction.array() is not None
        self.edited.placeholder = "The sliders now edit another latent; “Edit it again” returns" \
            if has_photo and not editing else ""
        self.edited.set_array(image if editing else None)
