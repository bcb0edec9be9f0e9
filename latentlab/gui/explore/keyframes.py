"""Keyframes A and B, the interpolation slider between them, lerp/slerp, and the in-between strip."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QMenu, QSlider, QToolButton, QVBoxLayout, QWidget

from latentlab.gui.widgets.image_view import StripWidget

T_STEPS = 1000


class KeyframesWidget(QWidget):
    keyframe_requested = Signal(str, str)  # "A" | "B", "current" | "seed" | "photo"
    keyframe_bookmark = Signal(str, object)  # "A" | "B", Bookmark
    position_changed = Signal(float)  # t in [0, 1]
    mode_changed = Signal(str)  # "slerp" | "lerp"

    def __init__(self, bookmarks_provider=list, parent=None):
        super().__init__(parent)
        self.bookmarks_provider = bookmarks_provider
        self.labels: dict[str, QLabel] = {}
        self.buttons: dict[str, QToolButton] = {}
        self.photo_actions = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(1, 1)
        for row, which in enumerate(("A", "B")):
            button = QToolButton(text=f"Set {which} ▾")
            button.setPopupMode(QToolButton.InstantPopup)
            button.setToolTip(f"Keyframe {which}: from the current latent ({which}), a seed, a bookmark or a photo")
            menu = QMenu(button)
            menu.addAction(f"From the current latent\t{which}", lambda w=which: self.keyframe_requested.emit(w, "current"))
            menu.addAction("From a seed…", lambda w=which: self.keyframe_requested.emit(w, "seed"))
            sub = menu.addMenu("From a bookmark")
            sub.aboutToShow.connect(lambda s=sub, w=which: self._fill_bookmarks(s, w))
            photo = menu.addAction("From a photo…", lambda w=which: self.keyframe_requested.emit(w, "photo"))
            self.photo_actions.append(photo)
            button.setMenu(menu)
            label = QLabel("not set")
            label.setObjectName("muted")
            grid.addWidget(button, row, 0)
            grid.addWidget(label, row, 1)
            self.buttons[which], self.labels[which] = button, label
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, T_STEPS)
        self.slider.setObjectName("slider.interpolation")
        self.slider.setMinimumWidth(150)  # scrubbing from A to B needs room, whatever else wants the width
        self.slider.setToolTip("From A (left) to B (right)")
        self.slider.valueChanged.connect(lambda v: self.position_changed.emit(v / T_STEPS))
        self.mode = QComboBox()
        self.mode.addItem("slerp", "slerp")
        self.mode.addItem("lerp", "lerp")
        self.mode.setToolTip("slerp keeps in-between latents at a typical length; lerp midpoints look washed out")
        self.mode.currentIndexChanged.connect(lambda _: self.mode_changed.emit(self.mode.currentData()))
        self.t_label = QLabel("t = 0.00")
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t = 0.00") + 2)  # no jitter
        slider_row = QGridLayout()
        slider_row.addWidget(QLabel("A"), 0, 0)
        slider_row.addWidget(self.slider, 0, 1)
        slider_row.addWidget(QLabel("B"), 0, 2)
        slider_row.addWidget(self.t_label, 0, 3)
        slider_row.addWidget(self.mode, 0, 4)
        slider_row.setColumnStretch(1, 1)
        self.strip = StripWidget()
        self.strip.frame_clicked.connect(self.set_position)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(slider_row)
        layout.addWidget(self.strip, 1)
        self.set_ready(False)

    def _fill_bookmarks(self, menu: QMenu, which: str) -> None:
        menu.clear()
        marks = self.bookmarks_provider()
        if not marks:
            menu.addAction("(no bookmarks yet: Ctrl+B adds one)").setEnabled(False)
        for b in marks:
            menu.addAction(b.name, lambda b=b: self.keyframe_bookmark.emit(which, b))

    def set_label(self, which: str, text: str) -> None:
        self.labels[which].setText(text)

    def set_ready(self, ready: bool) -> None:
        """The slider only means something once both keyframes are set."""
        self.slider.setEnabled(ready)

    def set_can_encode(self, can: bool) -> None:
        for action in self.photo_actions:
            action.setEnabled(can)

    def set_position(self, t: float) -> None:
        self.slider.setValue(round(t * T_STEPS))  # emits position_changed when it moves

    def show_position(self, t: float) -> None:
        self.t_label.setText(f"t = {t:.2f}")
        self.strip.set_position(t)
