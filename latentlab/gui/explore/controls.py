"""The row under the generator view: Randomize, the seed, Reset, truncation ψ, smooth scaling."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QToolButton, QWidget

from latentlab.bounds import MAX_SEED  # the CLI's seeds: one seed is one face everywhere

PSI_STEPS = 100


class ViewControlsWidget(QWidget):
    randomize_clicked = Signal()
    seed_chosen = Signal(int)  # typed or stepped by the user
    reset_clicked = Signal()
    psi_changed = Signal(float)
    smooth_toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.randomize = QPushButton("Randomize")
        self.randomize.setObjectName("primary")
        self.randomize.setToolTip("A new random face (R); its seed shows beside")
        self.seed = QSpinBox()
        # −1 reads "no seed": a photo, a bookmark or a point between keyframes has none, and the box
        # must not go on naming the seed of the face before it.
        self.seed.setRange(-1, MAX_SEED)
        self.seed.setSpecialValueText("no seed")
        self.seed.setPrefix("seed ")
        self.seed.setKeyboardTracking(False)  # render once the number is typed, not per digit
        self.seed.setToolTip("The seed of the latent on screen; type one to see its face")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Undo every slider edit of this latent (Ctrl+R)")
        self.psi = QSlider(Qt.Horizontal)
        self.psi.setRange(5, PSI_STEPS)
        self.psi.setValue(PSI_STEPS)
        self.psi.setObjectName("slider.psi")
        self.psi.setToolTip("Truncation ψ: pulls the latent toward the mean; lower gives safer, less varied faces")
        self.psi_label = QLabel("ψ 1.00")
        self.psi_label.setMinimumWidth(48)
        psi_reset = QToolButton(text="↺")
        psi_reset.setAutoRaise(True)
        psi_reset.setToolTip("ψ back to 1 (no truncation)")
        self.smooth = QCheckBox("Smooth")
        self.smooth.setToolTip("Smooth scaling instead of square pixels (S)")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.randomize, self.seed, self.reset, QLabel("Truncation"), self.psi, self.psi_label, psi_reset,
                  self.smooth):
            row.addWidget(w)
        row.setStretchFactor(self.psi, 1)
        self.randomize.clicked.connect(self.randomize_clicked)
        self.seed.valueChanged.connect(self._seed_typed)
        self.reset.clicked.connect(self.reset_clicked)
        self.psi.valueChanged.connect(self._psi_moved)
        psi_reset.clicked.connect(lambda: self.psi.setValue(PSI_STEPS))
        self.smooth.toggled.connect(self.smooth_toggled)

    def show_seed(self, seed: int | None) -> None:
        self.seed.blockSignals(True)
        self.seed.setValue(-1 if seed is None else seed)
        self.seed.blockSignals(False)

    def _seed_typed(self, seed: int) -> None:
        if seed >= 0:
            self.seed_chosen.emit(seed)

    def seed_value(self) -> int:
        """The seed shown, or 0 when the face on screen has none."""
        return max(0, self.seed.value())

    def _psi_moved(self, value: int) -> None:
        psi = value / PSI_STEPS
        self.psi_label.setText(f"ψ {psi:.2f}")
        self.psi_changed.emit(psi)
