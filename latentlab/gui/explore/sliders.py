"""A scrollable bank of labelled float sliders, each with its value and its own reset button.

Used three times by the Explore panel: latent dimensions, principal directions, attribute vectors.
QSlider is integer-valued; STEPS_PER_UNIT maps it onto floats. A value outside the slider's range
(a latent coordinate of 4.3, say) is shown clamped but kept exactly until the slider is moved.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

STEPS_PER_UNIT = 100


class SliderBankWidget(QWidget):
    value_changed = Signal(int, float)  # row, new value (moved by the user)
    reset_requested = Signal(int)  # row

    def __init__(self, low: float = -3.0, high: float = 3.0, empty_text: str = "", parent=None):
        super().__init__(parent)
        self.low, self.high = low, high
        self.sliders: list[QSlider] = []
        self.value_labels: list[QLabel] = []
        self.names: list[str] = []
        self.empty = QLabel(empty_text)
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setContentsMargins(4, 2, 4, 2)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(1)
        self._grid.setColumnStretch(1, 1)
        self.slider_scroll = QScrollArea()
        self.slider_scroll.setWidgetResizable(True)
        self.slider_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.slider_scroll.setWidget(self._inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.slider_scroll, 1)
        self.slider_scroll.hide()

    def count(self) -> int:
        return len(self.sliders)

    def set_rows(self, names: list[str], values, tooltips: list[str] | None = None) -> None:
        """Replace every row (a new model or a new set of directions)."""
        self._inner.setUpdatesEnabled(False)
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders, self.value_labels, self.names = [], [], list(names)
        for row, name in enumerate(names):
            label = QLabel(name)
            label.setObjectName("muted")
            slider = QSlider(Qt.Horizontal)
            slider.setRange(int(self.low * STEPS_PER_UNIT), int(self.high * STEPS_PER_UNIT))
            slider.setSingleStep(5)
            slider.setPageStep(50)
            slider.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            slider.setObjectName(f"slider.{name}")
            value = QLabel()
            value.setMinimumWidth(44)
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            reset = QToolButton(text="↺")
            reset.setAutoRaise(True)
            reset.setToolTip(f"Reset {name}")
            if tooltips:
                label.setToolTip(tooltips[row])
                slider.setToolTip(tooltips[row])
            slider.valueChanged.connect(lambda v, r=row: self._moved(r, v))
            reset.clicked.connect(lambda _=False, r=row: self.reset_requested.emit(r))
            for col, widget in enumerate((label, slider, value, reset)):
                self._grid.addWidget(widget, row, col)
            self.sliders.append(slider)
            self.value_labels.append(value)
        self._grid.setRowStretch(len(names), 1)
        self.set_values(values)
        self._inner.setUpdatesEnabled(True)
        self.empty.setVisible(not names)
        self.slider_scroll.setVisible(bool(names))

    def set_empty_text(self, text: str) -> None:
        self.empty.setText(text)

    def set_values(self, values) -> None:
        """Show these values without emitting value_changed."""
        for row, value in enumerate(values):
            self.set_value(row, float(value))

    def set_value(self, row: int, value: float) -> None:
        slider = self.sliders[row]
        slider.blockSignals(True)
        slider.setValue(round(max(self.low, min(self.high, value)) * STEPS_PER_UNIT))
        slider.blockSignals(False)
        self.value_labels[row].setText(f"{value:+.2f}")

    def value(self, row: int) -> float:
        return self.sliders[row].value() / STEPS_PER_UNIT

    def _moved(self, row: int, raw: int) -> None:
        value = raw / STEPS_PER_UNIT
        self.value_labels[row].setText(f"{value:+.2f}")
        self.value_changed.emit(row, value)
